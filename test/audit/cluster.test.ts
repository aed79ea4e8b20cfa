/**
 * `audit --cluster` against a small fake API server over real HTTPS (node:https serving lists with limit and
 * continue, metav1.Status refusals, gzip), to pin down owner dedupe, paging and refusals without a cluster.
 * test/e2e/cluster-audit runs the same against a real kube-apiserver.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createPlainServer, type ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KubeApi } from '../../src/kube/api.js';
import { runClusterAudit, type ClusterAuditFlags, type ClusterAuditIo } from '../../src/cli/audit-cluster.js';
import { auditCluster, type ClusterAudit, type NamespaceScope } from '../../src/audit/cluster.js';
import { loadKubeConfig } from '../../src/kube/kubeconfig.js';
import { PodpatternsError } from '../../src/errors.js';
import { defaultPolicy } from '../../src/policy/policy.js';
import type { AuditSettings } from '../../src/audit/files.js';
import { renderJson } from '../../src/report/json.js';
import { renderSarif } from '../../src/report/sarif.js';
import { renderText, renderTextErrors } from '../../src/report/text.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { generateCertificates } from '../../src/tls/certificates.js';

type Json = Record<string, unknown>;

interface FakeCluster {
  /** Stored objects by `<api root>/<resource>`, e.g. `/apis/apps/v1/deployments`, without kind or apiVersion (as list items come). */
  objects: Map<string, Json[]>;
  /** Answers 403 to a list of `resource` in `namespace` (undefined: across all namespaces). */
  forbid: (resource: string, namespace: string | undefined) => boolean;
  /** Continue tokens answered once with 410 Expired (and a token to go on with). */
  expired: Set<string>;
  requests: string[];
  token: string;
  nodes: string[];
}

const TOKEN = 'fake-cluster-token';
const fake: FakeCluster = { objects: new Map(), forbid: () => false, expired: new Set(), requests: [], token: TOKEN, nodes: [] };

function meta(namespace: string, name: string, owner?: { kind: string; name: string; uid: string; controller?: boolean }): Json {
  return {
    name,
    namespace,
    uid: `uid-${namespace}-${name}`,
    ...(owner && { ownerReferences: [{ apiVersion: 'v1', kind: owner.kind, name: owner.name, uid: owner.uid, controller: owner.controller ?? true }] }),
  };
}

const clashing = [
  { name: 'app', image: 'registry.example.com/web:1.4.2', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '100m', memory: '64Mi' } } },
  { name: 'proxy', image: 'registry.example.com/proxy:0.9.0', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '100m', memory: '64Mi' } } },
];
const clean = [{ name: 'app', image: 'registry.example.com/web:1.4.2', resources: { requests: { cpu: '100m', memory: '64Mi' } } }];

const template = (containers: unknown[]) => ({ metadata: { labels: { app: 'x' } }, spec: { containers } });

function put(path: string, ...items: Json[]): void {
  fake.objects.set(path, [...(fake.objects.get(path) ?? []), ...items]);
}

/** shop: a Deployment → ReplicaSet → Pod chain, an orphan Pod of a deleted ReplicaSet, a Pod with a non-controller owner, an operator's StatefulSet and its Pod, a clean bare Pod. */
function seed(): void {
  fake.objects.clear();
  put('/apis/apps/v1/deployments', { metadata: meta('shop', 'web'), spec: { template: template(clashing) } });
  put('/apis/apps/v1/replicasets', { metadata: meta('shop', 'web-1', { kind: 'Deployment', name: 'web', uid: 'uid-shop-web' }), spec: { template: template(clashing) } });
  put(
    '/api/v1/pods',
    { metadata: meta('shop', 'web-1-a', { kind: 'ReplicaSet', name: 'web-1', uid: 'uid-shop-web-1' }), spec: { containers: clashing } },
    { metadata: meta('shop', 'orphan', { kind: 'ReplicaSet', name: 'web-0', uid: 'uid-deleted' }), spec: { containers: clashing } },
    { metadata: meta('shop', 'adopted', { kind: 'ReplicaSet', name: 'web-1', uid: 'uid-shop-web-1', controller: false }), spec: { containers: clashing } },
    { metadata: meta('shop', 'db-0', { kind: 'StatefulSet', name: 'db', uid: 'uid-shop-db' }), spec: { containers: clashing } },
    { metadata: meta('shop', 'clean'), spec: { containers: clean } },
    { metadata: meta('batch', 'runner'), spec: { containers: clean } },
  );
  put('/apis/apps/v1/statefulsets', { metadata: meta('shop', 'db', { kind: 'Database', name: 'orders', uid: 'uid-cr' }), spec: { template: template(clashing) } });
  put('/api/v1/namespaces', { metadata: { name: 'batch' } }, { metadata: { name: 'shop' } });
}

