import type { Finding } from './types.js';

/** admission/v1 AdmissionResponse.warnings: "Limit warnings to 120 characters if possible". */
export const SHORT_FORM_LENGTH = 120;
/** A name is never shortened below this many characters (`abc…xyz`). */
const MIN_NAME_LENGTH = 7;
/** A single-quoted name: container, volume or object names are DNS names, so they hold no quote or space. */
const QUOTED_NAME = /'([^'\s]+)'/g;

export type ShortFormFinding = Pick<Finding, 'rule' | 'problem'> & { container?: string | undefined };

/** The command that prints a rule's full explanation, options and a fixed example. */
export function ruleDocCommand(rule: string): string {
  return `podpatterns rules ${rule}`;
}

/**
 * The short form of a finding, for `kubectl` warnings: one sentence of at most 120 characters naming the
 * container, the problem and where the fix is, e.g. "'metrics-proxy' shares port 8080/TCP with 'app': one
 * fails to bind (fix: podpatterns rules port-conflict)." Long names are shortened in the middle inside their
 * quotes rather than cutting the sentence. A pure function of rule id, container and problem.
 */
export function shortForm(finding: ShortFormFinding, options: { preExisting?: boolean } = {}): string {
  const pointer = ` (${options.preExisting ? 'pre-existing; ' : ''}fix: ${ruleDocCommand(finding.rule)}).`;
  return `${fitNames(problemLine(finding), SHORT_FORM_LENGTH - length(pointer))}${pointer}`;
}

/** The container and its problem, `'metrics-proxy' shares port 8080/TCP with 'app': one fails to bind`, for one-line reports. */
export function problemLine(finding: ShortFormFinding): string {
  return finding.container !== undefined ? `'${finding.container}' ${finding.problem}` : capitalize(finding.problem);
}

/**
 * Shortens the longest quoted names in the middle (`'argocd-a…ntroller'`), the longest first and evenly, until
 * the text fits in `max` characters. Should the names alone not be enough (never for the rules' own problems,
 * which the tests check with 63-character names), the text itself is cut, so the sentence still ends with
 * its pointer.
 *
 * Only lengths change from one step to the next: shortening a name already shortened in the middle keeps the
 * same head and tail of the original, so the steps are counted on lengths and the text is written once.
 */
export function fitNames(text: string, max: number): string {
  let excess = length(text) - max;
  if (excess <= 0) return text;
  const names = quotedNames(text);
  const sizes = names.map((name) => name.length);
  while (excess > 0) {
    // The longest (the first of equals, as a stable sort puts it) and the length of the next longest.
    let longest = -1;
    let second = 0;
    sizes.forEach((size, index) => {
      if (longest < 0 || size > sizes[longest]!) {
        if (longest >= 0) second = sizes[longest]!;
        longest = index;
      } else if (size > second) {
        second = size;
      }
    });
    const size = longest < 0 ? 0 : sizes[longest]!;
    if (size <= MIN_NAME_LENGTH) return cut(written(text, names, sizes), max);
    // Down to the next longest name at most, so two long names end up about as long as each other.
    const shorter = Math.max(MIN_NAME_LENGTH, Math.min(size - 1, Math.max(second, size - excess)));
    excess -= size - shorter;
    sizes[longest] = shorter;
  }
  return written(text, names, sizes);
}

/** The text with each name shortened in the middle to its size. */
function written(text: string, names: readonly QuotedName[], sizes: readonly number[]): string {
  let result = '';
  let from = 0;
  names.forEach((name, index) => {
    const size = sizes[index]!;
    if (size >= name.length) return;
    result += `${text.slice(from, name.index + 1)}${middleEllipsis(name.name, size)}`;
    from = name.index + 1 + name.name.length;
  });
  return result + text.slice(from);
}

interface QuotedName {
  name: string;
  /** Where its opening quote is. */
  index: number;
  length: number;
}

function quotedNames(text: string): QuotedName[] {
  return [...text.matchAll(QUOTED_NAME)].map((match) => ({ name: match[1]!, index: match.index, length: length(match[1]!) }));
}

function middleEllipsis(name: string, size: number): string {
  const characters = Array.from(name);
  const head = Math.ceil((size - 1) / 2);
  const tail = size - 1 - head;
  return `${characters.slice(0, head).join('')}…${characters.slice(characters.length - tail).join('')}`;
}

function cut(text: string, max: number): string {
  return `${Array.from(text).slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** The API server counts runes: code points, not UTF-16 units (the same, without surrogates). */
function length(text: string): number {
  return SURROGATE.test(text) ? Array.from(text).length : text.length;
}

const SURROGATE = /[\uD800-\uDFFF]/;

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
