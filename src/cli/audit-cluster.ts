import { formatVersion, type KubeVersion } from '../model/version.js';
import type { AuditSettings } from '../audit/files.js';
import type { AuditError, AuditReport } from '../report/types.js';
import { DEFAULT_REPORT_API, policyReport, renderPolicyReports, type PolicyReport, type ReportApi } from '../report/policyreport.js';
import { hasFailingFindings, type FailOn } from '../report/summary.js';
import { KubeApi } from '../kube/api.js';
import { auditCluster, type NamespaceScope } from '../audit/cluster.js';
import { auditVersions } from '../audit/cluster-versions.js';
import { loadKubeConfig } from '../kube/kubeconfig.js';
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { ProgressLine } from './progress.js';
import { applyPolicyReports, requireReportApi } from '../audit/apply-reports.js';

export interface ClusterAuditFlags {
  namespace?: string[];
  allNamespaces?: boolean;
  kubeconfig?: string;
  context?: string;
  pageSize: number;
  output: 'text' | 'json' | 'sarif' | 'policyreport';
  apply?: boolean;
  /** The API of `--output policyreport`; default DEFAULT_REPORT_API. */
  reportApi?: ReportApi;
  maxReportResults: number;
  kubernetesVersion?: KubeVersion;
  minKubeletVersion?: KubeVersion;
  failOn: FailOn;
}

interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** What the `audit` command lends the cluster audit, so both print the same way. */
export interface ClusterAuditIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: Output;
  stderr: Output;
  /** The policy and rules for the versions found (checks them as for a file audit). */
  settings(versions: { kubernetesVersion: KubeVersion; minKubeletVersion: KubeVersion }): Promise<AuditSettings>;
  /** `--output text|json|sarif`. */
  render(report: AuditReport): string;
  renderErrors(errors: readonly AuditError[]): string;
}

/**
 * `podpatterns audit --cluster`. Exit codes as for files: 0 no finding at or above --fail-on, 1 such findings,
 * 2 something could not be checked or written (forbidden namespaces are skipped, reported, and exit 2 after the
 * full output). Connection, credential and permission failures throw a PodpatternsError (exit 2).
 */
export async function runClusterAudit(flags: ClusterAuditFlags, io: ClusterAuditIo): Promise<number> {
  const loaded = await loadKubeConfig({ kubeconfig: flags.kubeconfig, context: flags.context }, { env: io.env });
  const api = new KubeApi(loaded);
  const versions = await auditVersions(api, flags);
  for (const warning of versions.warnings) io.stderr.write(`podpatterns: warning: ${warning}\n`);
  const settings = await io.settings({ kubernetesVersion: versions.kubernetesVersion, minKubeletVersion: versions.minKubeletVersion });
  const reportApi = flags.reportApi ?? DEFAULT_REPORT_API;
  if (flags.apply) await requireReportApi(api, reportApi);

  const progress = io.stderr.isTTY ? new ProgressLine(io.stderr) : undefined;
  if (progress) {
    const nodes = versions.nodes !== undefined ? ` (${versions.nodes} nodes)` : '';
    io.stderr.write(
      `podpatterns: ${api.server} (${loaded.source}): Kubernetes ${formatVersion(settings.context.kubernetesVersion)}, ` +
        `oldest kubelet ${formatVersion(settings.context.minKubeletVersion)}${nodes}\n`,
    );
  }
  const scope: NamespaceScope = flags.allNamespaces
    ? { allNamespaces: true }
    : { allNamespaces: false, namespaces: flags.namespace ?? [loaded.namespace] };
  const started = new Date();
  let audit;
  try {
    audit = await auditCluster(api, { scope, pageSize: flags.pageSize, settings, ...(progress && { onProgress: (step) => progress.update(step) }) });
  } finally {
    progress?.done();
  }
  const errors = [...audit.report.errors];

  if (flags.output === 'policyreport') {
    const options = {
      api: reportApi,
      timestamp: started,
      enabledRules: settings.rules.filter((rule) => settings.policy.rules[rule.id]?.enabled).length,
      maxResults: flags.maxReportResults,
    };
    const reports = [...audit.namespaces.keys()].sort().map((namespace) => policyReport(namespace, audit.namespaces.get(namespace)!, options));
    if (flags.apply) {
      const applied = await applyPolicyReports(api, reports, { reportApi, wholeCluster: audit.wholeCluster, empty: (namespace) => policyReport(namespace, [], options) });
      for (const { namespace, action, report } of applied.applied) io.stdout.write(`${report.kind} ${namespace}/${report.metadata.name} ${action}: ${describeSummary(report)}\n`);
      errors.push(...applied.errors);
    } else {
      io.stdout.write(renderPolicyReports(reports));
    }
  } else {
    io.stdout.write(io.render(audit.report));
  }

  if (errors.length > 0) {
    io.stderr.write(io.renderErrors(errors));
    return EXIT_USAGE;
  }
  return hasFailingFindings(audit.report, flags.failOn) ? EXIT_FINDINGS : EXIT_OK;
}

function describeSummary(report: PolicyReport): string {
  const { summary } = report;
  return `${summary.fail} fail, ${summary.warn} warn, ${summary.error} error, ${summary.skip} skip, ${summary.pass} pass`;
}
