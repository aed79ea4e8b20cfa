import { writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigAccess } from '../../../src/kube/kubeconfig.js';
import { KubeApi, type ApiCall } from '../../../src/kube/api.js';
import { auditCluster, type ClusterAudit, type NamespaceScope } from '../../../src/audit/cluster.js';
import { auditVersions } from '../../../src/audit/cluster-versions.js';
import { formatVersion, parseVersion } from '../../../src/model/version.js';
import { defaultPolicy } from '../../../src/policy/policy.js';
import type { AuditSettings } from '../../../src/audit/files.js';
import { ALL_RULES } from '../../../src/rules/index.js';
import { E2eHarness } from '../harness.js';
import { kubeConfigFor } from '../support/cluster.js';
import { conflictingContainers, deployment } from '../support/manifests.js';
import { namespaceAuditor, writeKubeconfig } from './access.js';
import { recordedRequests, runPodpatterns, serveUntilVersionsRead } from './run.js';
import { createBatch, createScale, createShop } from './workloads.js';

const harness = await E2eHarness.start('cluster-audit');
const shop = harness.namespace('shop');
const batch = harness.namespace('batch');
const scale = harness.namespace('scale');
const locked = harness.namespace('locked');
const kubernetesVersion = parseVersion(harness.cluster.kubernetesVersion)!;
const settings: AuditSettings = { context: { kubernetesVersion, minKubeletVersion: kubernetesVersion }, policy: defaultPolicy(ALL_RULES), rules: ALL_RULES };

interface JsonOutput {
  findings: Array<{ rule: string; severity: string; resource: { kind: string; namespace: string; name: string }; container: string | null; file: string; line: number | null }>;
  errors: Array<{ file: string; code: string | null; message: string }>;
  summary: { resources: number; deny: number };
}

let adminKubeconfig: string;
let auditor: Awaited<ReturnType<typeof namespaceAuditor>>;
let auditorKubeconfig: string;

beforeAll(async () => {
  await harness.createNamespaces(shop, batch, scale, locked);
  await createShop(harness.clients, shop);
  await createBatch(harness.clients, batch);
  await createScale(harness.clients, scale);
  await harness.clients.apps.createNamespacedDeployment({ namespace: locked, body: deployment('secret-web', conflictingContainers(), 1) });
  adminKubeconfig = join(harness.directory, 'admin.kubeconfig');
  await writeKubeconfig(adminKubeconfig, harness.clients.config, { name: 'admin', token: adminToken(harness.clients.config) }, shop);
  auditor = await namespaceAuditor(harness.clients, harness.cluster, shop);
  auditorKubeconfig = join(harness.directory, 'auditor.kubeconfig');
  await writeKubeconfig(auditorKubeconfig, harness.clients.config, auditor);
});

afterAll(async () => {
  await auditor?.cleanup();
  await harness.stop();
});

function adminToken(config: KubeConfig): string {
  const token = config.getCurrentUser()?.token;
  if (!token) throw new Error('the e2e cluster user has no bearer token');
  return token;
}

function audit(scope: NamespaceScope, options: { pageSize?: number; config?: KubeConfig; onRequest?: (call: ApiCall) => void } = {}): Promise<ClusterAudit> {
  const api = new KubeApi({ access: kubeconfigAccess(options.config ?? harness.clients.config), source: 'the e2e kubeconfig' }, { ...(options.onRequest && { onRequest: options.onRequest }) });
  return auditCluster(api, { scope, pageSize: options.pageSize ?? 500, settings });
}

/** `Kind/name rule` of each finding in a namespace. */
function findingsIn(result: ClusterAudit, namespace: string): string[] {
  return result.report.findings.filter((finding) => finding.resource.namespace === namespace).map((finding) => `${finding.resource.kind}/${finding.resource.name} ${finding.rule}`);
}

function auditedIn(result: ClusterAudit, namespace: string): string[] {
  return (result.namespaces.get(namespace) ?? []).map(({ resource }) => `${resource.kind}/${resource.name}`).sort();
}

