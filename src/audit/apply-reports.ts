import { PodpatternsError } from '../errors.js';
import type { AuditError } from '../report/types.js';
import { MANAGED_BY, POLICY_REPORT_NAME, REPORT_TYPES, type PolicyReport, type ReportApi } from '../report/policyreport.js';
import { ApiStatusError, type KubeApi } from '../kube/api.js';
import { clusterUri } from './cluster.js';
import { describeApiError } from '../kube/errors.js';
import { collectionPath } from '../kube/resources.js';

/** Where each report API is served, and what to install when it is not. */
const REPORT_RESOURCES: Readonly<Record<ReportApi, { resource: string; described: string; install: string }>> = {
  openreports: {
    resource: 'reports',
    described: 'OpenReports',
    install:
      'Kyverno 1.15+ and Kubewarden 1.30+ can install it, or apply config/install.yaml from a release of github.com/openreports/reports-api ' +
      '(the openreports.io CRDs, which Policy Reporter reads); or write wg-policy PolicyReports with --report-api wgpolicy',
  },
  wgpolicy: {
    resource: 'policyreports',
    described: 'PolicyReports',
    install:
      'Kyverno installs it, or apply config/crds/policyreport/wgpolicyk8s.io_policyreports.yaml from github.com/kyverno/kyverno ' +
      '(the wg-policy PolicyReport CRD, which Policy Reporter reads); or write OpenReports with --report-api openreports',
  },
};

/** `reports.openreports.io`: how RBAC and errors name the resource. */
export function reportResource(api: ReportApi): string {
  return `${REPORT_RESOURCES[api].resource}.${REPORT_TYPES[api].apiVersion.split('/')[0]}`;
}

/** Attempts at a write that keeps losing a race with another writer of the same report (409 Conflict). */
const WRITE_ATTEMPTS = 3;

export type ReportAction = 'created' | 'replaced' | 'emptied';

export interface AppliedReport {
  namespace: string;
  action: ReportAction;
  report: PolicyReport;
}

export interface ApplyResult {
  applied: AppliedReport[];
  /** Reports that could not be written (forbidden in their namespace); the others still were. */
  errors: AuditError[];
}

/**
 * Fails with what to install when the API server does not serve the report API. Discovery (/apis/<group>/<version>)
 * is open to every authenticated user (the system:discovery ClusterRole), so a 404 means no CRD.
 */
export async function requireReportApi(api: KubeApi, reportApi: ReportApi): Promise<void> {
  const { apiVersion } = REPORT_TYPES[reportApi];
  const { resource, described, install } = REPORT_RESOURCES[reportApi];
  const path = `/apis/${apiVersion}`;
  try {
    const list = await api.call<{ resources?: Array<{ name?: string }> }>({ verb: 'get', path });
    if (list.resources?.some((served) => served.name === resource)) return;
  } catch (error) {
    if (!(error instanceof ApiStatusError && error.code === 404)) throw describeApiError(error, api, `get ${path} (is the ${described} API served?)`);
  }
  throw new PodpatternsError(
    'PODPATTERNS_ERR_CLUSTER',
    `the API server ${api.server} does not serve ${described} (${reportResource(reportApi)}, version ${apiVersion.split('/')[1]}): install the CRD first. ${install}`,
  );
}

/**
 * Creates or replaces the `podpatterns` report of each namespace. With `wholeCluster` (every namespace was
 * read), a podpatterns report left in a namespace that has nothing to audit any more is emptied, so dashboards
 * never show findings about workloads that are gone. Every report is of the API `reportApi` names.
 */
export async function applyPolicyReports(
  api: KubeApi,
  reports: readonly PolicyReport[],
  options: { reportApi: ReportApi; wholeCluster: boolean; empty: (namespace: string) => PolicyReport },
): Promise<ApplyResult> {
  const qualified = reportResource(options.reportApi);
  const result: ApplyResult = { applied: [], errors: [] };
  const write = async (report: PolicyReport, emptied: boolean) => {
    const namespace = report.metadata.namespace;
    try {
      const action = await writeReport(api, options.reportApi, report);
      result.applied.push({ namespace, action: emptied ? 'emptied' : action, report });
    } catch (error) {
      if (!(error instanceof ApiStatusError && error.code === 403)) throw describeApiError(error, api, `write ${qualified} ${namespace}/${POLICY_REPORT_NAME}`);
      result.errors.push({ file: clusterUri(namespace, report.kind, POLICY_REPORT_NAME), code: 'PODPATTERNS_ERR_CLUSTER', message: `forbidden to ${error.call.verb} ${qualified} in namespace ${namespace}: ${error.serverMessage}` });
    }
  };
  for (const report of reports) await write(report, false);
  if (options.wholeCluster) {
    const written = new Set(reports.map((report) => report.metadata.namespace));
    for (const namespace of await namespacesWithReports(api, options.reportApi)) if (!written.has(namespace)) await write(options.empty(namespace), true);
  }
  return result;
}

async function writeReport(api: KubeApi, reportApi: ReportApi, report: PolicyReport): Promise<Exclude<ReportAction, 'emptied'>> {
  const collection = collectionPath(REPORT_TYPES[reportApi].apiVersion, REPORT_RESOURCES[reportApi].resource, report.metadata.namespace);
  const path = `${collection}/${POLICY_REPORT_NAME}`;
  for (let attempt = 1; ; attempt++) {
    const existing = await api.call<{ metadata?: { resourceVersion?: string } }>({ verb: 'get', path, accept: METADATA }).catch((error: unknown) => {
      if (error instanceof ApiStatusError && error.code === 404) return undefined;
      throw error;
    });
    try {
      if (!existing) {
        await api.call({ verb: 'create', path: collection, body: report });
        return 'created';
      }
      // Custom resources refuse an update without the resourceVersion read (no unconditional update).
      const body = { ...report, metadata: { ...report.metadata, resourceVersion: existing.metadata?.resourceVersion } };
      await api.call({ verb: 'update', path, body });
      return 'replaced';
    } catch (error) {
      // Written by someone else between the read and the write (409 Conflict or AlreadyExists): read again.
      if (attempt < WRITE_ATTEMPTS && error instanceof ApiStatusError && error.code === 409) continue;
      throw error;
    }
  }
}

/** Metadata only: a report may hold a megabyte of results. */
const METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
const METADATA_ONLY = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const METADATA_PAGE_SIZE = 500;

async function namespacesWithReports(api: KubeApi, reportApi: ReportApi): Promise<string[]> {
  const path = collectionPath(REPORT_TYPES[reportApi].apiVersion, REPORT_RESOURCES[reportApi].resource);
  const namespaces: string[] = [];
  let token: string | undefined;
  do {
    const query = { labelSelector: `${MANAGED_BY.label}=${MANAGED_BY.value}`, limit: METADATA_PAGE_SIZE, continue: token };
    const page = await api
      .call<{ items?: Array<{ metadata?: { name?: string; namespace?: string } }>; metadata?: { continue?: string } }>({ verb: 'list', path, query, accept: METADATA_ONLY })
      .catch((error: unknown) => {
        throw describeApiError(error, api, `list ${reportResource(reportApi)} in all namespaces (to empty podpatterns reports of namespaces without workloads)`);
      });
    for (const item of page.items ?? []) if (item.metadata?.name === POLICY_REPORT_NAME && item.metadata.namespace) namespaces.push(item.metadata.namespace);
    token = page.metadata?.continue || undefined;
  } while (token !== undefined);
  return namespaces;
}
