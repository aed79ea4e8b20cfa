import type { AppliedExemption } from '../engine/types.js';
import { describe, isRecord, suggest, type Fail, type KeyPath, type LineOf } from './keys.js';

/**
 * Who may exempt objects from rules. Exemptions belong to whoever owns the policy: the central `list` always
 * applies; the `podpatterns.io/ignore` annotation, which anyone who may create the object can write, only
 * when `annotations` is true (and, when `namespaces` is set, only in those namespaces).
 */
export interface Exemptions {
  /** Honour `podpatterns.io/ignore` (and `podpatterns.io/ignore-reason`) on objects and pod templates. */
  annotations: boolean;
  /** When not empty, the annotation is honoured only on objects in these namespaces. */
  namespaces: readonly string[];
  /** Central exemptions, in file order; the first one that matches a finding is the one recorded. */
  list: readonly Exemption[];
}

/** One entry of `exemptions.list`. */
export interface Exemption {
  /** The namespace of the objects it covers (an object without a namespace is in none). */
  namespace: string;
  /** The object's kind, exactly (`Deployment`); absent: every kind. */
  kind?: string;
  /** A glob on the object's name (`*` any run of characters, `?` one character); absent: every name. */
  name?: string;
  /** Rule ids, or `['*']` for every rule. */
  rules: readonly string[];
  reason: string;
  expires?: ExemptionExpiry;
  /** The entry's line in the policy file (0 when not read from a file), for messages. */
  line: number;
}

/** The last day an exemption applies, in UTC: it applies through the end of that day. */
export interface ExemptionExpiry {
  /** As written: `2027-03-31`. */
  date: string;
  /** Epoch milliseconds of the first instant it no longer applies: the next midnight UTC. */
  endsAt: number;
}

export const NO_EXEMPTIONS: Exemptions = Object.freeze({ annotations: true, namespaces: Object.freeze([]), list: Object.freeze([]) });

const KEYS = ['annotations', 'namespaces', 'list'] as const;
const ENTRY_KEYS = ['namespace', 'kind', 'name', 'rules', 'reason', 'expires'];
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

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

/** Whether an entry still applies at `now` (epoch milliseconds). */
export function exemptionActive(entry: Exemption, now: number): boolean {
  return entry.expires === undefined || now < entry.expires.endsAt;
}

/** Entries whose last day is over at `now`: they no longer apply, and whoever owns the policy should hear of it. */
export function expiredExemptions(exemptions: Exemptions, now: number): Exemption[] {
  return exemptions.list.filter((entry) => !exemptionActive(entry, now));
}

/** `legacy/Deployment/billing-*` (line 12): how messages name an entry. */
export function describeExemption(entry: Exemption): string {
  const where = `${entry.namespace}/${entry.kind ?? '*'}/${entry.name ?? '*'}`;
  return entry.line > 0 ? `${where} (policy line ${entry.line})` : where;
}

/** `the policy exemption legacy/Deployment/billing-* (policy line 12) (ticket OPS-1234)`, `the podpatterns.io/ignore annotation (no reason given)`. */
export function describeAppliedExemption(exemption: AppliedExemption): string {
  const by = exemption.source === 'policy' ? `the policy exemption ${exemption.entry ?? ''}`.trimEnd() : 'the podpatterns.io/ignore annotation';
  return `${by} (${exemption.reason ?? 'no reason given'})`;
}

/**
 * Glob match with `*` (any run, possibly empty) and `?` (one character). Two pointers with one backtrack
 * point: at most pattern × text steps, and both are names (at most 253 characters).
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