function send(response: ServerResponse, accepts: string, status: number, body: unknown): void {
  const text = Buffer.from(JSON.stringify(body));
  const gzip = accepts.includes('gzip');
  response.writeHead(status, { 'content-type': 'application/json', ...(gzip && { 'content-encoding': 'gzip' }) });
  response.end(gzip ? gzipSync(text) : text);
}

function refusal(code: number, reason: string, message: string): Json {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message };
}

const LIST_PATH = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)(?:\/namespaces\/([^/]+))?\/([a-z]+)$/;

function answer(url: URL, authorization: string | undefined, accepts: string, response: ServerResponse): void {
  if (authorization !== `Bearer ${fake.token}`) return send(response, accepts, 401, refusal(401, 'Unauthorized', 'Unauthorized'));
  if (url.pathname === '/version') return send(response, accepts, 200, { major: '1', minor: '33', gitVersion: 'v1.33.2' });
  if (url.pathname === '/api/v1/nodes') {
    if (fake.forbid('nodes', undefined)) return send(response, accepts, 403, refusal(403, 'Forbidden', 'nodes is forbidden: User "jane" cannot list resource "nodes" in API group "" at the cluster scope'));
    return send(response, accepts, 200, { kind: 'NodeList', apiVersion: 'v1', metadata: {}, items: fake.nodes.map((kubeletVersion, index) => ({ metadata: { name: `node-${index}` }, status: { nodeInfo: { kubeletVersion } } })) });
  }
  const match = LIST_PATH.exec(url.pathname);
  if (!match) return send(response, accepts, 404, refusal(404, 'NotFound', 'the server could not find the requested resource'));
  const [, root, namespace, resource] = match as unknown as [string, string, string | undefined, string];
  if (fake.forbid(resource, namespace)) {
    const where = namespace === undefined ? 'at the cluster scope' : `in the namespace "${namespace}"`;
    return send(response, accepts, 403, refusal(403, 'Forbidden', `${resource} is forbidden: User "jane" cannot list resource "${resource}" in API group "" ${where}`));
  }
  const token = url.searchParams.get('continue') ?? undefined;
  if (token !== undefined && fake.expired.delete(token)) {
    return send(response, accepts, 410, { ...refusal(410, 'Expired', 'The provided continue parameter is too old'), metadata: { continue: `fresh-${token}` } });
  }
  const all = (fake.objects.get(`${root}/${resource}`) ?? [])
    .filter((item) => namespace === undefined || (item.metadata as Json).namespace === namespace)
    .sort((a, b) => `${(a.metadata as Json).namespace}/${(a.metadata as Json).name}`.localeCompare(`${(b.metadata as Json).namespace}/${(b.metadata as Json).name}`));
  const start = token === undefined ? 0 : Number(token.replace(/^fresh-/, ''));
  const limit = Number(url.searchParams.get('limit') ?? all.length);
  const next = start + limit;
  send(response, accepts, 200, { kind: 'List', apiVersion: 'v1', metadata: next < all.length ? { continue: String(next) } : {}, items: all.slice(start, next) });
}

const kubernetesVersion = { major: 1, minor: 33 };
const settings: AuditSettings = { context: { kubernetesVersion, minKubeletVersion: kubernetesVersion }, policy: defaultPolicy(ALL_RULES), rules: ALL_RULES };

