import { asString, isObject, type KubeObject } from '../model/kube.js';
import { compareVersions, parseVersion, type KubeVersion } from '../model/version.js';
import { PodpatternsError } from '../errors.js';
import { KubeApi } from './api.js';
import { describeApiError } from './errors.js';
import { listPages } from './list.js';
import { findKubeConfig, type ClusterSelection, type KubeconfigEnvironment } from './kubeconfig.js';
import type { ListedKind } from './resources.js';

/** What podpatterns reads to know which Kubernetes it checks against: nothing else, and never a write. */
export interface ClusterReader {
  /** Where the API server is, for logs. */
  readonly server: string;
  serverVersion(): Promise<KubeVersion>;
  /** The oldest kubelet of all nodes; undefined when the cluster has no node (or none reports a version). */
  oldestKubelet(): Promise<{ version: KubeVersion | undefined; nodes: number }>;
}

/** The version tracker's requests are small: an API server silent for this long is taken as down until the next refresh. */
const IDLE_TIMEOUT_MS = 10_000;

/**
 * A reader for the cluster the kubeconfig loader finds, exactly as `audit --cluster` finds it; undefined when
 * there is none (no kubeconfig, no service account) and none was asked for. A broken or missing explicit
 * kubeconfig, or an unknown context, throws.
 */
export async function connectVersionReader(selection: ClusterSelection, environment: KubeconfigEnvironment): Promise<ClusterReader | undefined> {
  const loaded = await findKubeConfig(selection, environment);
  return loaded && new KubeVersionReader(new KubeApi(loaded, { idleTimeoutMs: IDLE_TIMEOUT_MS }));
}

const NODES: ListedKind = { kind: 'Node', apiVersion: 'v1', resource: 'nodes' };
const NODE_PAGE_SIZE = 500;

/** The versions of the cluster a KubeApi talks to, read with it. */
export class KubeVersionReader implements ClusterReader {
  readonly server: string;

  constructor(private readonly api: KubeApi) {
    this.server = api.server;
  }

  async serverVersion(): Promise<KubeVersion> {
    const info = await readVersionInfo(this.api);
    const version = versionFromInfo(info);
    if (!version) throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `GET ${this.server}/version: no usable version in ${JSON.stringify(info)}`);
    return version;
  }

  /** Errors are the KubeApi's: an ApiStatusError for an answer such as 403, a PodpatternsError otherwise. */
  async oldestKubelet(): Promise<{ version: KubeVersion | undefined; nodes: number }> {
    let oldest: KubeVersion | undefined;
    let nodes = 0;
    for await (const page of listPages(this.api, NODES, undefined, NODE_PAGE_SIZE)) {
      for (const node of page) {
        nodes++;
        const version = parseVersion(kubeletVersionOf(node));
        if (version && (!oldest || compareVersions(version, oldest) < 0)) oldest = version;
      }
    }
    return { version: oldest, nodes };
  }
}

export interface VersionInfoFields {
  major?: string;
  minor?: string;
  emulationMajor?: string;
  emulationMinor?: string;
  gitVersion?: string;
}

/** `GET /version`, open to every client (the system:public-info-viewer ClusterRole). */
export async function readVersionInfo(api: KubeApi): Promise<VersionInfoFields> {
  return api.call<VersionInfoFields>({ verb: 'get', path: '/version' }).catch((error: unknown) => {
    throw describeApiError(error, api, 'get /version');
  });
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

function kubeletVersionOf(node: KubeObject): string {
  const nodeInfo = isObject(node.status) && isObject(node.status.nodeInfo) ? node.status.nodeInfo : {};
  return asString(nodeInfo.kubeletVersion) ?? '';
}
