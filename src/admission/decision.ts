import { shortForm } from '../engine/short-form.js';
import type { Finding } from '../engine/types.js';
import { MAX_ANNOTATION_VALUE_LENGTH, MAX_STATUS_MESSAGE_LENGTH, truncate } from './limits.js';
import type { AdmissionMode } from './mode.js';
import { allowed, denied, withAuditAnnotations, withWarnings, type AdmissionResponse } from './response.js';

/** What the findings on one object mean for its admission under a mode. */
export interface Decision {
  allowed: boolean;
  /** Deny findings that reject the request (enforce mode only). */
  denials: Finding[];
  /** Findings shown to the user as warnings. */
  warnings: Finding[];
  /** Deny findings the object already had before this UPDATE: warned about, never denied. */
  ratcheted: Finding[];
  /** Every finding, for audit annotations, logs and metrics. */
  findings: Finding[];
}

/** Same rule, container and path: the identity ratcheting compares. */
export function findingKey(finding: Finding): string {
  return `${finding.rule}\u0000${finding.container ?? ''}\u0000${finding.path}`;
}

/**
 * Applies the mode and ratcheting: on UPDATE, a deny finding the old object already had is a warning, so a
 * label change or a scale never fails because of a violation that predates podpatterns or the policy.
 */
export function decide(findings: readonly Finding[], previous: readonly Finding[] | undefined, mode: AdmissionMode): Decision {
  const existing = new Set((previous ?? []).map(findingKey));
  const decision: Decision = { allowed: true, denials: [], warnings: [], ratcheted: [], findings: [...findings] };
  for (const finding of findings) {
    if (finding.severity === 'audit') continue;
    const preExisting = finding.severity === 'deny' && existing.has(findingKey(finding));
    if (preExisting) decision.ratcheted.push(finding);
    if (mode === 'audit') continue;
    if (finding.severity === 'warn' || preExisting || mode === 'warn') decision.warnings.push(finding);
    else decision.denials.push(finding);
  }
  decision.allowed = decision.denials.length === 0;
  return decision;
}

/** The AdmissionResponse for a decision: denial message, warnings and one audit annotation per rule. */
export function responseFor(decision: Decision): AdmissionResponse {
  const ratcheted = new Set(decision.ratcheted);
  const base = decision.allowed ? allowed() : denied(denialMessage(decision.denials));
  const warned = withWarnings(base, decision.warnings.map((finding) => warningFor(finding, ratcheted.has(finding))));
  return withAuditAnnotations(warned, auditAnnotationsFor(decision.findings));
}

/** The short form: one sentence of at most 120 characters (the full message and fix are in denials, annotations and logs). */
export function warningFor(finding: Finding, preExisting = false): string {
  return shortForm(finding, { preExisting });
}

/**
 * Every denied finding with its fix, numbered when there are several; what does not fit in
 * MAX_STATUS_MESSAGE_LENGTH is summed up by rule id (the audit annotations and logs keep it all).
 */
export function denialMessage(denials: readonly Finding[]): string {
  const entries = denials.map((finding) => `${finding.rule}: ${finding.message} Fix: ${finding.fix}`);
  if (entries.length === 1) return truncate(entries[0]!, MAX_STATUS_MESSAGE_LENGTH);
  const header = `${entries.length} problems:`;
  const lines: string[] = [header];
  let length = header.length;
  const reserve = 200;
  let shown = 0;
  for (const [index, entry] of entries.entries()) {
    const line = `[${index + 1}] ${entry}`;
    if (length + 1 + line.length > MAX_STATUS_MESSAGE_LENGTH - reserve) {
      if (shown === 0) {
        lines.push(truncate(line, MAX_STATUS_MESSAGE_LENGTH - reserve - length - 1));
        shown++;
      }
      break;
    }
    lines.push(line);
    length += 1 + line.length;
    shown++;
  }
  if (shown < entries.length) {
    const rest = [...new Set(denials.slice(shown).map((finding) => finding.rule))].join(', ');
    lines.push(truncate(`(+${entries.length - shown} more: ${rest})`, reserve - 1));
  }
  return lines.join('\n');
}

/**
 * `<rule id>: <message>`; several findings of one rule share its key, their messages joined. Joining stops once
 * a value is longer than an annotation may be (boundedAnnotations cuts it there), so 100,000 findings of one
 * rule do not build a string of megabytes.
 */
export function auditAnnotationsFor(findings: readonly Finding[]): Record<string, string> {
  const byRule = new Map<string, { messages: Set<string>; length: number }>();
  for (const finding of findings) {
    const entry = byRule.get(finding.rule) ?? { messages: new Set<string>(), length: 0 };
    byRule.set(finding.rule, entry);
    if (entry.length > MAX_ANNOTATION_VALUE_LENGTH || entry.messages.has(finding.message)) continue;
    entry.messages.add(finding.message);
    entry.length += finding.message.length + 3;
  }
  return Object.fromEntries([...byRule].map(([rule, { messages }]) => [rule, [...messages].join(' | ')]));
}
