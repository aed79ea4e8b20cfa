import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyReport, ReportApi } from '../../../src/report/policyreport.js';
import { ALL_RULES } from '../../../src/rules/index.js';
import { E2eHarness } from '../harness.js';
import { refusal } from '../support/cluster.js';
import { conflictingContainers, pod } from '../support/manifests.js';
import { writeKubeconfig } from './access.js';
import { installReportCrds, reportCrdsInstalled } from './report-crds.js';
import { runPodpatterns } from './run.js';
import { createScale, createShop } from './workloads.js';

const harness = await E2eHarness.start('policy-reports');
const reports = harness.clients.config.makeApiClient(CustomObjectsApi);

let kubeconfig: string;

beforeAll(async () => {
  kubeconfig = join(harness.directory, 'admin.kubeconfig');
  await writeKubeconfig(kubeconfig, harness.clients.config, { name: 'admin', token: harness.clients.config.getCurrentUser()!.token! });
});

afterAll(async () => {
  await harness.stop();
});

interface ApiCase {
  api: ReportApi;
  /** What selects the API on the command line: OpenReports is the default. */
  flags: string[];
  kind: string;
  resource: { group: string; version: string; plural: string };
  /** The start of the message when the cluster does not serve the API. */
  missing: RegExp;
}

const CASES: ApiCase[] = [
  {
    api: 'openreports',
    flags: [],
    kind: 'Report',
    resource: { group: 'openreports.io', version: 'v1alpha1', plural: 'reports' },
    missing: /does not serve OpenReports \(reports\.openreports\.io, version v1alpha1\): install the CRD first\. Kyverno 1\.15\+ and Kubewarden 1\.30\+ can install it/,
  },
  {
    api: 'wgpolicy',
    flags: ['--report-api', 'wgpolicy'],
    kind: 'PolicyReport',
    resource: { group: 'wgpolicyk8s.io', version: 'v1alpha2', plural: 'policyreports' },
    missing: /does not serve PolicyReports \(policyreports\.wgpolicyk8s\.io, version v1alpha2\): install the CRD first\. Kyverno installs it/,
  },
];

/** A report without what the API server adds (uid, resourceVersion, managedFields, …) and without the run's time. */
function comparable(report: PolicyReport): unknown {
  const { name, namespace, labels, annotations } = report.metadata;
  return {
    ...report,
    metadata: { name, namespace, labels, ...(annotations && { annotations }) },
    results: report.results.map(({ timestamp, ...result }) => ({ ...result, timestamp: { nanos: timestamp.nanos } })),
  };
}

