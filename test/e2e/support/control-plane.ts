import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { generateCertificates } from '../../../src/tls/certificates.js';
import { freePort, get, waitFor } from './network.js';
import { ManagedProcess, isAlive } from './processes.js';
import { REPO_ROOT } from './settings.js';

const BUILD_SCRIPT = join(REPO_ROOT, 'test/e2e/control-plane/build.sh');

/**
 * The folder holding kube-apiserver and etcd: prebuilt (PODPATTERNS_E2E_ASSETS, KUBEBUILDER_ASSETS), cached,
 * or built now from Go modules (minutes on a cold machine; build.sh prints its progress on stderr).
 */
export function ensureBinaries(): Promise<string> {
  return new Promise((resolve, reject) => {
    const build = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    build.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    build.once('error', (error) => reject(new Error(`${BUILD_SCRIPT}: cannot run: ${error.message}`)));
    build.once('exit', (code) => {
      const folder = stdout.trimEnd().split('\n').pop();
      if (code === 0 && folder) resolve(folder);
      else reject(new Error(`${BUILD_SCRIPT} exited ${code}; its output is above`));
    });
  });
}

export interface ControlPlaneOptions {
  binaries: string;
  /** Data, certificates and logs go here. */
  directory: string;
  /** Records of the started processes, for a leak check after the run. */
  pidDirectory?: string;
  /** Write a JSON audit log at level Metadata (the tests read admission audit annotations from it). */
  auditLog?: boolean;
}

export interface ControlPlane {
  server: string;
  /** PEM of the CA that signed the API server's certificate. */
  ca: string;
  /** Bearer token of `admin`, a member of system:masters. */
  token: string;
  auditLogPath: string | undefined;
  /** Kubernetes `gitVersion`, e.g. v1.37.1. */
  version: string;
  pids: number[];
  /** SIGTERM kube-apiserver, then etcd (SIGKILL after a timeout); throws if a process is still there after. */
  stop(): Promise<void>;
}

