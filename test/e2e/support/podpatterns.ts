import { join } from 'node:path';
import { SHIPPED_NODE_FLAGS } from '../../support/shipped.js';
import type { E2eCluster } from './cluster.js';
import { freePort, get, waitFor } from './network.js';
import { ManagedProcess, type ExitStatus } from './processes.js';
import type { SecretVolume } from './serving-certificate.js';
import { REPO_ROOT } from './settings.js';

export interface PodpatternsOptions {
  /** For messages and the log file name: `podpatterns`, `podpatterns-a`. */
  name: string;
  cluster: E2eCluster;
  /** Where the log goes. */
  directory: string;
  tls: SecretVolume;
  ca: string;
  policyFile: string;
  /** After SIGTERM: keep answering this long (the chart's server.shutdownDelaySeconds). */
  shutdownDelay?: string;
  shutdownTimeout?: string;
  /** More `podpatterns serve` flags, e.g. the chart's `--skip-rules`. */
  args?: string[];
}

/**
 * `podpatterns serve` as a real child process, the way the chart runs it (its V8 flags, certificate and policy
 * files it watches), with no --kubernetes-version or --min-kubelet-version: it reads them from the cluster through
 * KUBECONFIG.
 */
export class PodpatternsServer {
  private constructor(
    readonly name: string,
    readonly process: ManagedProcess,
    readonly port: number,
    readonly metricsPort: number,
    private readonly ca: string,
    /** Where its health and metrics are read: the address it listens on, loopback when it listens on every address. */
    readonly host: string,
  ) {}

  static async start(options: PodpatternsOptions): Promise<PodpatternsServer> {
    const { cluster } = options;
    const port = await freePort(cluster.listenHost);
    let metricsPort = await freePort(cluster.listenHost);
    while (metricsPort === port) metricsPort = await freePort(cluster.listenHost);
    const entry = cluster.podpatternsEntry;
    const runner = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
    const managed = await ManagedProcess.start({
      name: options.name,
      command: process.execPath,
      args: [
        ...SHIPPED_NODE_FLAGS,
        ...runner,
        entry,
        'serve',
        `--host=${cluster.listenHost}`,
        `--port=${port}`,
        `--metrics-port=${metricsPort}`,
        `--tls-cert=${options.tls.certFile}`,
        `--tls-key=${options.tls.keyFile}`,
        `--policy=${options.policyFile}`,
        '--log-level=info',
        `--shutdown-delay=${options.shutdownDelay ?? '1s'}`,
        `--shutdown-timeout=${options.shutdownTimeout ?? '5s'}`,
        '--reload-interval=1s',
        ...(options.args ?? []),
      ],
      cwd: REPO_ROOT,
      env: { ...process.env, KUBECONFIG: cluster.kubeconfigFile },
      logFile: join(options.directory, `${options.name}.log`),
      pidDirectory: cluster.pidDirectory,
    });
    const server = new PodpatternsServer(options.name, managed, port, metricsPort, options.ca, cluster.listenHost === '0.0.0.0' ? '127.0.0.1' : cluster.listenHost);
    try {
      await waitFor(`${options.name} ready`, async () => ((await server.readyz()) === 200 ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 200,
        abort: async () => (managed.exitStatus ? `exited (code ${managed.exitStatus.code})` : undefined),
      });
    } catch (error) {
      await managed.kill();
      throw new Error(`${(error as Error).message}\n--- ${managed.logFile} ---\n${await managed.tail()}`, { cause: error });
    }
    return server;
  }

  async readyz(): Promise<number> {
    return (await get(`https://${this.host}:${this.port}/readyz`, { ca: this.ca })).status;
  }

  /** The value of one sample of /metrics, e.g. `podpatterns_certificate_reloads_total{result="success"}`; 0 when absent. */
  async metric(sample: string): Promise<number> {
    const { body } = await get(`http://${this.host}:${this.metricsPort}/metrics`);
    const line = body.split('\n').find((candidate) => candidate.startsWith(`${sample} `));
    return line === undefined ? 0 : Number(line.slice(sample.length + 1));
  }

  /** The JSON log lines (pino) written so far. */
  async logLines(): Promise<Record<string, unknown>[]> {
    const text = await this.process.logs();
    return text.split('\n').flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  stop(timeoutMs?: number): Promise<ExitStatus> {
    return this.process.stop(timeoutMs);
  }

  kill(): Promise<ExitStatus> {
    return this.process.kill();
  }
}
