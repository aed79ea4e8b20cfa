import { NEWEST_KNOWN_VERSION } from '../../src/model/version.js';
/**
 * Version discovery against a small fake API server over real HTTPS (node:https answering /version and
 * /api/v1/nodes). The e2e suite runs the same discovery against a real kube-apiserver.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeCause } from '../../src/kube/api.js';
import { connectVersionReader, versionFromInfo, type ClusterReader } from '../../src/kube/version-reader.js';
import { ClusterVersionTracker } from '../../src/server/version-tracker.js';
import { runClusterAudit } from '../../src/cli/audit-cluster.js';
import { resolveServerConfig } from '../../src/config/server-config.js';
import { admissionWebhooks } from '../../src/admission/webhooks.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { startWebhookServer } from '../../src/server/webhook-server.js';
import { generateCertificates } from '../../src/tls/certificates.js';

interface FakeCluster {
  version: Record<string, string>;
  kubelets: string[];
  pageSize: number;
  requests: string[];
  token: string;
  failing: boolean;
}

function kubeconfigFor(server: string, ca: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: fake',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${Buffer.from(ca).toString('base64')}`,
    'users:',
    '- name: reader',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: fake',
    '  context: { cluster: fake, user: reader }',
    'current-context: fake',
    '',
  ].join('\n');
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The warnings a tracker logs, parsed. */
function warnings(): { logger: Logger; lines: Array<{ msg: string; server?: string; err?: string }> } {
  const lines: Array<{ msg: string; server?: string; err?: string }> = [];
  return { logger: pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) }), lines };
}

