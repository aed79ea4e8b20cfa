import { CORE_SCHEMA, NOT_RESOLVED, defineScalarTag, mergeTag } from 'js-yaml';

/*
 * kubectl turns YAML into JSON with sigs.k8s.io/yaml, which decodes through go-yaml v2 into untyped values
 * (https://github.com/kubernetes-sigs/yaml/blob/master/yaml.go, YAMLToJSON). go-yaml v2 resolves plain
 * scalars with YAML 1.1 habits (https://github.com/go-yaml/yaml/blob/v2.4.0/resolve.go):
 *   - `y/yes/on` and `n/no/off` (three casings each) are booleans; ``, `~`, `null` (three casings) are null,
 *   - integers go through Go's `strconv.ParseInt(s, 0, 64)` after dropping `_`: `0755` is octal 493,
 *     `0x1F` hex, `0b101` binary, `0o17` octal,
 *   - floats match `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$` (so `1e3` and `09` are numbers),
 *   - timestamps stay strings when decoded into untyped values, base-60 numbers are not supported,
 *   - merge keys (`<<`) work.
 * The functions and the js-yaml schema below apply the same rules, so a manifest means here what it means
 * to kubectl.
 */

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].map((word) => [word, true] as const),
  ...['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].map((word) => [word, false] as const),
]);
const SPECIAL_FLOATS: ReadonlyMap<string, number> = new Map([
  ...['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].map((word) => [word, Infinity] as const),
  ...['-.inf', '-.Inf', '-.INF'].map((word) => [word, -Infinity] as const),
  ...['.nan', '.NaN', '.NAN'].map((word) => [word, NaN] as const),
]);
const GO_INTEGER = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[0-9]+)$/;
const GO_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;

/** `ParseInt(s, 0, 64)`: a leading `0` means octal, `0x`/`0o`/`0b` pick the base; undefined for anything else. */
function goInteger(source: string): number | undefined {
  const plain = source.includes('_') ? source.replaceAll('_', '') : source;
  if (!GO_INTEGER.test(plain)) return undefined;
  const negative = plain.startsWith('-');
  const digits = /^[-+]/.test(plain) ? plain.slice(1) : plain;
  const prefix = digits.slice(0, 2).toLowerCase();
  let value: number;
  if (prefix === '0x') value = parseInt(digits.slice(2), 16);
  else if (prefix === '0b') value = parseInt(digits.slice(2), 2);
  else if (prefix === '0o') value = parseInt(digits.slice(2), 8);
  else if (digits.length > 1 && digits.startsWith('0')) {
    if (/[89]/.test(digits)) return undefined;
    value = parseInt(digits, 8);
  } else value = parseInt(digits, 10);
  return negative ? -value : value;
}

function goFloat(source: string): number | undefined {
  const special = SPECIAL_FLOATS.get(source);
  if (special !== undefined) return special;
  const plain = source.includes('_') ? source.replaceAll('_', '') : source;
  return GO_FLOAT.test(plain) ? Number(plain) : undefined;
}

/** The value kubectl gives an unquoted, untagged scalar. */
export function resolvePlainScalar(source: string): null | boolean | number | string {
  if (NULLS.has(source)) return null;
  return BOOLEANS.get(source) ?? goInteger(source) ?? goFloat(source) ?? source;
}

const orNotResolved = <T>(value: T | undefined): T | typeof NOT_RESOLVED => (value === undefined ? NOT_RESOLVED : value);
const firstChars = (words: Iterable<string>): string[] => [...new Set([...words].map((word) => word.charAt(0)))];
const NUMBER_FIRST_CHARS = ['-', '+', '.', ...'0123456789'];

/** The YAML schema kubectl effectively applies to manifests (see above), for js-yaml. */
export const KUBERNETES_YAML_SCHEMA = CORE_SCHEMA.withTags(
  defineScalarTag<null>('tag:yaml.org,2002:null', {
    implicit: true,
    implicitFirstChars: firstChars(NULLS),
    resolve: (source) => (NULLS.has(source) ? null : NOT_RESOLVED),
    identify: (value) => value === null,
  }),
  defineScalarTag<boolean>('tag:yaml.org,2002:bool', {
    implicit: true,
    implicitFirstChars: firstChars(BOOLEANS.keys()),
    resolve: (source) => orNotResolved(BOOLEANS.get(source)),
    identify: (value) => typeof value === 'boolean',
  }),
  defineScalarTag<number>('tag:yaml.org,2002:int', {
    implicit: true,
    implicitFirstChars: NUMBER_FIRST_CHARS,
    resolve: (source) => orNotResolved(goInteger(source)),
    identify: (value) => Number.isInteger(value),
  }),
  defineScalarTag<number>('tag:yaml.org,2002:float', {
    implicit: true,
    implicitFirstChars: NUMBER_FIRST_CHARS,
    resolve: (source) => orNotResolved(goFloat(source)),
    identify: (value) => typeof value === 'number',
  }),
  mergeTag,
);
