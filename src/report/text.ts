import picocolors from 'picocolors';
import { problemLine, ruleDocCommand } from '../engine/short-form.js';
import type { Rule, Severity } from '../engine/types.js';
import type { ResourceRef } from '../model/pod.js';
import { describeAppliedExemption, describeExemption } from '../engine/exemptions.js';
import type { AuditError, AuditReport, LocatedFinding } from './types.js';
import { summarize } from './summary.js';

export interface TextOptions {
  /** ANSI colours; the caller decides (a TTY, NO_COLOR unset). */
  color: boolean;
  /** The rules that ran: the legend explains each one found with its summary. */
  rules: readonly Pick<Rule, 'id' | 'summary'>[];
}

type Colors = ReturnType<typeof picocolors.createColors>;

/** One block of the report: its lines, or none to leave it out. */
type Section = (report: AuditReport, options: TextOptions, colors: Colors) => string[];

/**
 * The human report, in blocks separated by a blank line: one line per finding (`file:line severity rule
 * 'container' problem (resource)`) with its fix on an indented line below; one line per exempted finding with
 * what exempted it; a legend that explains each rule found once, with where its full documentation is; and a
 * summary line. A new kind of line is one more section.
 */
const SECTIONS: readonly Section[] = [findingLines, exemptionLines, legend, (report, _options, colors) => [summaryLine(report, colors)]];

export function renderText(report: AuditReport, options: TextOptions): string {
  const colors = picocolors.createColors(options.color);
  const blocks = SECTIONS.map((section) => section(report, options, colors)).filter((lines) => lines.length > 0);
  return `${blocks.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}

function findingLines(report: AuditReport, _options: TextOptions, colors: Colors): string[] {
  return report.findings.flatMap((finding) => [
    `${colors.dim(location(finding))}  ${severityLabel(finding.severity, colors)}  ${colors.bold(finding.rule)}  ${problemLine(finding)}` +
      // An object read from a cluster is named by its location already.
      (finding.line !== undefined ? colors.dim(`  (${resourceName(finding.resource)})`) : ''),
    `    ${colors.dim('fix:')} ${finding.fix}`,
  ]);
}

/** Each rule found, once: how many findings, its summary and the command that explains it in full. */
function legend(report: AuditReport, options: TextOptions, colors: Colors): string[] {
  const counts = new Map<string, number>();
  for (const finding of report.findings) counts.set(finding.rule, (counts.get(finding.rule) ?? 0) + 1);
  if (counts.size === 0) return [];
  const summaries = new Map(options.rules.map((rule) => [rule.id, rule.summary]));
  // In the order the rules are documented; a rule the options do not know comes last.
  const order = new Map(options.rules.map((rule, index) => [rule.id, index]));
  const found = [...counts].sort(([a], [b]) => (order.get(a) ?? order.size) - (order.get(b) ?? order.size));
  const width = Math.max(...found.map(([id]) => id.length));
  return [
    `Rules found (${ruleDocCommand('<id>')} explains one in full, with a fixed example):`,
    ...found.map(([id, count]) => `  ${colors.bold(id.padEnd(width))}  ${String(count).padStart(4)}  ${summaries.get(id) ?? ''}`.trimEnd()),
  ];
}

/** One line per finding an exemption suppressed, with what exempted it, and one per policy exemption past its last day. */
function exemptionLines(report: AuditReport, _options: TextOptions, colors: Colors): string[] {
  const lines = report.exempted.map(
    (exempted) =>
      `${colors.dim(location(exempted))}  ${colors.dim('exempt')}  ${colors.bold(exempted.rule)}  ${problemLine(exempted)}: ` +
      `exempted by ${describeAppliedExemption(exempted.exemption)}`,
  );
  for (const entry of report.expiredExemptions) {
    lines.push(`${colors.yellow('note')}: the policy exemption ${describeExemption(entry)} expired on ${entry.expires?.date ?? '?'} and no longer applies`);
  }
  return lines;
}

/** Errors for standard error, one per line: `file:line: message [CODE]`. */
export function renderTextErrors(errors: readonly AuditError[], options: Pick<TextOptions, 'color'>): string {
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

function location(finding: LocatedFinding): string {
  return finding.line !== undefined ? `${finding.file}:${finding.line}` : finding.file;
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
