import type { ExemptedFinding } from '../engine/types.js';
import type { AdmissionMode } from './mode.js';
import { withAuditAnnotations, withWarnings, type AdmissionResponse } from './response.js';

/** Audit annotation keys of exempted findings: `exempted.<rule id>`, next to the `<rule id>` keys of findings. */
export const EXEMPTED_ANNOTATION_PREFIX = 'exempted.';

/**
 * Makes every exemption used visible: a warning per exempted finding naming the rule and the reason (enforce
 * and warn modes; audit mode shows users nothing), and an audit annotation per rule in every mode.
 */
export function withExemptions(response: AdmissionResponse, exempted: readonly ExemptedFinding[], mode: AdmissionMode): AdmissionResponse {
  if (exempted.length === 0) return response;
  const warned = mode === 'audit' ? response : withWarnings(response, exempted.map(exemptionWarning));
  return withAuditAnnotations(warned, exemptionAnnotations(exempted));
}

/** `port-conflict exempted by the policy (ticket OPS-1234): containers 'app' and 'proxy' both declare …`. */
export function exemptionWarning(finding: ExemptedFinding): string {
  return `${finding.rule} exempted by ${exemptionSource(finding)}: ${finding.message}`;
}

function exemptionSource({ exemption }: ExemptedFinding): string {
  const by = exemption.source === 'policy' ? 'the policy' : 'podpatterns.io/ignore';
  return `${by} (${exemption.reason ?? 'no reason given'})`;
}

/** `exempted.<rule>: <source>: <message>`; several findings of one rule share its key. */
export function exemptionAnnotations(exempted: readonly ExemptedFinding[]): Record<string, string> {
  const byRule = new Map<string, Set<string>>();
  for (const finding of exempted) {
    const entry = finding.exemption.entry !== undefined ? ` ${finding.exemption.entry}` : '';
    const text = `by ${exemptionSource(finding)}${entry}: ${finding.message}`;
    const texts = byRule.get(finding.rule) ?? new Set<string>();
    texts.add(text);
    byRule.set(finding.rule, texts);
  }
  return Object.fromEntries([...byRule].map(([rule, texts]) => [`${EXEMPTED_ANNOTATION_PREFIX}${rule}`, [...texts].join(' | ')]));
}
