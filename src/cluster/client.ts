import { delimiter } from 'node:path';
import type { CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { compareVersions, parseVersion, type KubeVersion } from '../model/version.js';
import { PodpatternsError, errorMessage } from '../policy/errors.js';

export interface ClusterConnection {
  /** A kubeconfig path, or several joined like `KUBECONFIG` (the first file's context wins). */
  kubeconfig?: string;
  /** Use the pod's service account (in-cluster configuration). */
  inCluster: boolean;
}

/** What podpatterns reads from the Kubernetes API: nothing else, and never a write. */
export interface ClusterReader {
  /** Where the API server is, for logs. */
  readonly server: string;
  serverVersion(): Promise<KubeVersion>;
  /** The oldest kubelet of all nodes; undefined when the cluster has no node (or none reports a version). */
  oldestKubelet(): Promise<{ version: KubeVersion | undefined; nodes: number }>;
}

const NODE_PAGE_SIZE = 500;
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * A reader for the cluster the connection names, or undefined when none is configured. The client library
 * is loaded only then: it is the largest dependency, and a webhook with fixed versions never needs it.
 */
export async function connectToCluster(connection: ClusterConnection): Promise<ClusterReader | undefined> {
  if (connection.kubeconfig === undefined && !connection.inCluster) return undefined;
  const { CoreV1Api, KubeConfig, VersionApi } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  try {
    if (connection.kubeconfig !== undefined) {
      const [first, ...others] = connection.kubeconfig.split(delimiter).filter(Boolean);
      if (first === undefined) return undefined;
      config.loadFromFile(first);
      for (const file of others) {
        const other = new KubeConfig();
        other.loadFromFile(file);
        config.mergeConfig(other, true);
      }
    } else if (connection.inCluster) {
      config.loadFromCluster();
    } else {
      return undefined;
    }
  } catch (error) {
    const where = connection.kubeconfig !== undefined ? `kubeconfig ${connection.kubeconfig}` : 'in-cluster configuration';
    throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `${where}: cannot be loaded: ${errorMessage(error)}`, { cause: error });
  }
  return new KubeApiReader(config, config.makeApiClient(VersionApi), config.makeApiClient(CoreV1Api));
}

/** Exported for callers that load the kubeconfig themselves (`audit --cluster --context`). */
export class KubeApiReader implements ClusterReader {
  readonly server: string;

  constructor(
    config: KubeConfig,
    private readonly versions: VersionApi,
    private readonly core: CoreV1Api,
  ) {
    this.server = config.getCurrentCluster()?.server ?? '(no current cluster)';
  }

  async serverVersion(): Promise<KubeVersion> {
    const info = await withTimeout(this.versions.getCode(), `GET ${this.server}/version`);
    const version = versionFromInfo(info);
    if (!version) throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `GET ${this.server}/version: no usable version in ${JSON.stringify(info)}`);
    return version;
  }

  async oldestKubelet(): Promise<{ version: KubeVersion | undefined; nodes: number }> {
    let oldest: KubeVersion | undefined;
    let nodes = 0;
    let token: string | undefined;
    do {
      const page = await withTimeout(
        this.core.listNode({ limit: NODE_PAGE_SIZE, ...(token !== undefined && { _continue: token }) }),
        `GET ${this.server}/api/v1/nodes`,
      );
      for (const node of page.items ?? []) {
        nodes++;
        const version = parseVersion(node.status?.nodeInfo?.kubeletVersion ?? '');
        if (version && (!oldest || compareVersions(version, oldest) < 0)) oldest = version;
      }
      token = page.metadata?._continue || undefined;
    } while (token !== undefined);
    return { version: oldest, nodes };
  }
}

interface VersionInfoFields {
  major?: string;
  minor?: string;
  emulationMajor?: string;
  emulationMinor?: string;
  gitVersion?: string;
}

/**
 * The version whose behaviour the API server has. With `--emulated-version` the feature gates follow the
 * emulated version, which /version reports as emulationMajor/emulationMinor (k8s.io/component-base
 * compatibility); managed clusters report minors such as "29+", and a binary built without version
 * ldflags reports gitVersion v0.0.0-master, so major/minor come before gitVersion.
 */
export function versionFromInfo(info: VersionInfoFields): KubeVersion | undefined {
  const candidates = [
    info.emulationMajor && info.emulationMinor ? `${info.emulationMajor}.${info.emulationMinor}` : undefined,
    info.major && info.minor ? `${info.major}.${info.minor.replace(/\D+$/, '')}` : undefined,
    info.gitVersion,
  ];
  for (const candidate of candidates) {
    const version = candidate === undefined ? undefined : parseVersion(candidate);
    if (version && version.major >= 1) return version;
  }
  return undefined;
}

async function withTimeout<T>(request: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000}s`)), REQUEST_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([request, timeout]);
  } catch (error) {
    throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `${what}: ${errorMessage(error)}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}
