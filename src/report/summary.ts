import { severityRank, type Severity } from '../engine/types.js';
import type { AuditReport } from './types.js';

/** The lowest severity that fails the run, or `none` to never fail on findings. */
export type FailOn = Severity | 'none';
export const FAIL_ON_CHOICES: readonly FailOn[] = ['deny', 'warn', 'audit', 'none'];

export interface AuditSummary {
  findings: number;
  deny: number;
  warn: number;
  audit: number;
  /** Paths, documents and rules that could not be checked. */
  errors: number;
  /** Findings an exemption suppressed (not counted in `findings`). */
  exemptions: number;
  resources: number;
  documents: number;
  files: number;
}

export function summarize(report: AuditReport): AuditSummary {
  const count = (severity: Severity): number => report.findings.filter((finding) => finding.severity === severity).length;
  return {
    findings: report.findings.length,
    deny: count('deny'),
    warn: count('warn'),
    audit: count('audit'),
    errors: report.errors.length,
    exemptions: report.exempted.length,
    resources: report.resources,
    documents: report.documents,
    files: report.files,
  };
}

/** True when a finding is at or above the `--fail-on` severity. */
export function hasFailingFindings(report: AuditReport, failOn: FailOn): boolean {
  if (failOn === 'none') return false;
  const threshold = severityRank(failOn);
  return report.findings.some((finding) => severityRank(finding.severity) <= threshold);
}
