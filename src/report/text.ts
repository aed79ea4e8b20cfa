import picocolors from 'picocolors';
import type { ResourceRef, Severity } from '../engine/types.js';
import type { AuditError, AuditReport, LocatedFinding } from './audit.js';
import { describeAppliedExemption, describeExemption } from '../policy/exemptions.js';
import { summarize } from './summary.js';

export interface TextOptions {
  /** ANSI colours; the caller decides (a TTY, NO_COLOR unset). */
  color: boolean;
}

type Colors = ReturnType<typeof picocolors.createColors>;

/**
 * The human report: findings grouped per resource, one line each with `file:line`, severity, rule and
 * container, the fix indented below, then a summary line.
 */
export function renderText(report: AuditReport, options: TextOptions): string {
  const colors = picocolors.createColors(options.color);
  const groups = new Map<string, LocatedFinding[]>();
  for (const finding of report.findings) {
    const key = `${finding.file}\0${resourceName(finding.resource)}`;
    const group = groups.get(key);
    if (group) group.push(finding);
    else groups.set(key, [finding]);
  }
  const out: string[] = [];
  for (const findings of groups.values()) {
    const first = findings[0]!;
    out.push(`${colors.bold(resourceName(first.resource))} ${colors.dim(`(${first.file})`)}`);
    for (const finding of findings) {
      const container = finding.container !== undefined ? `${finding.container}: ` : '';
      const where = finding.line !== undefined ? `${finding.file}:${finding.line}` : finding.file;
      out.push(`  ${colors.dim(where)}  ${severityLabel(finding.severity, colors)}  ${colors.bold(finding.rule)}  ${container}${finding.message}`);
      out.push(`      ${colors.dim('fix:')} ${finding.fix}`);
    }
    out.push('');
  }
  out.push(...exemptionLines(report, colors));
  out.push(summaryLine(report, colors));
  return `${out.join('\n')}\n`;
}

/** One line per finding an exemption suppressed, and one per policy exemption past its last day. */
function exemptionLines(report: AuditReport, colors: Colors): string[] {
  const lines = report.exempted.map((exempted) => {
    const where = exempted.line !== undefined ? `${exempted.file}:${exempted.line}` : exempted.file;
    const container = exempted.container !== undefined ? ` ${exempted.container}` : '';
    return `${colors.dim('exempted')} ${where} ${exempted.rule}${container} (${resourceName(exempted.resource)}): by ${describeAppliedExemption(exempted.exemption)}`;
  });
  for (const entry of report.expiredExemptions) {
    lines.push(`${colors.yellow('note')}: the policy exemption ${describeExemption(entry)} expired on ${entry.expires?.date ?? '?'} and no longer applies`);
  }
  return lines.length > 0 ? [...lines, ''] : [];
}

/** Errors for standard error, one per line: `file:line: message [CODE]`. */
export function renderTextErrors(errors: readonly AuditError[], options: TextOptions): string {
  const colors = picocolors.createColors(options.color);
  return errors
    .map((error) => {
      const where = error.line !== undefined ? `${error.file}:${error.line}` : error.file;
      return `${colors.red('error')} ${where}: ${error.message}${error.code ? colors.dim(` [${error.code}]`) : ''}\n`;
    })
    .join('');
}

/** `Deployment shop/web`, `ClusterRole admin`. */
export function resourceName(resource: ResourceRef): string {
  const name = resource.namespace ? `${resource.namespace}/${resource.name}` : resource.name;
  return `${resource.kind || '(no kind)'} ${name || '(no name)'}`;
}

function severityLabel(severity: Severity, colors: Colors): string {
  const label = severity.padEnd(5);
  if (severity === 'deny') return colors.red(colors.bold(label));
  if (severity === 'warn') return colors.yellow(label);
  return colors.cyan(label);
}

function summaryLine(report: AuditReport, colors: Colors): string {
  const summary = summarize(report);
  // A cluster audit reads objects, not files.
  const sources = summary.files > 0 ? ` (${plural(summary.documents, 'document')}, ${plural(summary.files, 'file')})` : '';
  const checked = `${plural(summary.resources, 'resource')}${sources}`;
  const found =
    summary.findings === 0
      ? `${colors.green('No findings')} in ${checked}.`
      : `${plural(summary.findings, 'finding')} (${summary.deny} deny, ${summary.warn} warn, ${summary.audit} audit) in ${checked}.`;
  const errors = summary.errors > 0 ? ` ${colors.red(plural(summary.errors, 'error'))}: not everything could be checked.` : '';
  return found + errors;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
