import { yamlPackage } from '../input/yaml-package.js';
import { describeAppliedExemption } from '../engine/exemptions.js';
import type { ExemptedFinding, Finding, RuleError, Severity } from '../engine/types.js';
import type { ResourceRef } from '../model/pod.js';

/**
 * `--output policyreport`: one policy report per namespace, named `podpatterns`, never one per resource:
 * per-resource reports are what has filled etcd for other tools. Two APIs carry the same report:
 *
 * - `openreports` (default): an OpenReports `Report` (openreports.io/v1alpha1), which Kyverno 1.15+ and
 *   Kubewarden 1.30+ write and Policy Reporter reads; it also names its `source` and the result cap
 *   (`configuration.limits.maxResults`);
 * - `wgpolicy`: a wg-policy `PolicyReport` (wgpolicyk8s.io/v1alpha2), the CRD older Kyverno installs.
 *
 * Results have the same fields in both (github.com/openreports/reports-api ReportResult):
 * - `source` and `policy` are `podpatterns`; `rule` is the rule id.
 * - deny → `fail` (severity high, scored); warn → `warn` (medium); audit → `warn` (low): an audit finding is a
 *   real problem podpatterns only records, and `skip` means "not evaluated", which it was.
 * - An audited object without findings → one `pass` (no rule: every enabled rule passed).
 * - A rule that threw → `error`; a finding an exemption suppressed → `skip`, naming the exemption and its reason.
 * - `properties`: `container`, `path` (dotted path of the field), `fix`, `podpatternsSeverity`.
 * - At most `maxResults` results and about `maxBytes` of them per report (fail, error, warn, skip, then pass);
 *   when some are left out the last result is a `skip` note saying how many, and the report is annotated
 *   `podpatterns.io/omitted-results`. `summary` counts every outcome, listed or not.
 */
export const REPORT_APIS = ['openreports', 'wgpolicy'] as const;
export type ReportApi = (typeof REPORT_APIS)[number];
export const DEFAULT_REPORT_API: ReportApi = 'openreports';