describe('cluster version discovery', () => {
  let server: Server;
  let directory: string;
  let kubeconfig: string;
  let caCert: string;
  const fake: FakeCluster = { version: {}, kubelets: [], pageSize: 2, requests: [], token: 'podpatterns-test-token', failing: false };

  beforeAll(async () => {
    const tls = await generateCertificates({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    server = createServer({ cert: tls.cert, key: tls.key }, (request, response) => {
      const url = new URL(request.url ?? '/', 'https://127.0.0.1');
      fake.requests.push(`${request.method} ${url.pathname}${url.search}`);
      const send = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (request.headers.authorization !== `Bearer ${fake.token}`) return send(401, { kind: 'Status', code: 401, message: 'Unauthorized' });
      if (fake.failing) return send(503, { kind: 'Status', code: 503, message: 'etcd is down' });
      if (url.pathname === '/version') return send(200, fake.version);
      if (url.pathname === '/api/v1/nodes') {
        const limit = Number(url.searchParams.get('limit') ?? fake.kubelets.length);
        const start = Number(url.searchParams.get('continue') ?? 0);
        const page = fake.kubelets.slice(start, start + Math.min(limit, fake.pageSize));
        const next = start + page.length;
        return send(200, {
          kind: 'NodeList',
          apiVersion: 'v1',
          metadata: { resourceVersion: '42', ...(next < fake.kubelets.length && { continue: String(next) }) },
          items: page.map((kubeletVersion, index) => ({
            metadata: { name: `node-${start + index}` },
            status: { nodeInfo: { kubeletVersion } },
          })),
        });
      }
      return send(404, { kind: 'Status', code: 404, message: 'not found' });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    directory = await mkdtemp(join(tmpdir(), 'podpatterns-cluster-'));
    kubeconfig = join(directory, 'kubeconfig');
    caCert = tls.caCert;
    await writeFile(kubeconfig, kubeconfigFor(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, tls.caCert, fake.token));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(directory, { recursive: true, force: true });
  });

  beforeEach(() => {
    Object.assign(fake, { version: { major: '1', minor: '30', gitVersion: 'v1.30.4' }, kubelets: [], pageSize: 2, requests: [], failing: false });
  });

  const silent = pino({ level: 'silent' });

  /** The reader `serve` makes for `kubeconfig`, through the loader `audit --cluster` uses. */
  async function connect(file = kubeconfig): Promise<ClusterReader> {
    const reader = await connectVersionReader({ kubeconfig: file }, { env: {} });
    if (!reader) throw new Error('no reader for an explicit kubeconfig');
    return reader;
  }

  it("reads the versions through the pod's service account, and its token again once the kubelet rotates it", async () => {
    const serviceAccountDir = join(directory, 'serviceaccount');
    await mkdir(serviceAccountDir, { recursive: true });
    await writeFile(join(serviceAccountDir, 'ca.crt'), caCert);
    // As the kubelet may write it, with a newline client-go trims.
    await writeFile(join(serviceAccountDir, 'token'), `${fake.token}\n`);
    const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String((server.address() as AddressInfo).port) };
    const reader = await connectVersionReader({}, { env, home: join(directory, 'nobody'), serviceAccountDir });
    if (!reader) throw new Error('no reader for the service account');
    fake.kubelets = ['v1.30.4', 'v1.29.8'];
    expect(await reader.serverVersion()).toEqual({ major: 1, minor: 30 });
    expect(await reader.oldestKubelet()).toEqual({ version: { major: 1, minor: 29 }, nodes: 2 });
    await writeFile(join(serviceAccountDir, 'token'), 'a-revoked-token');
    await expect(reader.serverVersion()).rejects.toThrow(/401/);
  });

  it('reads the API server version from /version', async () => {
    const reader = await connect();
    expect(await reader.serverVersion()).toEqual({ major: 1, minor: 30 });
  });

  it('finds the oldest kubelet across every page of the node list', async () => {
    fake.kubelets = ['v1.30.4', 'v1.30.2', 'v1.29.8-eks-a737599', 'v1.30.4', 'v1.28.15+k3s1'];
    const reader = await connect();
    expect(await reader.oldestKubelet()).toEqual({ version: { major: 1, minor: 28 }, nodes: 5 });
    const listCalls = fake.requests.filter((line) => line.startsWith('GET /api/v1/nodes'));
    expect(listCalls).toEqual(['GET /api/v1/nodes?limit=500', 'GET /api/v1/nodes?limit=500&continue=2', 'GET /api/v1/nodes?limit=500&continue=4']);
  });

  it('tracks both versions and keeps them when the cluster stops answering', async () => {
    fake.kubelets = ['v1.30.1', 'v1.29.3'];
    const tracker = new ClusterVersionTracker({ reader: await connect(), refreshIntervalMs: 60_000, logger: silent });
    await tracker.start();
    expect(tracker.current()).toEqual({ kubernetesVersion: { major: 1, minor: 30 }, minKubeletVersion: { major: 1, minor: 29 } });

    fake.kubelets = ['v1.30.1', 'v1.27.9'];
    await tracker.refresh();
    expect(tracker.current().minKubeletVersion).toEqual({ major: 1, minor: 27 });

    fake.failing = true;
    await tracker.refresh();
    expect(tracker.current()).toEqual({ kubernetesVersion: { major: 1, minor: 30 }, minKubeletVersion: { major: 1, minor: 27 } });
    tracker.stop();
  });

  it('uses the API server version for kubelets when the cluster has no node', async () => {
    const tracker = new ClusterVersionTracker({ reader: await connect(), refreshIntervalMs: 60_000, logger: silent });
    await tracker.start();
    expect(tracker.current().minKubeletVersion).toEqual({ major: 1, minor: 30 });
    tracker.stop();
  });

  it('reads nothing the flags already fix', async () => {
    const tracker = new ClusterVersionTracker({
      reader: await connect(),
      kubernetesVersion: { major: 1, minor: 29 },
      minKubeletVersion: { major: 1, minor: 28 },
      refreshIntervalMs: 60_000,
      logger: silent,
    });
    await tracker.start();
    expect(tracker.current()).toEqual({ kubernetesVersion: { major: 1, minor: 29 }, minKubeletVersion: { major: 1, minor: 28 } });
    expect(fake.requests).toEqual([]);
    tracker.stop();
  });

  it('assumes the newest known version when no cluster is configured or reachable', async () => {
    expect(await connectVersionReader({}, { env: {}, home: join(directory, 'nobody') })).toBeUndefined();
    const tracker = new ClusterVersionTracker({ refreshIntervalMs: 60_000, logger: silent });
    await tracker.start();
    expect(tracker.current()).toEqual({ kubernetesVersion: NEWEST_KNOWN_VERSION, minKubeletVersion: NEWEST_KNOWN_VERSION });

    fake.failing = true;
    const unreachable = new ClusterVersionTracker({ reader: await connect(), refreshIntervalMs: 60_000, logger: silent });
    await unreachable.start();
    expect(unreachable.current().kubernetesVersion).toEqual(NEWEST_KNOWN_VERSION);
    unreachable.stop();
  });

  it('refuses a --kubeconfig that does not exist instead of running without a cluster', async () => {
    await expect(connectVersionReader({ kubeconfig: join(directory, 'missing') }, { env: {} })).rejects.toThrow(`--kubeconfig ${join(directory, 'missing')}: no such file`);
  });

  it('logs the server and the reason when the API server refuses connections, never a bare "fetch failed"', async () => {
    const port = await closedPort();
    const file = join(directory, 'closed.kubeconfig');
    await writeFile(file, kubeconfigFor(`https://127.0.0.1:${port}`, caCert, fake.token));
    const log = warnings();
    const tracker = new ClusterVersionTracker({ reader: await connect(file), refreshIntervalMs: 60_000, logger: log.logger });
    await tracker.start();
    tracker.stop();
    expect(log.lines).toEqual([
      expect.objectContaining({
        server: `https://127.0.0.1:${port}`,
        err: `cannot reach the API server https://127.0.0.1:${port} (GET /version): connect ECONNREFUSED 127.0.0.1:${port}`,
        msg: 'cannot read cluster versions: assuming the newest known Kubernetes version until it answers',
      }),
    ]);
  });

  describe('serve finds its cluster with the loader of audit --cluster', () => {
    /** `podpatterns serve` in this process, reading versions from the cluster: what it logs about them. */
    async function serve(flags: { kubeconfig?: string }, env: Record<string, string>): Promise<Array<{ msg: string; server?: string }>> {
      const lines: Array<{ msg: string; server?: string }> = [];
      const config = resolveServerConfig({ host: '127.0.0.1', port: '0', metricsPort: '0', devCaFile: join(directory, 'dev-ca.pem'), shutdownDelay: '0s', ...flags }, env);
      const server = await startWebhookServer({ config, webhooks: admissionWebhooks({ rules: ALL_RULES }), logger: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) }) });
      await server.shutdown({ immediate: true });
      return lines;
    }

    it('merges the files of KUBECONFIG, skipping missing ones, the first current-context winning', async () => {
      const elsewhere = join(directory, 'elsewhere.kubeconfig');
      await writeFile(elsewhere, kubeconfigFor('https://127.0.0.1:1', caCert, fake.token).replace(/\bfake\b/g, 'other'));
      const lines = await serve({}, { KUBECONFIG: [join(directory, 'missing'), kubeconfig, elsewhere].join(delimiter), HOME: join(directory, 'nobody') });
      expect(lines.find((line) => line.msg === 'cluster versions read from the API server')).toMatchObject({ server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, kubernetesVersion: '1.30' });
      expect(fake.requests).toContain('GET /version');
    });

    it('refuses a missing --kubeconfig at start with the message audit --cluster gives', async () => {
      const missing = join(directory, 'missing');
      const served = (await serve({ kubeconfig: missing }, {}).catch((error: unknown) => error)) as Error;
      const audited = (await runClusterAudit(
        { kubeconfig: missing, pageSize: 500, output: 'json', maxReportResults: 1, failOn: 'deny' },
        { env: {}, stdout: { write: () => true }, stderr: { write: () => true }, settings: () => Promise.reject(new Error('unreachable')), render: () => '', renderErrors: () => '' },
      ).catch((error: unknown) => error)) as Error;
      expect(served.message).toBe(`--kubeconfig ${missing}: no such file`);
      expect(audited.message).toBe(served.message);
    });

    it('runs without a cluster, saying so, when there is no kubeconfig and no service account', async () => {
      const lines = await serve({}, { HOME: join(directory, 'nobody') });
      expect(lines.map((line) => line.msg)).toContain(
        'no cluster configured (no --kubeconfig, KUBECONFIG, ~/.kube/config or in-cluster service account) and no --kubernetes-version: assuming the newest known Kubernetes version',
      );
      expect(fake.requests).toEqual([]);
    });
  });

  it('names every address refused when a host name resolves to several (an AggregateError without a message)', () => {
    // The shape node:net gives when happy eyeballs tries ::1 and 127.0.0.1 and both refuse.
    const refused = (address: string) => Object.assign(new Error(`connect ECONNREFUSED ${address}:6443`), { code: 'ECONNREFUSED' });
    const error = Object.assign(new AggregateError([refused('::1'), refused('127.0.0.1')], ''), { code: 'ECONNREFUSED' });
    expect(describeCause(error)).toBe('connect ECONNREFUSED ::1:6443; connect ECONNREFUSED 127.0.0.1:6443');
    expect(describeCause(new TypeError('fetch failed', { cause: refused('10.0.0.1') }))).toBe('fetch failed: connect ECONNREFUSED 10.0.0.1:6443');
  });

  it('names the certificate problem when the server is not signed by the kubeconfig CA', async () => {
    const other = await generateCertificates({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const file = join(directory, 'wrong-ca.kubeconfig');
    await writeFile(file, kubeconfigFor(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, other.caCert, fake.token));
    const failure = await (await connect(file)).serverVersion().catch((error: unknown) => error as Error);
    expect((failure as Error).message).toMatch(/^cannot reach the API server https:\/\/127\.0\.0\.1:\d+ \(GET \/version\): .*certificate.* \([A-Z_]+\)$/);
  });

  it.each([
    [{ major: '1', minor: '29+', gitVersion: 'v1.29.6-gke.1326000' }, { major: 1, minor: 29 }],
    [{ major: '1', minor: '34', emulationMajor: '1', emulationMinor: '32', gitVersion: 'v1.34.1' }, { major: 1, minor: 32 }],
    [{ major: '1', minor: '35', gitVersion: 'v0.0.0-master+$Format:%H$' }, { major: 1, minor: 35 }],
    [{ major: '', minor: '', gitVersion: 'v1.31.2+k3s1' }, { major: 1, minor: 31 }],
  ])('reads the version the API server behaves as from %j', (info, expected) => {
    expect(versionFromInfo(info)).toEqual(expected);
  });
});