describe.each(CASES)('podpatterns audit --cluster --output policyreport, $api', ({ api, flags, kind, resource, missing }) => {
  const shop = harness.namespace(`${api}-shop`);
  const scale = harness.namespace(`${api}-scale`);
  const gone = harness.namespace(`${api}-gone`);
  let uninstall: (() => Promise<void>) | undefined;

  const audit = (...args: string[]) => runPodpatterns(harness.cluster, ['audit', '--cluster', '--kubeconfig', kubeconfig, '--fail-on', 'none', '-o', 'policyreport', ...flags, ...args]);
  const storedReport = async (namespace: string) => (await reports.getNamespacedCustomObject({ ...resource, namespace, name: 'podpatterns' })) as PolicyReport;

  beforeAll(async () => {
    await harness.createNamespaces(shop, scale, gone);
    await createShop(harness.clients, shop);
    await createScale(harness.clients, scale);
    await harness.clients.core.createNamespacedPod({ namespace: gone, body: pod('leftover', conflictingContainers()) });
  });

  afterAll(async () => {
    await uninstall?.();
  });

  it('refuses --apply with exit 2 and names the CRD to install when the cluster does not serve the API', async () => {
    // The control plane of the e2e run starts without the CRDs; an existing cluster may run Kyverno, which has them.
    if (await reportCrdsInstalled(harness.clients, api)) throw new Error(`this cluster already serves ${resource.plural}.${resource.group}: the test needs a cluster without it`);
    const run = await audit('-n', shop, '--apply');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(missing);
  });

  it(`prints one ${kind} per namespace as YAML, in namespace order, with fail, warn and pass results and a summary`, async () => {
    const run = await audit('-n', shop, '-n', scale);
    expect(run.code).toBe(0);
    const printed = parseAllDocuments(run.stdout).map((document) => document.toJS() as PolicyReport);
    expect(printed.map((report) => [report.apiVersion, report.kind, report.metadata.namespace, report.metadata.name])).toEqual([
      [`${resource.group}/${resource.version}`, kind, scale, 'podpatterns'],
      [`${resource.group}/${resource.version}`, kind, shop, 'podpatterns'],
    ]);
    const [scaleReport, shopReport] = printed as [PolicyReport, PolicyReport];
    expect(shopReport.summary).toEqual({ pass: 1, fail: 3, warn: 3, error: 0, skip: 0 });
    const web = await harness.clients.apps.readNamespacedDeployment({ namespace: shop, name: 'web' });
    expect(shopReport.results[0]).toMatchObject({
      source: 'podpatterns',
      policy: 'podpatterns',
      rule: 'port-conflict',
      result: 'fail',
      severity: 'high',
      scored: true,
      resources: [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: shop, name: 'web', uid: web.metadata!.uid }],
      properties: { container: 'metrics-proxy', path: 'spec.template.spec.containers[1].ports[0].containerPort', podpatternsSeverity: 'deny' },
    });
    expect(shopReport.results.find((result) => result.result === 'pass')).toMatchObject({ resources: [{ kind: 'Pod', name: 'clean' }], message: `no finding from the ${ALL_RULES.length} enabled podpatterns rules` });
    expect(scaleReport.results.map((result) => [result.resources[0]!.kind, result.rule, result.result, result.severity])).toEqual([
      ['HorizontalPodAutoscaler', 'hpa-pod-average-on-multi-container', 'warn', 'medium'],
      ['Deployment', undefined, 'pass', undefined],
    ]);
    if (api === 'openreports') expect(shopReport).toMatchObject({ source: 'podpatterns', configuration: { limits: { maxResults: 1000 } } });
  });

  describe('with the CRDs installed', () => {
    beforeAll(async () => {
      uninstall = await installReportCrds(harness.clients, api);
    });

    it('installs a CRD that enforces its schema: a result outside the enum is refused', async () => {
      const body = { apiVersion: `${resource.group}/${resource.version}`, kind, metadata: { name: 'not-podpatterns' }, results: [{ policy: 'p', result: 'maybe' }] };
      const refused = await refusal(reports.createNamespacedCustomObject({ ...resource, namespace: gone, body }));
      expect([refused.code, refused.message]).toEqual([422, expect.stringContaining('Unsupported value: "maybe"')]);
    });

    it('creates the report of each namespace with --apply, stored exactly as printed', async () => {
      const printed = parseAllDocuments((await audit('-n', shop, '-n', scale)).stdout).map((document) => document.toJS() as PolicyReport);
      const run = await audit('-n', shop, '-n', scale, '--apply');
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`${kind} ${scale}/podpatterns created: 0 fail, 1 warn, 0 error, 0 skip, 1 pass\n` + `${kind} ${shop}/podpatterns created: 3 fail, 3 warn, 0 error, 0 skip, 1 pass\n`);
      // The API server prunes fields its schema lacks: equal means nothing was lost.
      for (const expected of printed) expect(comparable(await storedReport(expected.metadata.namespace))).toEqual(comparable(expected));
    });

    it('replaces the report on the next run instead of adding one, so a namespace never has more than one', async () => {
      const before = await storedReport(shop);
      const run = await audit('-n', shop, '--apply');
      expect(run.stdout).toBe(`${kind} ${shop}/podpatterns replaced: 3 fail, 3 warn, 0 error, 0 skip, 1 pass\n`);
      const after = await storedReport(shop);
      expect(after.metadata).toMatchObject({ uid: (before.metadata as { uid?: string }).uid });
      expect((after.metadata as { resourceVersion?: string }).resourceVersion).not.toBe((before.metadata as { resourceVersion?: string }).resourceVersion);
      const listed = (await reports.listNamespacedCustomObject({ ...resource, namespace: shop })) as { items: unknown[] };
      expect(listed.items).toHaveLength(1);
    });

    it('empties the report of a namespace whose workloads are gone, when it audits every namespace', async () => {
      expect((await audit('--all-namespaces', '--apply')).stdout).toContain(`${kind} ${gone}/podpatterns created: 1 fail`);
      await harness.clients.core.deleteNamespacedPod({ namespace: gone, name: 'leftover', gracePeriodSeconds: 0 });
      const run = await audit('--all-namespaces', '--apply');
      expect(run.stdout).toContain(`${kind} ${gone}/podpatterns emptied: 0 fail, 0 warn, 0 error, 0 skip, 0 pass\n`);
      expect(await storedReport(gone)).toMatchObject({ summary: { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 } });
      expect((await storedReport(gone)).results ?? []).toEqual([]);
    });

    it('keeps a report to --max-report-results, the worst first, and says how many results it left out', async () => {
      const run = await audit('-n', shop, '--apply', '--max-report-results', '3');
      expect(run.code).toBe(0);
      const stored = await storedReport(shop);
      expect(stored.metadata.annotations).toEqual({ 'podpatterns.io/omitted-results': '5' });
      expect(stored.summary).toEqual({ pass: 1, fail: 3, warn: 3, error: 0, skip: 0 });
      expect(stored.results.map((result) => result.result)).toEqual(['fail', 'fail', 'skip']);
      expect(stored.results[2]).toMatchObject({ properties: { note: 'results omitted', omitted: '5', omittedByResult: '1 fail, 3 warn, 1 pass' } });
      if (api === 'openreports') expect(stored.configuration).toEqual({ limits: { maxResults: 3 } });
    });
  });
});
