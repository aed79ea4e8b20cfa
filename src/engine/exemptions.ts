import type { AppliedExemption } from './types.js';

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