/** The apiVersion and kind of the namespaced report of each API. */
export const REPORT_TYPES = {
  openreports: { apiVersion: 'openreports.io/v1alpha1', kind: 'Report' },
  wgpolicy: { apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport' },
} as const satisfies Record<ReportApi, { apiVersion: string; kind: string }>;

export const POLICY_REPORT_NAME = 'podpatterns';
export const MANAGED_BY = { label: 'app.kubernetes.io/managed-by', value: 'podpatterns' } as const;
export const OMITTED_ANNOTATION = 'podpatterns.io/omitted-results';
export const DEFAULT_MAX_RESULTS = 1000;
/** Well under etcd's default 1.5 MiB request limit, with room for metadata and managedFields. */
export const DEFAULT_MAX_BYTES = 1024 * 1024;

const SOURCE = 'podpatterns';
const POLICY = 'podpatterns';
const CATEGORY = 'Multi-Container Pods';

export type PolicyResult = 'pass' | 'fail' | 'warn' | 'error' | 'skip';
export type PolicyResultSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';

/** What was checked in one object and what came of it: the input of a report. */
export interface AuditedObject {
  resource: ResourceRef;
  uid?: string;
  findings: readonly Finding[];
  errors: readonly RuleError[];
  exempted: readonly ExemptedFinding[];
}

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

export interface PolicyReportResult {
  source: string;
  policy: string;
  rule?: string;
  category: string;
  severity?: PolicyResultSeverity;
  result: PolicyResult;
  scored: boolean;
  message: string;
  resources: ObjectReference[];
  timestamp: { seconds: number; nanos: number };
  properties?: Record<string, string>;
}

export type PolicyReportSummary = Record<PolicyResult, number>;

/** The report of one namespace, in either API (`source` and `configuration` are OpenReports' only). */
export interface PolicyReport {
  apiVersion: (typeof REPORT_TYPES)[ReportApi]['apiVersion'];
  kind: (typeof REPORT_TYPES)[ReportApi]['kind'];
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  source?: string;
  configuration?: { limits: { maxResults: number } };
  summary: PolicyReportSummary;
  results: PolicyReportResult[];
}

export interface PolicyReportOptions {
  /** Default DEFAULT_REPORT_API. */
  api?: ReportApi;
  /** When the audit ran; every result carries it. */
  timestamp: Date;
  /** How many rules the policy enables, for the message of a pass. */
  enabledRules: number;
  maxResults?: number;
  maxBytes?: number;
}

export const RESULT_OF_SEVERITY: Readonly<Record<Severity, { result: PolicyResult; severity: PolicyResultSeverity; scored: boolean }>> = {
  deny: { result: 'fail', severity: 'high', scored: true },
  warn: { result: 'warn', severity: 'medium', scored: false },
  audit: { result: 'warn', severity: 'low', scored: false },
};

const LISTING_ORDER: readonly PolicyResult[] = ['fail', 'error', 'warn', 'skip', 'pass'];

/** The report of one namespace. */
export function policyReport(namespace: string, objects: readonly AuditedObject[], options: PolicyReportOptions): PolicyReport {
  const timestamp = { seconds: Math.floor(options.timestamp.getTime() / 1000), nanos: 0 };
  const buckets: Record<PolicyResult, PolicyReportResult[]> = { fail: [], error: [], warn: [], skip: [], pass: [] };
  for (const object of objects) {
    for (const result of resultsOf(object, timestamp, options.enabledRules)) buckets[result.result].push(result);
  }
  const summary: PolicyReportSummary = { pass: buckets.pass.length, fail: buckets.fail.length, warn: buckets.warn.length, error: buckets.error.length, skip: buckets.skip.length };
  const maxResults = options.maxResults ?? DEFAULT_MAX_RESULTS;
  const { results, omitted } = capped(buckets, maxResults, options.maxBytes ?? DEFAULT_MAX_BYTES);
  if (omitted.total > 0) results.push(omissionNote(namespace, omitted, timestamp));
  const api = options.api ?? DEFAULT_REPORT_API;
  return {
    ...REPORT_TYPES[api],
    metadata: {
      name: POLICY_REPORT_NAME,
      namespace,
      labels: { [MANAGED_BY.label]: MANAGED_BY.value },
      ...(omitted.total > 0 && { annotations: { [OMITTED_ANNOTATION]: String(omitted.total) } }),
    },
    ...(api === 'openreports' && { source: SOURCE, configuration: { limits: { maxResults } } }),
    summary,
    results,
  };
}

/** Reports as a YAML stream, ready for `kubectl apply -f -`. */
export function renderPolicyReports(reports: readonly PolicyReport[]): string {
  // No anchors and aliases for the objects results share: plain YAML for every reader.
  return reports.map((report) => yamlPackage().stringify(report, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

function resultsOf(object: AuditedObject, timestamp: PolicyReportResult['timestamp'], enabledRules: number): PolicyReportResult[] {
  const resources = [objectReference(object)];
  const base = { source: SOURCE, policy: POLICY };
  const about = { category: CATEGORY, resources, timestamp };
  const results: PolicyReportResult[] = object.findings.map((finding) => ({
    ...base,
    rule: finding.rule,
    ...RESULT_OF_SEVERITY[finding.severity],
    message: finding.container !== undefined ? `${finding.container}: ${finding.message}` : finding.message,
    ...about,
    properties: {
      ...(finding.container !== undefined && { container: finding.container }),
      path: finding.path,
      fix: finding.fix,
      podpatternsSeverity: finding.severity,
    },
  }));
  for (const error of object.errors) {
    results.push({ ...base, rule: error.rule, result: 'error', scored: true, message: `rule ${error.rule} failed: ${error.message}`, ...about });
  }
  for (const exempted of object.exempted) {
    const { exemption } = exempted;
    results.push({
      ...base,
      rule: exempted.rule,
      result: 'skip',
      scored: false,
      message: `exempted by ${describeAppliedExemption(exemption)}: ${exempted.container !== undefined ? `${exempted.container}: ` : ''}${exempted.message}`,
      ...about,
      properties: {
        ...(exempted.container !== undefined && { container: exempted.container }),
        path: exempted.path,
        podpatternsSeverity: exempted.severity,
        exemptionSource: exemption.source,
        ...(exemption.reason !== undefined && { exemptionReason: exemption.reason }),
        ...(exemption.entry !== undefined && { exemption: exemption.entry }),
        ...(exemption.expires !== undefined && { exemptionExpires: exemption.expires }),
      },
    });
  }
  if (object.findings.length === 0 && object.errors.length === 0) {
    results.push({ ...base, result: 'pass', scored: true, message: `no finding from the ${enabledRules} enabled podpatterns rules`, ...about });
  }
  return results;
}

function objectReference({ resource, uid }: AuditedObject): ObjectReference {
  return {
    apiVersion: resource.apiVersion,
    kind: resource.kind,
    ...(resource.namespace !== undefined && { namespace: resource.namespace }),
    name: resource.name,
    ...(uid !== undefined && { uid }),
  };
}

type Omitted = PolicyReportSummary & { total: number };

/** The most important results that fit, in LISTING_ORDER; one slot is kept for the note when some do not fit. */
function capped(buckets: Record<PolicyResult, PolicyReportResult[]>, maxResults: number, maxBytes: number): { results: PolicyReportResult[]; omitted: Omitted } {
  const all = LISTING_ORDER.flatMap((result) => buckets[result]);
  const limit = all.length <= maxResults ? all.length : Math.max(maxResults - 1, 0);
  const results: PolicyReportResult[] = [];
  let bytes = 0;
  for (const result of all.slice(0, limit)) {
    bytes += JSON.stringify(result).length + 1;
    if (bytes > maxBytes) break;
    results.push(result);
  }
  const omitted: Omitted = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0, total: all.length - results.length };
  for (const result of all.slice(results.length)) omitted[result.result]++;
  return { results, omitted };
}

function omissionNote(namespace: string, omitted: Omitted, timestamp: PolicyReportResult['timestamp']): PolicyReportResult {
  const counts = LISTING_ORDER.filter((result) => omitted[result] > 0).map((result) => `${omitted[result]} ${result}`);
  return {
    source: SOURCE,
    policy: POLICY,
    result: 'skip',
    scored: false,
    category: CATEGORY,
    message:
      `${omitted.total} more results (${counts.join(', ')}) are not listed: a report is kept small so it never strains etcd. ` +
      `The summary counts them; \`podpatterns audit --cluster --namespace ${namespace}\` lists every finding.`,
    resources: [],
    timestamp,
    properties: { note: 'results omitted', omitted: String(omitted.total), omittedByResult: counts.join(', ') },
  };
}