describe('podpatterns audit --cluster against a real kube-apiserver', () => {
  let result: ClusterAudit;
  beforeAll(async () => {
    result = await audit({ allNamespaces: false, namespaces: [shop, batch, scale] });
  });

  it('audits a Deployment once, not the ReplicaSet and Pod it owns', () => {
    expect(findingsIn(result, shop).filter((finding) => finding.endsWith('port-conflict'))).toEqual([
      'Deployment/web port-conflict',
      'StatefulSet/orders-db port-conflict',
      'Pod/debug port-conflict',
    ]);
    expect(auditedIn(result, shop)).toEqual(['Deployment/web', 'Pod/clean', 'Pod/debug', 'StatefulSet/orders-db']);
  });

  it("audits a StatefulSet whose controller is an operator's custom resource, and not the StatefulSet's Pods", () => {
    expect(auditedIn(result, shop)).toContain('StatefulSet/orders-db');
    expect(auditedIn(result, shop).filter((name) => name.startsWith('Pod/orders-db'))).toEqual([]);
  });

  it('audits a CronJob instead of its Job and Pod, and a Job without a controller itself', () => {
    expect(auditedIn(result, batch)).toEqual(['CronJob/nightly', 'Job/migrate']);
    expect(findingsIn(result, batch).filter((finding) => finding.endsWith('classic-sidecar-in-job'))).toEqual([
      'CronJob/nightly classic-sidecar-in-job',
      'Job/migrate classic-sidecar-in-job',
    ]);
  });

  it('checks an HPA against the two-container Deployment it scales in its namespace', () => {
    const hpa = result.report.findings.find((finding) => finding.rule === 'hpa-pod-average-on-multi-container');
    expect(hpa).toMatchObject({ resource: { kind: 'HorizontalPodAutoscaler', namespace: scale, name: 'api' }, path: 'spec.metrics[0].type', file: `cluster://${scale}/HorizontalPodAutoscaler/api` });
    expect(hpa!.message).toMatch(/'app', 'log-shipper'/);
    expect(hpa!.line).toBeUndefined();
  });

  it('names each finding after the object it was read from, with no line', () => {
    for (const finding of result.report.findings) {
      expect(finding.file).toBe(`cluster://${finding.resource.namespace}/${finding.resource.kind}/${finding.resource.name}`);
      expect(finding.line).toBeUndefined();
    }
  });

  it('reads a namespace in pages of two and finds exactly what one page finds', async () => {
    const calls: ApiCall[] = [];
    const paged = await audit({ allNamespaces: false, namespaces: [shop] }, { pageSize: 2, onRequest: (call) => calls.push(call) });
    const podLists = calls.filter((call) => call.path === `/api/v1/namespaces/${shop}/pods`);
    // Five pods in pages of two: three requests, the last two continuing where the one before ended.
    expect(podLists.map((call) => [call.query?.limit, call.query?.continue === undefined ? 'first' : 'continued'])).toEqual([
      [2, 'first'],
      [2, 'continued'],
      [2, 'continued'],
    ]);
    expect(paged.read).toBe(8);
    expect(findingsIn(paged, shop)).toEqual(findingsIn(result, shop));
    expect(auditedIn(paged, shop)).toEqual(auditedIn(result, shop));
  });

  it('reads the Kubernetes version from the API server and, with no node, takes it for the kubelets', async () => {
    const versions = await auditVersions(new KubeApi({ access: kubeconfigAccess(harness.clients.config), source: 'the e2e kubeconfig' }), {});
    const nodes = (await harness.clients.core.listNode()).items;
    expect(versions.kubernetesVersion).toEqual(kubernetesVersion);
    if (nodes.length === 0) expect(versions.minKubeletVersion).toEqual(kubernetesVersion);
    expect(versions.nodes).toBe(nodes.length);
  });

  it("runs as the real entry point on the kubeconfig context's namespace, in pages, and exits 1 for a deny", async () => {
    const started = new Date();
    const run = await runPodpatterns(harness.cluster, ['audit', '--cluster', '--kubeconfig', adminKubeconfig, '--output', 'json', '--page-size', '2']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const output = JSON.parse(run.stdout) as JsonOutput;
    expect(output.findings.filter((finding) => finding.rule === 'port-conflict').map((finding) => [finding.file, finding.line])).toEqual([
      [`cluster://${shop}/Deployment/web`, null],
      [`cluster://${shop}/StatefulSet/orders-db`, null],
      [`cluster://${shop}/Pod/debug`, null],
    ]);
    expect(output.summary.resources).toBe(4);
    if (harness.cluster.auditLog !== undefined) {
      const lists = (await recordedRequests(harness.cluster.auditLog, started)).filter(
        (event) => event.userAgent === 'podpatterns' && event.verb === 'list' && event.objectRef?.resource === 'pods' && event.objectRef.namespace === shop,
      );
      expect(lists.length).toBeGreaterThanOrEqual(3);
      expect(lists.every((event) => event.requestURI.includes('limit=2'))).toBe(true);
      expect(lists.some((event) => event.requestURI.includes('continue='))).toBe(true);
    }
  });

  it('prints the same findings as text, without line numbers', async () => {
    const run = await runPodpatterns(harness.cluster, ['audit', '--cluster', '--kubeconfig', adminKubeconfig, '--namespace', scale, '--fail-on', 'none']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^cluster://${scale}/HorizontalPodAutoscaler/api +warn +hpa-pod-average-on-multi-container +HPA averages cpu of 'app' with sidecars\n +fix: `, 'm'));
    expect(run.stdout).not.toMatch(new RegExp(`cluster://${scale}/HorizontalPodAutoscaler/api:\\d`));
    expect(run.stdout).toMatch(/finding.* in 2 resources\.\n$/);
  });
});

describe('a user allowed to list workloads in one namespace only', () => {
  it('reports the forbidden namespace, skips it, still audits the allowed one, and exits 2', async () => {
    const run = await runPodpatterns(harness.cluster, ['audit', '--cluster', '--kubeconfig', auditorKubeconfig, '-n', shop, '-n', locked, '-o', 'json']);
    expect(run.code).toBe(2);
    const output = JSON.parse(run.stdout) as JsonOutput;
    expect(output.findings.map((finding) => finding.resource.namespace)).not.toContain(locked);
    expect(output.findings.filter((finding) => finding.rule === 'port-conflict').map((finding) => finding.resource.name)).toEqual(['web', 'orders-db', 'debug']);
    expect(output.errors).toEqual([
      {
        file: `cluster://${locked}`,
        line: null,
        code: 'PODPATTERNS_ERR_CLUSTER',
        rule: null,
        message: expect.stringMatching(new RegExp(`^namespace ${locked} skipped: forbidden to list horizontalpodautoscalers.autoscaling, cronjobs.batch, deployments.apps, .*pods \\(.*cannot list resource`)),
      },
    ]);
    expect(run.stderr).toContain(`error cluster://${locked}: namespace ${locked} skipped`);
    expect(run.stderr).toContain(`may not list nodes, so the kubelets' versions are unknown (nodes is forbidden: User "${auditor.name}" cannot list resource "nodes"`);
  });

  it('goes namespace by namespace when it may not list across all of them', async () => {
    const user = kubeConfigFor({ kubeconfigFile: auditorKubeconfig });
    const result = await audit({ allNamespaces: true }, { config: user });
    expect(result.wholeCluster).toBe(false);
    expect(auditedIn(result, shop)).toEqual(['Deployment/web', 'Pod/clean', 'Pod/debug', 'StatefulSet/orders-db']);
    const skipped = result.report.errors.map((error) => error.file);
    expect(skipped).toEqual(expect.arrayContaining([`cluster://${locked}`, `cluster://${batch}`, 'cluster://kube-system']));
    expect(skipped).not.toContain(`cluster://${shop}`);
    expect([...result.namespaces.keys()]).toEqual([shop]);
  });

  it('fails naming the verb and resource the API server refused when it may not even list namespaces', async () => {
    await harness.clients.core.createNamespacedServiceAccount({ namespace: shop, body: { metadata: { name: 'nobody' } } });
    const token = await harness.clients.core.createNamespacedServiceAccountToken({ namespace: shop, name: 'nobody', body: { spec: { audiences: [] } } });
    const file = join(harness.directory, 'nobody.kubeconfig');
    await writeKubeconfig(file, harness.clients.config, { name: 'nobody', token: token.status!.token! });
    const run = await runPodpatterns(harness.cluster, ['audit', '--cluster', '--kubeconfig', file, '--all-namespaces', '--min-kubelet-version', '1.33']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^podpatterns: forbidden to list namespaces \(to audit them one by one, .*\): namespaces is forbidden: User "system:serviceaccount:[^"]+:nobody" cannot list resource "namespaces" .*\[PODPATTERNS_ERR_CLUSTER\]\n$/);
  });
});

describe('one way to reach the cluster, for serve and audit --cluster', () => {
  it('both find the API server through the same merged KUBECONFIG: a missing file skipped, the first definition of a name winning', async () => {
    // The same context, cluster and user names as admin.kubeconfig, pointing nowhere: merged after it, it must lose.
    const decoy = join(harness.directory, 'decoy.kubeconfig');
    await writeFile(
      decoy,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'e2e', cluster: { server: 'https://127.0.0.1:1' } }],
        users: [{ name: 'admin', user: { token: 'not-the-admin' } }],
        contexts: [{ name: 'admin', context: { cluster: 'e2e', user: 'admin', namespace: locked } }],
        'current-context': 'admin',
      }),
    );
    const KUBECONFIG = [join(harness.directory, 'missing.kubeconfig'), adminKubeconfig, decoy].join(delimiter);

    const audit = await runPodpatterns(harness.cluster, ['audit', '--cluster', '-o', 'json', '--fail-on', 'none'], { KUBECONFIG });
    expect([audit.code, audit.stderr]).toEqual([0, '']);
    expect((JSON.parse(audit.stdout) as JsonOutput).findings.map((finding) => finding.resource.namespace)).toEqual(expect.arrayContaining([shop]));

    const logs = await serveUntilVersionsRead(harness.cluster, harness.directory, { KUBECONFIG });
    expect(logs.find((line) => line.msg === 'cluster versions read from the API server')).toMatchObject({
      server: harness.clients.config.getCurrentCluster()!.server,
      kubernetesVersion: formatVersion(kubernetesVersion),
    });
  });

  it('both refuse a --kubeconfig that does not exist, with the same message, where KUBECONFIG would skip it', async () => {
    const missing = join(harness.directory, 'missing.kubeconfig');
    const audit = await runPodpatterns(harness.cluster, ['audit', '--cluster', '--kubeconfig', missing]);
    const serve = await runPodpatterns(harness.cluster, ['serve', '--kubeconfig', missing, '--host=127.0.0.1', '--port=0', '--metrics-port=0', `--dev-ca-file=${join(harness.directory, 'dev-ca.pem')}`]);
    expect([audit.code, audit.stdout]).toEqual([2, '']);
    expect(audit.stderr).toBe(`podpatterns: --kubeconfig ${missing}: no such file [PODPATTERNS_ERR_CLUSTER]\n`);
    expect(serve.code).toBe(2);
    expect(serve.stderr).toBe(audit.stderr);
  });
});
