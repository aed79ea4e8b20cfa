import type { AuditReport } from './audit.js';
import { summarize, type AuditSummary } from './summary.js';

/**
 * The `--output json` document. Scripts consume it: keys are stable and always present (`null` when a
 * value does not apply), new keys may be added, none are renamed or removed.
 *
 * - `findings[]`: `rule`, `severity` (deny|warn|audit), `resource` {`apiVersion`, `kind`, `namespace`, `name`},
 *   `container`, `path` (dotted path in the document, `items[i]` for List items), `message`, `fix`,
 *   `file` (as given on the command line, `stdin` for `-`, `cluster://<namespace>/<kind>/<name>` for
 *   `audit --cluster`), `line` (1-based; `null` for objects read from a cluster).
 * - `summary`: counts of `findings`, `deny`, `warn`, `audit`, `errors`, `exemptions`, `resources`,
 *   `documents`, `files`.
 * - `errors[]`: `file`, `line`, `code` (PODPATTERNS_ERR_*), `rule` (for a rule that failed), `message`.
 * - `exemptions[]`: `resource`, `rules`, `reason`, `file`, `line` for `podpatterns.io/ignore` annotations.
 */
export interface JsonReport {
  findings: JsonFinding[];
  summary: AuditSummary;
  errors: JsonError[];
  exemptions: JsonExemption[];
}

interface JsonResource {
  apiVersion: string;
  kind: string;
  namespace: string | null;
  name: string;
}

interface JsonFinding {
  rule: string;
  severity: string;
  resource: JsonResource;
  container: string | null;
  path: string;
  message: string;
  fix: string;
  file: string;
  line: number | null;
}

interface JsonError {
  file: string;
  line: number | null;
  code: string | null;
  rule: string | null;
  message: string;
}

interface JsonExemption {
  resource: JsonResource;
  rules: string[];
  reason: string | null;
  file: string;
  line: number | null;
}

export function jsonReport(report: AuditReport): JsonReport {
  return {
    findings: report.findings.map((finding) => ({
      rule: finding.rule,
      severity: finding.severity,
      resource: resource(finding.resource),
      container: finding.container ?? null,
      path: finding.path,
      message: finding.message,
      fix: finding.fix,
      file: finding.file,
      line: finding.line ?? null,
    })),
    summary: summarize(report),
    errors: report.errors.map((error) => ({
      file: error.file,
      line: error.line ?? null,
      code: error.code ?? null,
      rule: error.rule ?? null,
      message: error.message,
    })),
    exemptions: report.exemptions.map((exemption) => ({
      resource: resource(exemption.resource),
      rules: exemption.rules,
      reason: exemption.reason ?? null,
      file: exemption.file,
      line: exemption.line ?? null,
    })),
  };
}

export function renderJson(report: AuditReport): string {
  return [...renderJsonPieces(report)].join('');
}

/**
 * The `--output json` text in pieces of about `pieceLength` characters, exactly as `renderJson` (that is,
 * `JSON.stringify(…, null, 2)`) writes it: a large report is written out without one string of all of it.
 */
export function* renderJsonPieces(report: AuditReport, pieceLength = 1 << 16): Generator<string> {
  let piece = '';
  for (const text of jsonTexts(jsonReport(report) as unknown as Record<string, unknown>)) {
    piece += text;
    if (piece.length >= pieceLength) {
      yield piece;
      piece = '';
    }
  }
  yield piece;
}

function* jsonTexts(document: Record<string, unknown>): Generator<string> {
  const entries = Object.entries(document);
  yield '{\n';
  for (const [index, [key, value]] of entries.entries()) {
    yield `  ${JSON.stringify(key)}: `;
    if (Array.isArray(value) && value.length > 0) {
      yield '[\n';
      for (const [position, item] of value.entries()) yield `    ${JSON.stringify(item, null, 2).replaceAll('\n', '\n    ')}${position < value.length - 1 ? ',' : ''}\n`;
      yield '  ]';
    } else yield JSON.stringify(value, null, 2).replaceAll('\n', '\n  ');
    yield index < entries.length - 1 ? ',\n' : '\n';
  }
  yield '}\n';
}

function resource(ref: { apiVersion: string; kind: string; namespace?: string; name: string }): JsonResource {
  return { apiVersion: ref.apiVersion, kind: ref.kind, namespace: ref.namespace ?? null, name: ref.name };
}
