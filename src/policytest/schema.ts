import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Severity } from '../engine/types.js';
import { SEVERITIES } from '../engine/types.js';
import { describe, type KeyPath } from '../policy/keys.js';

export { TEST_FILE_NAME } from './file-name.js';
export const TEST_API_VERSION = 'podpatterns.io/v1alpha1';
export const TEST_KIND = 'Test';

/**
 * What a test expects of one rule on one resource: a finding at that severity, no finding (`pass`), or a
 * finding an exemption suppressed (`exempt`).
 */
export type Outcome = Severity | 'pass' | 'exempt';
export const OUTCOMES: readonly Outcome[] = [...SEVERITIES, 'pass', 'exempt'];

/** One document of a test file, as the schema accepts it. */
export interface TestDocument {
  apiVersion: typeof TEST_API_VERSION;
  kind: typeof TEST_KIND;
  metadata?: { name?: string; description?: string };
  /** Path of a policy file, relative to the test file; every rule at its default without it. */
  policy?: string;
  cluster?: { kubernetesVersion?: string; minKubeletVersion?: string };
  /** Findings on rule/resource pairs the results do not list fail the test. */
  strict?: boolean;
  /** Paths (files or directories, relative to the test file) and inline manifests. */
  resources: Array<string | Record<string, unknown>>;
  results?: Array<{ resources: string[]; rule: string; result: Outcome }>;
  migrations?: Array<{ resource: string; expected: string }>;
}

/** `Kind/name` or `namespace/Kind/name`; names may carry a generateName's trailing dash. */
export const RESOURCE_NAME_PATTERN = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[A-Za-z][A-Za-z0-9]*/[^/\\s]+$';
const VERSION_PATTERN = '^v?[0-9]+\\.[0-9]+([.+-].*)?$';

const resourceName = {
  type: 'string',
  pattern: RESOURCE_NAME_PATTERN,
  description: 'must name a resource as Kind/name or namespace/Kind/name',
};
const version = {
  type: 'string',
  pattern: VERSION_PATTERN,
  description: 'must be a Kubernetes version such as "1.30" or "v1.30.2"',
};
const path = { type: 'string', minLength: 1 };

/** The JSON schema of a test document: every object closed, so a typo anywhere is an error. */
export const TEST_SCHEMA = {
  $id: 'https://podpatterns.io/schemas/test-v1alpha1.json',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'resources'],
  properties: {
    apiVersion: { const: TEST_API_VERSION },
    kind: { const: TEST_KIND },
    metadata: {
      type: 'object',
      additionalProperties: false,
      properties: { name: { type: 'string', minLength: 1 }, description: { type: 'string' } },
    },
    policy: path,
    cluster: {
      type: 'object',
      additionalProperties: false,
      properties: { kubernetesVersion: version, minKubeletVersion: version },
    },
    strict: { type: 'boolean' },
    resources: { type: 'array', minItems: 1, items: { type: ['string', 'object'], minLength: 1 } },
    results: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['resources', 'rule', 'result'],
        properties: {
          resources: { type: 'array', minItems: 1, items: resourceName },
          rule: { type: 'string', minLength: 1 },
          result: { enum: OUTCOMES },
        },
      },
    },
    migrations: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['resource', 'expected'],
        properties: { resource: resourceName, expected: path },
      },
    },
  },
} as const;

/** A schema violation: where (a key path into the document) and what is wrong, in words. */
export interface SchemaProblem {
  keyPath: KeyPath;
  problem: string;
}

let compiled: ValidateFunction | undefined;

/** Every way `value` breaks the schema, each with the key it is about; empty when it is a valid test document. */
export function schemaProblems(value: unknown, suggest: (name: string, known: readonly string[]) => string): SchemaProblem[] {
  compiled ??= new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true }).compile(TEST_SCHEMA);
  if (compiled(value)) return [];
  const problems = (compiled.errors ?? []).map((error) => toProblem(error, suggest));
  // One problem per key: `type` and `minLength` may both fire on one value.
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = problem.keyPath.join('\0');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function toProblem(error: ErrorObject, suggest: (name: string, known: readonly string[]) => string): SchemaProblem {
  const keyPath = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  const parent = error.parentSchema as { properties?: Record<string, unknown>; description?: string } | undefined;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      return { keyPath: [...keyPath, key], problem: `unknown key${suggest(key, Object.keys(parent?.properties ?? {}))}` };
    }
    case 'required':
      return { keyPath, problem: `missing required key '${String(params.missingProperty)}'` };
    case 'type':
      return { keyPath, problem: `must be ${article(String(params.type))}, not ${describe(error.data)}${quoteHint(params.type, error.data)}` };
    case 'const':
      return { keyPath, problem: `must be ${String(params.allowedValue)}, not ${describe(error.data)}` };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const hint = error.data === 'fail' && allowed.includes('deny') ? ' (a finding is expected by its severity: deny, warn or audit)' : suggest(String(error.data), allowed);
      return { keyPath, problem: `must be one of ${allowed.join(', ')}, not ${describe(error.data)}${hint}` };
    }
    case 'minItems':
    case 'minLength':
      return { keyPath, problem: 'must not be empty' };
    case 'pattern':
      return { keyPath, problem: `${parent?.description ?? `must match ${String(params.pattern)}`}, not ${describe(error.data)}` };
    default:
      return { keyPath, problem: error.message ?? 'is not valid' };
  }
}

function article(type: string): string {
  if (type === 'object') return 'a mapping';
  if (type === 'array') return 'a list';
  if (type === 'string,object') return 'a path or an inline manifest (a mapping)';
  if (type === 'boolean') return 'true or false';
  return `a ${type}`;
}

/** YAML reads an unquoted `1.30` as the number 1.3: versions, and names that look like numbers, need quotes. */
function quoteHint(type: unknown, data: unknown): string {
  return type === 'string' && typeof data === 'number' ? ' (put it in quotes: unquoted, YAML reads it as a number, and 1.30 as 1.3)' : '';
}
