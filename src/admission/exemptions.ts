import { fitNames, problemLine, SHORT_FORM_LENGTH } from '../engine/short-form.js';
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

/**
 * `port-conflict exempted by policy (ticket OPS-1234): 'proxy' shares port 8080/TCP with 'app'`: the rule and
 * the reason first, so a long reason cuts the problem, not them (warnings are cut at 120 characters).
 */
export function exemptionWarning(finding: ExemptedFinding): string {
  return fitNames(`${finding.rule} exempted by ${exemptionSource(finding)}: ${problemLine(finding)}`, SHORT_FORM_LENGTH);
}

/** `policy (ticket OPS-1234)`, `annotation (no reason given)`: short, the warning is cut at 120 characters. */
function exemptionSource({ exemption }: ExemptedFinding): string {
  return `${exemption.source} (${exemption.reason ?? 'no reason given'})`;
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
