import { NEWEST_KNOWN_VERSION } from '../../src/model/version.js';
/**
 * Version discovery against a small fake API server over real HTTPS (node:https answering /version and
 * /api/v1/nodes). The e2e suite runs the same discovery against a real kube-apiserver.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectToCluster, versionFromInfo } from '../../src/cluster/client.js';
import { ClusterVersionTracker } from '../../src/cluster/versions.js';
import { generateCertificates } from '../../src/tls/certificates.js';

interface FakeCluster {
  version: Record<string, string>;
  kubelets: string[];
  pageSize: number;
  requests: string[];
  token: string;
  failing: boolean;
}

describe('cluster version discovery', () => {
  let server: Server;
  let directory: string;
  let kubeconfig: string;
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
    const port = (server.address() as AddressInfo).port;
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: fake',
        '  cluster:',
        `    server: https://127.0.0.1:${port}`,
        `    certificate-authority-data: ${Buffer.from(tls.caCert).toString('base64')}`,
        'users:',
        '- name: reader',
        '  user:',
        `    token: ${fake.token}`,
        'contexts:',
        '- name: fake',
        '  context: { cluster: fake, user: reader }',
        'current-context: fake',
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(directory, { recursive: true, force: true });
  });

  beforeEach(() => {
    Object.assign(fake, { version: { major: '1', minor: '30', gitVersion: 'v1.30.4' }, kubelets: [], pageSize: 2, requests: [], failing: false });
  });

  const silent = pino({ level: 'silent' });

  it('reads the API server version from /version', async () => {
    const reader = (await connectToCluster({ kubeconfig, inCluster: false }))!;
    expect(await reader.serverVersion()).toEqual({ major: 1, minor: 30 });
  });

  it('finds the oldest kubelet across every page of the node list', async () => {
    fake.kubelets = ['v1.30.4', 'v1.30.2', 'v1.29.8-eks-a737599', 'v1.30.4', 'v1.28.15+k3s1'];
    const reader = (await connectToCluster({ kubeconfig, inCluster: false }))!;
    expect(await reader.oldestKubelet()).toEqual({ version: { major: 1, minor: 28 }, nodes: 5 });
    const listCalls = fake.requests.filter((line) => line.startsWith('GET /api/v1/nodes'));
    expect(listCalls).toEqual(['GET /api/v1/nodes?limit=500', 'GET /api/v1/nodes?continue=2&limit=500', 'GET /api/v1/nodes?continue=4&limit=500']);
  });

  it('tracks both versions and keeps them when the cluster stops answering', async () => {
    fake.kubelets = ['v1.30.1', 'v1.29.3'];
    const tracker = new ClusterVersionTracker({ reader: (await connectToCluster({ kubeconfig, inCluster: false }))!, refreshIntervalMs: 60_000, logger: silent });
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
    const tracker = new ClusterVersionTracker({ reader: (await connectToCluster({ kubeconfig, inCluster: false }))!, refreshIntervalMs: 60_000, logger: silent });
    await tracker.start();
    expect(tracker.current().minKubeletVersion).toEqual({ major: 1, minor: 30 });
    tracker.stop();
  });

  it('reads nothing the flags already fix', async () => {
    const tracker = new ClusterVersionTracker({
      reader: (await connectToCluster({ kubeconfig, inCluster: false }))!,
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
    expect(await connectToCluster({ inCluster: false })).toBeUndefined();
    const tracker = new ClusterVersionTracker({ refreshIntervalMs: 60_000, logger: silent });
    await tracker.start();
    expect(tracker.current()).toEqual({ kubernetesVersion: NEWEST_KNOWN_VERSION, minKubeletVersion: NEWEST_KNOWN_VERSION });

    fake.failing = true;
    const unreachable = new ClusterVersionTracker({ reader: (await connectToCluster({ kubeconfig, inCluster: false }))!, refreshIntervalMs: 60_000, logger: silent });
    await unreachable.start();
    expect(unreachable.current().kubernetesVersion).toEqual(NEWEST_KNOWN_VERSION);
    unreachable.stop();
  });

  it('names the kubeconfig it cannot load', async () => {
    await expect(connectToCluster({ kubeconfig: join(directory, 'missing'), inCluster: false })).rejects.toThrow(/kubeconfig .*missing: cannot be loaded: ENOENT/);
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
