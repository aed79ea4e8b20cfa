import type { Exemption, ExemptionExpiry, Exemptions } from '../engine/exemptions.js';
import { describe, isRecord, suggest, type Fail, type KeyPath, type LineOf } from './keys.js';

export const NO_EXEMPTIONS: Exemptions = Object.freeze({ annotations: true, namespaces: Object.freeze([]), list: Object.freeze([]) });

const KEYS = ['annotations', 'namespaces', 'list'] as const;
const ENTRY_KEYS = ['namespace', 'kind', 'name', 'rules', 'reason', 'expires'];
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** Reads the policy's `exemptions` block; what an entry means and how it matches is the engine's (engine/exemptions.ts). */
export function parseExemptions(
  raw: unknown,
  ruleIds: readonly string[],
  lineOf: LineOf,
  fail: Fail,
): { exemptions: Exemptions; explicit: Record<keyof Exemptions, boolean> } {
  const explicit = { annotations: false, namespaces: false, list: false };
  if (raw === undefined || raw === null) return { exemptions: NO_EXEMPTIONS, explicit };
  if (!isRecord(raw)) return fail(['exemptions'], 'must be a mapping (annotations, namespaces, list)');
  for (const key of Object.keys(raw)) {
    if (!(KEYS as readonly string[]).includes(key)) fail(['exemptions', key], `unknown setting${suggest(key, KEYS)}`);
  }
  let annotations = NO_EXEMPTIONS.annotations;
  if (raw.annotations !== undefined) {
    if (typeof raw.annotations !== 'boolean') fail(['exemptions', 'annotations'], `must be true or false, not ${describe(raw.annotations)}`);
    annotations = raw.annotations as boolean;
    explicit.annotations = true;
  }
  let namespaces: string[] = [];
  if (raw.namespaces !== undefined) {
    namespaces = asList(raw.namespaces, ['exemptions', 'namespaces'], fail).map((value, index) => namespaceName(value, ['exemptions', 'namespaces', index], fail));
    explicit.namespaces = true;
  }
  let list: Exemption[] = [];
  if (raw.list !== undefined) {
    list = asList(raw.list, ['exemptions', 'list'], fail).map((entry, index) => exemption(entry, ['exemptions', 'list', index], ruleIds, lineOf, fail));
    explicit.list = true;
  }
  return { exemptions: Object.freeze({ annotations, namespaces: Object.freeze(namespaces), list: Object.freeze(list) }), explicit };
}

function exemption(raw: unknown, at: KeyPath, ruleIds: readonly string[], lineOf: LineOf, fail: Fail): Exemption {
  if (!isRecord(raw)) return fail(at, `must be a mapping (${ENTRY_KEYS.join(', ')}), not ${describe(raw)}`);
  for (const key of Object.keys(raw)) {
    if (!ENTRY_KEYS.includes(key)) fail([...at, key], `unknown setting${suggest(key, ENTRY_KEYS)}`);
  }
  if (raw.namespace === undefined) fail(at, 'namespace is required: an exemption covers the objects of one namespace');
  const namespace = namespaceName(raw.namespace, [...at, 'namespace'], fail);
  const kind = optionalText(raw.kind, [...at, 'kind'], fail);
  const name = optionalText(raw.name, [...at, 'name'], fail);
  if (raw.rules === undefined) fail(at, 'rules is required: the rule ids it exempts, or ["*"] for every rule');
  const rules = asList(raw.rules, [...at, 'rules'], fail).map((id, index) => {
    if (typeof id !== 'string') return fail([...at, 'rules', index], `must be a rule id, not ${describe(id)}`);
    if (id !== '*' && !ruleIds.includes(id)) fail([...at, 'rules', index], `unknown rule '${id}'${suggest(id, ruleIds)}`);
    return id;
  });
  if (rules.length === 0) fail([...at, 'rules'], 'must name at least one rule id, or "*" for every rule');
  if (typeof raw.reason !== 'string' || raw.reason.trim() === '') {
    fail(raw.reason === undefined ? at : [...at, 'reason'], 'reason is required: say why (a ticket, an owner), it is shown wherever the exemption is used');
  }
  const expires = raw.expires === undefined ? undefined : expiry(raw.expires, [...at, 'expires'], fail);
  return Object.freeze({
    namespace,
    ...(kind !== undefined && { kind }),
    ...(name !== undefined && { name }),
    rules: Object.freeze(rules),
    reason: (raw.reason as string).trim(),
    ...(expires && { expires: Object.freeze(expires) }),
    line: lineOf(at),
  });
}

function asList(value: unknown, at: KeyPath, fail: Fail): unknown[] {
  if (!Array.isArray(value)) return fail(at, `must be a list, not ${describe(value)}`);
  return value;
}

function namespaceName(value: unknown, at: KeyPath, fail: Fail): string {
  if (typeof value !== 'string' || value.length > 63 || !NAMESPACE.test(value)) return fail(at, `must be a namespace name, not ${describe(value)}`);
  return value;
}

function optionalText(value: unknown, at: KeyPath, fail: Fail): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') return fail(at, `must be a non-empty string, not ${describe(value)}`);
  return value;
}

function expiry(value: unknown, at: KeyPath, fail: Fail): ExemptionExpiry {
  const match = typeof value === 'string' ? DATE.exec(value) : null;
  const start = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
  // Date.UTC rolls 2027-02-30 over to March: a date that does not round-trip does not exist.
  if (!match || Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== value) {
    return fail(at, `must be a date written YYYY-MM-DD (the last day it applies, UTC), not ${describe(value)}`);
  }
  return { date: value as string, endsAt: start + DAY_MS };
}
