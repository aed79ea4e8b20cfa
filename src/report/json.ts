import type { AuditReport, LocatedFinding } from './types.js';
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
 * - `exemptions[]`: every finding an exemption suppressed (it does not count in `findings` or `--fail-on`): the
 *   keys of a finding, plus `source` (`policy`: an entry of the policy's `exemptions.list`; `annotation`:
 *   `podpatterns.io/ignore`, when the policy honours it), `reason` (`null` when an annotation gave none),
 *   `exemption` (the policy entry, `namespace/kind/name` and its line; `null` for annotations), `expires`
 *   (its last day, or `null`) and `rules` (`[rule]`).
 * - `expiredExemptions[]`: policy entries past their last day, which no longer apply: `namespace`, `kind`,
 *   `name`, `rules`, `reason`, `expires`, `line`.
 */
export interface JsonReport {
  findings: JsonFinding[];
  summary: AuditSummary;
  errors: JsonError[];
  exemptions: JsonExemption[];
  expiredExemptions: JsonExpiredExemption[];
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

interface JsonExemption extends JsonFinding {
  rules: string[];
  source: 'annotation' | 'policy';
  reason: string | null;
  exemption: string | null;
  expires: string | null;
}

interface JsonExpiredExemption {
  namespace: string;
  kind: string | null;
  name: string | null;
  rules: string[];
  reason: string;
  expires: string;
  line: number | null;
}

export function jsonReport(report: AuditReport): JsonReport {
  return {
    findings: report.findings.map(jsonFinding),
    summary: summarize(report),
    errors: report.errors.map((error) => ({
      file: error.file,
      line: error.line ?? null,
      code: error.code ?? null,
      rule: error.rule ?? null,
      message: error.message,
    })),
    exemptions: report.exempted.map((exempted) => ({
      ...jsonFinding(exempted),
      rules: [exempted.rule],
      source: exempted.exemption.source,
      reason: exempted.exemption.reason ?? null,
      exemption: exempted.exemption.entry ?? null,
      expires: exempted.exemption.expires ?? null,
    })),
    expiredExemptions: report.expiredExemptions.map((entry) => ({
      namespace: entry.namespace,
      kind: entry.kind ?? null,
      name: entry.name ?? null,
      rules: [...entry.rules],
      reason: entry.reason,
      expires: entry.expires?.date ?? '',
      line: entry.line > 0 ? entry.line : null,
    })),
  };
}

function jsonFinding(finding: LocatedFinding): JsonFinding {
  return {
    rule: finding.rule,
    severity: finding.severity,
    resource: resource(finding.resource),
    container: finding.container ?? null,
    path: finding.path,
    message: finding.message,
    fix: finding.fix,
    file: finding.file,
    line: finding.line ?? null,
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

/**
 * Items of a list written by one call of JSON.stringify: it writes many values at once at about twice the
 * rate it writes them one call each. A few dozen findings make a string of some 30 KB: V8 puts strings over
 * about 128 KB in its large-object space, which only a full collection frees, and 256 findings at once kept
 * some 60 MB more alive at the peak of a 20k-object audit.
 */
const ITEMS_AT_ONCE = 32;

function* jsonTexts(document: Record<string, unknown>): Generator<string> {
  const entries = Object.entries(document);
  yield '{\n';
  for (const [index, [key, value]] of entries.entries()) {
    const name = JSON.stringify(key);
    yield `  ${name}: `;
    if (Array.isArray(value) && value.length > 0) {
      // Written as the member of a document of their own, the items are indented as in the whole one.
      const before = `{\n  ${name}: [\n`.length;
      const after = '\n  ]\n}'.length;
      yield '[\n';
      for (let start = 0; start < value.length; start += ITEMS_AT_ONCE) {
        const text = JSON.stringify({ [key]: value.slice(start, start + ITEMS_AT_ONCE) }, null, 2);
        yield `${text.slice(before, text.length - after)}${start + ITEMS_AT_ONCE < value.length ? ',' : ''}\n`;
      }
      yield '  ]';
    } else yield JSON.stringify(value, null, 2).replaceAll('\n', '\n  ');
    yield index < entries.length - 1 ? ',\n' : '\n';
  }
  yield '}\n';
}

function resource(ref: { apiVersion: string; kind: string; namespace?: string; name: string }): JsonResource {
  return { apiVersion: ref.apiVersion, kind: ref.kind, namespace: ref.namespace ?? null, name: ref.name };
}
