import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { KubeManifest } from '../support/helm.js';
import { clientsFor, createNamespace, kubeConfigFor, refusal, type Clients, type E2eCluster } from './support/cluster.js';
import { conflictingContainers, pod } from './support/manifests.js';
import { waitFor } from './support/network.js';
import { PodpatternsServer } from './support/podpatterns.js';
import { ServiceProxy } from './support/proxy.js';
import { SecretVolume, WebhookCa } from './support/serving-certificate.js';
import { applyConfigurations, deleteConfigurations, renderConfigurations, renderPolicy } from './support/webhooks.js';

export interface ServerOptions {
  /** Chart values the policy file is rendered from (`migration`, `policy`). */
  values?: Record<string, unknown>;
  shutdownDelay?: string;
  /** More `podpatterns serve` flags, as the chart's Deployment passes them. */
  args?: string[];
}

export interface InstallOptions {
  /** Helm release name; the configurations are named after it. */
  release: string;
  /** The port the API server calls on E2E_WEBHOOK_HOST (a server's, or a proxy's). */
  port: number;
  values: Record<string, unknown>;
}

/**
 * What one test file works with: clients of the run's cluster, its own folder, a CA for its webhook servers,
 * and everything it starts or installs, undone by stop().
 */
export class E2eHarness {
  readonly servers: PodpatternsServer[] = [];
  private readonly proxies: ServiceProxy[] = [];
  private readonly installed = new Map<string, KubeManifest>();

  private constructor(
    readonly cluster: E2eCluster,
    readonly clients: Clients,
    readonly directory: string,
    readonly ca: WebhookCa,
  ) {}

  /** `name` names the file's folder and is the prefix of its namespaces. */
  static async start(name: string): Promise<E2eHarness> {
    const cluster = inject('e2e');
    const directory = join(cluster.runDirectory, name);
    await mkdir(directory, { recursive: true });
    return new E2eHarness(cluster, clientsFor(kubeConfigFor(cluster)), directory, await WebhookCa.create(cluster.webhookHost));
  }

  /** A namespace name unique to the run. */
  namespace(purpose: string): string {
    return `${purpose}-${this.cluster.runId}`;
  }

  async createNamespaces(...names: string[]): Promise<void> {
    for (const name of names) await createNamespace(this.clients, this.cluster, name);
  }

  /** A `podpatterns serve` process with a fresh serving certificate and the policy the chart renders for `values`. */
  async startServer(name: string, options: ServerOptions = {}): Promise<PodpatternsServer> {
    const tls = new SecretVolume(join(this.directory, `${name}-tls`));
    await tls.write(await this.ca.issue());
    const policyFile = join(this.directory, `${name}-policy.yaml`);
    await writeFile(policyFile, await renderPolicy(this.cluster, this.directory, `policy-${name}`, options.values ?? {}));
    const server = await PodpatternsServer.start({
      name,
      cluster: this.cluster,
      directory: this.directory,
      tls,
      ca: this.ca.cert,
      policyFile,
      ...(options.shutdownDelay && { shutdownDelay: options.shutdownDelay }),
      ...(options.args && { args: options.args }),
    });
    this.servers.push(server);
    return server;
  }

  /** The folder of a server's certificate files, to rotate them. */
  certificateVolume(server: PodpatternsServer): SecretVolume {
    return new SecretVolume(join(this.directory, `${server.name}-tls`));
  }

  async startProxy(): Promise<{ proxy: ServiceProxy; port: number }> {
    const proxy = new ServiceProxy({ ca: this.ca.cert });
    this.proxies.push(proxy);
    return { proxy, port: await proxy.listen(this.cluster.listenHost) };
  }

  /** Renders the chart's webhook configurations for a server on `port` and creates (or replaces) them. */
  async install(options: InstallOptions): Promise<KubeManifest[]> {
    const configurations = await renderConfigurations(this.cluster, this.directory, {
      release: options.release,
      url: `https://${this.cluster.webhookHost}:${options.port}`,
      caBundle: this.ca.caBundle,
      values: options.values,
    });
    await applyConfigurations(this.clients, this.cluster, configurations);
    for (const configuration of configurations) this.installed.set(`${configuration.kind}/${configuration.metadata.name}`, configuration);
    return configurations;
  }

  /**
   * Waits until the API server uses the installed configuration for `namespace`: it reads webhook
   * configurations through an informer, so a new one applies a moment after it is stored.
   */
  async untilEnforced(namespace: string): Promise<void> {
    await waitFor(`podpatterns enforcing in ${namespace}`, async () => {
      const refused = await refusal(this.clients.core.createNamespacedPod({ namespace, body: pod('probe', conflictingContainers()), dryRun: 'All' }));
      if (!refused.message.includes('denied the request')) throw new Error(refused.message);
      return true;
    }, { timeoutMs: 15_000 });
  }

  /** Deletes installed configurations, then stops proxies and servers; namespaces go with the run. */
  async stop(): Promise<void> {
    await deleteConfigurations(this.clients, [...this.installed.values()]);
    this.installed.clear();
    await Promise.all(this.proxies.map((proxy) => proxy.close()));
    await Promise.all(this.servers.map((server) => server.stop()));
  }
}