/**
 * etcd and kube-apiserver on free loopback ports, flags as in control-plane/README.md: token authentication,
 * RBAC, no ServiceAccount admission (no controller-manager creates `default` service accounts).
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { directory, binaries } = options;
  await mkdir(directory, { recursive: true });
  const [etcdPort, peerPort, metricsPort, apiPort] = await distinctFreePorts(4);
  const files = await writeControlPlaneFiles(directory);
  const token = files.token;

  const started: ManagedProcess[] = [];
  const stop = async () => {
    for (const managed of [...started].reverse()) await managed.stop(15_000);
    const left = started.filter((managed) => isAlive(managed.pid));
    if (left.length > 0) throw new Error(`still running after stop: ${left.map((managed) => `${managed.name} (pid ${managed.pid})`).join(', ')}`);
  };
  try {
    const etcd = await ManagedProcess.start({
      name: 'etcd',
      command: join(binaries, 'etcd'),
      args: [
        '--name=e2e',
        `--data-dir=${join(directory, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=e2e=http://127.0.0.1:${peerPort}`,
        `--listen-metrics-urls=http://127.0.0.1:${metricsPort}`,
        // Test data: durability across a power cut is worthless here, fsync latency is not.
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      logFile: join(directory, 'etcd.log'),
      ...(options.pidDirectory && { pidDirectory: options.pidDirectory }),
    });
    started.push(etcd);
    await waitFor('etcd healthy', async () => ((await get(`http://127.0.0.1:${etcdPort}/health`)).body.includes('"health":"true"') ? true : undefined), {
      timeoutMs: 30_000,
      abort: () => exitedReason(etcd),
    });

    const server = `https://127.0.0.1:${apiPort}`;
    const auditLogPath = options.auditLog ? join(directory, 'audit.log') : undefined;
    const apiserver = await ManagedProcess.start({
      name: 'kube-apiserver',
      command: join(binaries, 'kube-apiserver'),
      args: [
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        '--advertise-address=127.0.0.1',
        // A loopback advertise address is refused by the default (lease) endpoint reconciler.
        '--endpoint-reconciler-type=none',
        `--tls-cert-file=${files.servingCert}`,
        `--tls-private-key-file=${files.servingKey}`,
        `--client-ca-file=${files.caCert}`,
        `--service-account-issuer=${server}`,
        `--service-account-key-file=${files.serviceAccountPublic}`,
        `--service-account-signing-key-file=${files.serviceAccountPrivate}`,
        `--api-audiences=${server}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=RBAC',
        `--token-auth-file=${files.tokens}`,
        '--allow-privileged=true',
        '--disable-admission-plugins=ServiceAccount',
        ...(auditLogPath ? [`--audit-policy-file=${files.auditPolicy}`, `--audit-log-path=${auditLogPath}`, '--audit-log-format=json'] : []),
      ],
      logFile: join(directory, 'kube-apiserver.log'),
      ...(options.pidDirectory && { pidDirectory: options.pidDirectory }),
    });
    started.push(apiserver);
    const authorization = { authorization: `Bearer ${token}` };
    await waitFor('kube-apiserver ready', async () => ((await get(`${server}/readyz`, { ca: files.ca, headers: authorization })).body === 'ok' ? true : undefined), {
      timeoutMs: 90_000,
      intervalMs: 250,
      abort: () => exitedReason(apiserver),
    });
    const version = JSON.parse((await get(`${server}/version`, { ca: files.ca, headers: authorization })).body) as { gitVersion: string };
    return { server, ca: files.ca, token, auditLogPath, version: version.gitVersion, pids: started.map((managed) => managed.pid), stop };
  } catch (error) {
    const logs = await Promise.all(started.map(async (managed) => `--- ${managed.name} (${managed.logFile}) ---\n${await managed.tail()}`));
    await stop().catch(() => undefined);
    throw new Error(`${(error as Error).message}\n${logs.join('\n')}`, { cause: error });
  }
}

async function exitedReason(managed: ManagedProcess): Promise<string | undefined> {
  const status = managed.exitStatus;
  return status ? `${managed.name} exited (code ${status.code}, signal ${status.signal})` : undefined;
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

async function writeControlPlaneFiles(directory: string) {
  const pki = join(directory, 'pki');
  await mkdir(pki, { recursive: true });
  const certificates = await generateCertificates({ dnsNames: ['localhost', 'kubernetes', 'kubernetes.default.svc'], ipAddresses: ['127.0.0.1'], validityDays: 2 });
  // ECDSA P-256 (ES256) is one of the service-account token signing algorithms kube-apiserver accepts.
  const serviceAccount = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'sec1', format: 'pem' },
  });
  const token = randomBytes(24).toString('hex');
  const files = {
    caCert: join(pki, 'ca.crt'),
    servingCert: join(pki, 'apiserver.crt'),
    servingKey: join(pki, 'apiserver.key'),
    serviceAccountPublic: join(pki, 'sa.pub'),
    serviceAccountPrivate: join(pki, 'sa.key'),
    tokens: join(pki, 'tokens.csv'),
    auditPolicy: join(directory, 'audit-policy.yaml'),
  };
  await Promise.all([
    writeFile(files.caCert, certificates.caCert),
    writeFile(files.servingCert, certificates.cert),
    writeFile(files.servingKey, certificates.key, { mode: 0o600 }),
    writeFile(files.serviceAccountPublic, serviceAccount.publicKey),
    writeFile(files.serviceAccountPrivate, serviceAccount.privateKey, { mode: 0o600 }),
    writeFile(files.tokens, `${token},admin,admin-uid,system:masters\n`, { mode: 0o600 }),
    // Metadata records the admission webhooks' audit annotations; request bodies are not needed.
    writeFile(files.auditPolicy, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: Metadata\n'),
  ]);
  return { ...files, ca: certificates.caCert, token };
}

/** A kubeconfig for the admin token, for child processes (kubectl, `podpatterns serve`). */
export function kubeconfigYaml(controlPlane: Pick<ControlPlane, 'server' | 'ca' | 'token'>): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'e2e', cluster: { server: controlPlane.server, 'certificate-authority-data': Buffer.from(controlPlane.ca).toString('base64') } }],
    users: [{ name: 'admin', user: { token: controlPlane.token } }],
    contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'admin' } }],
    'current-context': 'e2e',
  });
}