describe('audit --cluster against a fake API server', () => {
  let server: Server;
  let directory: string;
  let kubeconfig: string;
  let badToken: string;
  let unreachable: string;

  beforeAll(async () => {
    const tls = await generateCertificates({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    server = createServer({ cert: tls.cert, key: tls.key }, (request, response) => {
      const url = new URL(request.url ?? '/', 'https://127.0.0.1');
      fake.requests.push(`${request.method} ${url.pathname}${url.search}`);
      answer(url, request.headers.authorization, String(request.headers['accept-encoding'] ?? ''), response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    directory = await mkdtemp(join(tmpdir(), 'podpatterns-cluster-audit-'));
    const config = (server: string, token: string) =>
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: fake, cluster: {server: "${server}", certificate-authority-data: ${Buffer.from(tls.caCert).toString('base64')}}}]`,
        `users: [{name: jane, user: {token: ${token}}}]`,
        'contexts: [{name: fake, context: {cluster: fake, user: jane, namespace: shop}}]',
        'current-context: fake',
      ].join('\n');
    kubeconfig = join(directory, 'kubeconfig');
    badToken = join(directory, 'bad-token');
    unreachable = join(directory, 'unreachable');
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await writeFile(kubeconfig, config(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, TOKEN));
    await writeFile(badToken, config(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, 'stolen'));
    await writeFile(unreachable, config(`https://127.0.0.1:${closedPort}`, TOKEN));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(directory, { recursive: true, force: true });
  });

  beforeEach(() => {
    seed();
    fake.forbid = () => false;
    fake.expired.clear();
    fake.requests = [];
    fake.nodes = [];
  });

  async function audit(scope: NamespaceScope, pageSize = 500, file = kubeconfig): Promise<ClusterAudit> {
    return auditCluster(new KubeApi(await loadKubeConfig({ kubeconfig: file }, { env: {} })), { scope, pageSize, settings });
  }

  const audited = (result: ClusterAudit, namespace = 'shop') => (result.namespaces.get(namespace) ?? []).map(({ resource }) => `${resource.kind}/${resource.name}`);

  describe('owner dedupe', () => {
    it('audits the Deployment and neither the ReplicaSet nor the Pod it controls', async () => {
      const result = await audit({ allNamespaces: false, namespaces: ['shop'] });
      expect(audited(result)).toContain('Deployment/web');
      expect(audited(result)).not.toContain('ReplicaSet/web-1');
      expect(audited(result)).not.toContain('Pod/web-1-a');
    });

    it('audits a Pod whose controller is gone itself', async () => {
      expect(audited(await audit({ allNamespaces: false, namespaces: ['shop'] }))).toContain('Pod/orphan');
    });

    it('audits a Pod that only has a non-controller owner reference itself', async () => {
      expect(audited(await audit({ allNamespaces: false, namespaces: ['shop'] }))).toContain('Pod/adopted');
    });

    it("audits the topmost listed object under an operator's custom resource, and not what it controls", async () => {
      const result = await audit({ allNamespaces: false, namespaces: ['shop'] });
      expect(audited(result)).toEqual(['Deployment/web', 'StatefulSet/db', 'Pod/adopted', 'Pod/clean', 'Pod/orphan']);
      expect(result.read).toBe(8);
    });

    it('reports each finding once, on the object audited, as cluster://<namespace>/<kind>/<name> with no line', async () => {
      const result = await audit({ allNamespaces: false, namespaces: ['shop'] });
      const conflicts = result.report.findings.filter((finding) => finding.rule === 'port-conflict');
      expect(conflicts.map((finding) => [finding.file, finding.line])).toEqual([
        ['cluster://shop/Deployment/web', undefined],
        ['cluster://shop/StatefulSet/db', undefined],
        ['cluster://shop/Pod/adopted', undefined],
        ['cluster://shop/Pod/orphan', undefined],
      ]);
      expect(result.report.resources).toBe(5);
    });
  });

  describe('paging', () => {
    it('asks for pages of --page-size and follows each continue token', async () => {
      await audit({ allNamespaces: true }, 2);
      expect(fake.requests.filter((request) => request.startsWith('GET /api/v1/pods'))).toEqual([
        'GET /api/v1/pods?limit=2',
        'GET /api/v1/pods?limit=2&continue=2',
        'GET /api/v1/pods?limit=2&continue=4',
      ]);
    });

    it('finds the same in pages of one as in a single page', async () => {
      const whole = await audit({ allNamespaces: true });
      const paged = await audit({ allNamespaces: true }, 1);
      expect(paged.report.findings).toEqual(whole.report.findings);
      expect([...paged.namespaces]).toEqual([...whole.namespaces]);
    });

    it('goes on with the token of a 410 Expired answer when a continue token is too old', async () => {
      fake.expired.add('2');
      const result = await audit({ allNamespaces: true }, 2);
      expect(fake.requests.filter((request) => request.startsWith('GET /api/v1/pods'))).toEqual([
        'GET /api/v1/pods?limit=2',
        'GET /api/v1/pods?limit=2&continue=2',
        'GET /api/v1/pods?limit=2&continue=fresh-2',
        'GET /api/v1/pods?limit=2&continue=4',
      ]);
      expect(audited(result)).toContain('Pod/orphan');
    });
  });

  describe('plain HTTP', () => {
    it('reads a server URL of http:// (kubectl proxy) the same as the HTTPS one, as kubectl does', async () => {
      const proxy = createPlainServer((request, response) => answer(new URL(request.url ?? '/', 'http://127.0.0.1'), `Bearer ${TOKEN}`, '', response));
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      try {
        const proxied = join(directory, 'proxied');
        const config = [
          'apiVersion: v1',
          'kind: Config',
          `clusters: [{name: proxy, cluster: {server: "http://127.0.0.1:${(proxy.address() as AddressInfo).port}"}}]`,
          'users: [{name: proxy, user: {}}]',
          'contexts: [{name: proxy, context: {cluster: proxy, user: proxy, namespace: shop}}]',
          'current-context: proxy',
        ];
        await writeFile(proxied, config.join('\n'));
        const scope = { allNamespaces: false, namespaces: ['shop'] };
        const overProxy = await audit(scope, 500, proxied);
        expect(audited(overProxy)).toEqual(audited(await audit(scope)));
        expect(audited(overProxy)).toContain('Pod/orphan');
      } finally {
        await new Promise((resolve) => proxy.close(resolve));
      }
    });
  });

  describe('refusals', () => {
    it('lists namespace by namespace when it may not list across all of them, reporting and skipping the forbidden ones', async () => {
      fake.forbid = (resource, namespace) => (namespace === undefined && resource !== 'namespaces') || namespace === 'batch';
      const result = await audit({ allNamespaces: true });
      expect(result.wholeCluster).toBe(false);
      expect([...result.namespaces.keys()]).toEqual(['shop']);
      expect(audited(result)).toContain('Deployment/web');
      expect(result.report.errors).toEqual([
        {
          file: 'cluster://batch',
          code: 'PODPATTERNS_ERR_CLUSTER',
          message: expect.stringMatching(
            /^namespace batch skipped: forbidden to list horizontalpodautoscalers\.autoscaling, cronjobs\.batch, .*, pods \(horizontalpodautoscalers is forbidden: User "jane" cannot list resource "horizontalpodautoscalers" in API group "" in the namespace "batch"\)$/,
          ),
        },
      ]);
    });

    it('says a namespace was audited only in part when one kind is forbidden there', async () => {
      fake.forbid = (resource, namespace) => namespace === 'shop' && resource === 'replicasets';
      const result = await audit({ allNamespaces: false, namespaces: ['shop'] });
      expect(result.report.errors.map((error) => error.message)).toEqual([expect.stringMatching(/^namespace shop audited only in part: forbidden to list replicasets\.apps \(/)]);
      expect(result.namespaces.has('shop')).toBe(false);
    });

    it('fails naming the verb and resource when it may list neither across namespaces nor the namespaces', async () => {
      fake.forbid = (resource, namespace) => namespace === undefined;
      const failure = await audit({ allNamespaces: true }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PodpatternsError);
      expect((failure as PodpatternsError).message).toMatch(/^forbidden to list namespaces \(to audit them one by one, since listing horizontalpodautoscalers\.autoscaling in all namespaces is forbidden\): namespaces is forbidden: User "jane" cannot list resource "namespaces"/);
    });
  });

  describe('the command', () => {
    interface Captured {
      stdout: string;
      stderr: string;
      io: ClusterAuditIo;
    }

    function capture(output: ClusterAuditFlags['output']): Captured {
      const captured = { stdout: '', stderr: '' } as Captured;
      captured.io = {
        env: {},
        stdout: { write: (text: string) => (captured.stdout += text) },
        stderr: { write: (text: string) => (captured.stderr += text) },
        settings: async (versions) => ({ ...settings, context: versions }),
        render: (report) => (output === 'json' ? renderJson(report) : output === 'sarif' ? renderSarif(report, { rules: ALL_RULES, toolVersion: '0.0.0', cwd: directory }) : renderText(report, { color: false, rules: ALL_RULES })),
        renderErrors: (errors) => renderTextErrors(errors, { color: false }),
      };
      return captured;
    }

    const flags = (overrides: Partial<ClusterAuditFlags> = {}): ClusterAuditFlags => ({ kubeconfig, pageSize: 500, output: 'json', maxReportResults: 1000, failOn: 'deny', ...overrides });

    it("audits the context's namespace and exits 1 for a deny, with findings named cluster://…", async () => {
      const run = capture('json');
      expect(await runClusterAudit(flags(), run.io)).toBe(1);
      const output = JSON.parse(run.stdout) as { findings: Array<{ file: string; line: number | null }>; summary: { resources: number } };
      expect(output.findings[0]).toMatchObject({ file: 'cluster://shop/Deployment/web', line: null });
      expect(output.summary.resources).toBe(5);
      expect(fake.requests).toContain('GET /api/v1/namespaces/shop/pods?limit=500');
      expect(run.stderr).toBe('');
    });

    it('shows its progress on standard error when that is a terminal, and erases it at the end', async () => {
      const run = capture('json');
      run.io.stderr = { isTTY: true, columns: 200, write: (text: string) => (run.stderr += text) };
      await runClusterAudit(flags(), run.io);
      expect(run.stderr).toMatch(/^podpatterns: https:\/\/127\.0\.0\.1:\d+ \(kubeconfig .*, context fake\): Kubernetes 1\.33, oldest kubelet 1\.33 \(0 nodes\)\n/);
      expect(run.stderr).toContain('\r\x1b[Kpodpatterns: listing horizontalpodautoscalers.autoscaling in shop… 0 objects read, 0 audited');
      expect(run.stderr.endsWith('\r\x1b[K')).toBe(true);
      expect(JSON.parse(run.stdout)).toMatchObject({ summary: { resources: 5 } });
    });

    it('prints SARIF whose locations are the cluster:// URIs, without a region', async () => {
      const run = capture('sarif');
      await runClusterAudit(flags({ output: 'sarif' }), run.io);
      const log = JSON.parse(run.stdout) as { runs: Array<{ results: Array<{ locations: Array<{ physicalLocation: Json }> }> }> };
      expect(log.runs[0]!.results[0]!.locations[0]!.physicalLocation).toEqual({ artifactLocation: { uri: 'cluster://shop/Deployment/web' } });
    });

    it('reads the oldest kubelet from the nodes', async () => {
      fake.nodes = ['v1.33.1', 'v1.31.7'];
      let seen: unknown;
      const run = capture('json');
      run.io.settings = async (versions) => {
        seen = versions;
        return { ...settings, context: versions };
      };
      await runClusterAudit(flags(), run.io);
      expect(seen).toEqual({ kubernetesVersion: { major: 1, minor: 33 }, minKubeletVersion: { major: 1, minor: 31 } });
    });

    it('warns and assumes the API server version for the kubelets when it may not list nodes', async () => {
      fake.forbid = (resource) => resource === 'nodes';
      let seen: unknown;
      const run = capture('json');
      run.io.settings = async (versions) => {
        seen = versions;
        return { ...settings, context: versions };
      };
      expect(await runClusterAudit(flags(), run.io)).toBe(1);
      expect(seen).toEqual({ kubernetesVersion: { major: 1, minor: 33 }, minKubeletVersion: { major: 1, minor: 33 } });
      expect(run.stderr).toBe(
        'podpatterns: warning: may not list nodes, so the kubelets\' versions are unknown (nodes is forbidden: User "jane" cannot list resource "nodes" in API group "" at the cluster scope): ' +
          'assuming 1.33, the API server\'s; pass --min-kubelet-version to set the oldest kubelet\n',
      );
    });

    it('does not read the nodes when --min-kubelet-version is given', async () => {
      await runClusterAudit(flags({ minKubeletVersion: { major: 1, minor: 30 } }), capture('json').io);
      expect(fake.requests.filter((request) => request.includes('/nodes'))).toEqual([]);
    });

    it('exits 2 with the forbidden namespace in the errors and on standard error, after printing the rest', async () => {
      fake.forbid = (_resource, namespace) => namespace === 'batch';
      const run = capture('json');
      expect(await runClusterAudit(flags({ namespace: ['shop', 'batch'] }), run.io)).toBe(2);
      const output = JSON.parse(run.stdout) as { findings: unknown[]; errors: Array<{ file: string; message: string }> };
      expect(output.findings.length).toBeGreaterThan(0);
      expect(output.errors.map((error) => error.file)).toEqual(['cluster://batch']);
      expect(run.stderr).toMatch(/^error cluster:\/\/batch: namespace batch skipped: forbidden to list /);
    });

    it('fails naming the server when the API server does not answer', async () => {
      const failure = await runClusterAudit(flags({ kubeconfig: unreachable }), capture('json').io).catch((error: unknown) => error);
      expect((failure as PodpatternsError).code).toBe('PODPATTERNS_ERR_CLUSTER');
      expect((failure as PodpatternsError).message).toMatch(/^cannot reach the API server https:\/\/127\.0\.0\.1:\d+ \(GET \/version\): connect ECONNREFUSED/);
    });

    it('fails naming the kubeconfig and context whose credentials the API server refuses', async () => {
      const failure = await runClusterAudit(flags({ kubeconfig: badToken }), capture('json').io).catch((error: unknown) => error);
      const escaped = badToken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect((failure as PodpatternsError).message).toMatch(new RegExp(`^get /version: the API server https://127\\.0\\.0\\.1:\\d+ refused the credentials of kubeconfig ${escaped}, context fake \\(401 Unauthorized\\)$`));
    });

    it('prints one OpenReports Report per namespace read completely', async () => {
      const run = capture('policyreport');
      expect(await runClusterAudit(flags({ output: 'policyreport', allNamespaces: true, failOn: 'none' }), run.io)).toBe(0);
      expect(run.stdout.match(/^apiVersion: openreports\.io\/v1alpha1\nkind: Report$/gm)).toHaveLength(2);
      expect(run.stdout).toContain('namespace: batch');
    });

    it('prints wg-policy PolicyReports with --report-api wgpolicy', async () => {
      const run = capture('policyreport');
      expect(await runClusterAudit(flags({ output: 'policyreport', reportApi: 'wgpolicy', allNamespaces: true, failOn: 'none' }), run.io)).toBe(0);
      expect(run.stdout.match(/^apiVersion: wgpolicyk8s\.io\/v1alpha2\nkind: PolicyReport$/gm)).toHaveLength(2);
    });

    it('finds the cluster through the files of KUBECONFIG as serve does, skipping missing ones', async () => {
      const run = capture('json');
      run.io.env = { KUBECONFIG: [join(directory, 'missing'), kubeconfig, unreachable].join(delimiter) };
      expect(await runClusterAudit(flags({ kubeconfig: undefined }), run.io)).toBe(1);
      expect(JSON.parse(run.stdout)).toMatchObject({ summary: { resources: 5 } });
    });
  });
});
