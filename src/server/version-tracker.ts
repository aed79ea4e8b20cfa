import type { Logger } from 'pino';
import { compareVersions, formatVersion, NEWEST_KNOWN_VERSION, type KubeVersion } from '../model/version.js';
import { errorMessage } from '../errors.js';
import type { ClusterReader } from '../kube/version-reader.js';

export interface ClusterVersions {
  /** The API server's version. */
  kubernetesVersion: KubeVersion;
  /** The oldest kubelet in the cluster. */
  minKubeletVersion: KubeVersion;
}

export interface VersionTrackerOptions {
  /** Absent: no cluster is configured. */
  reader?: ClusterReader;
  /** Versions fixed by flags: never read from the cluster. */
  kubernetesVersion?: KubeVersion;
  minKubeletVersion?: KubeVersion;
  refreshIntervalMs: number;
  logger: Logger;
}

/** Retry sooner while the cluster has never answered, so a webhook that starts before its API server catches up. */
const RETRY_UNTIL_FIRST_ANSWER_MS = 30_000;

/**
 * The cluster versions the rules are evaluated against: the flags when given, else read from the API server
 * (/version and the nodes' kubelet versions) at start and periodically, since nodes join and upgrade. A failed
 * read keeps the last known versions; with no flag and no answer yet, NEWEST_KNOWN_VERSION is assumed.
 */
export class ClusterVersionTracker {
  private versions: ClusterVersions;
  private timer: NodeJS.Timeout | undefined;
  private answered = false;
  private stopped = false;

  constructor(private readonly options: VersionTrackerOptions) {
    const kubernetesVersion = options.kubernetesVersion ?? NEWEST_KNOWN_VERSION;
    this.versions = { kubernetesVersion, minKubeletVersion: options.minKubeletVersion ?? kubernetesVersion };
  }

  current(): ClusterVersions {
    return this.versions;
  }

  private get needsCluster(): boolean {
    return this.options.kubernetesVersion === undefined || this.options.minKubeletVersion === undefined;
  }

  /** Reads the cluster once (never throws), then keeps refreshing in the background until stop(). */
  async start(): Promise<void> {
    const { reader, logger } = this.options;
    if (!this.needsCluster) {
      logger.info(this.describe(), 'cluster versions set by flags');
      return;
    }
    if (!reader) {
      const message =
        this.options.kubernetesVersion === undefined
          ? 'no cluster configured (no --kubeconfig, KUBECONFIG, ~/.kube/config or in-cluster service account) and no --kubernetes-version: assuming the newest known Kubernetes version'
          : 'no cluster configured and no --min-kubelet-version: assuming the kubelets run --kubernetes-version';
      logger.warn(this.describe(), message);
      return;
    }
    await this.refresh();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Reads the versions the flags do not fix; keeps the previous ones when the cluster does not answer. */
  async refresh(): Promise<void> {
    const { reader, logger } = this.options;
    if (!reader || !this.needsCluster) return;
    try {
      const kubernetesVersion = this.options.kubernetesVersion ?? (await reader.serverVersion());
      let minKubeletVersion = this.options.minKubeletVersion;
      let nodes: number | undefined;
      if (minKubeletVersion === undefined) {
        const kubelets = await reader.oldestKubelet();
        nodes = kubelets.nodes;
        // No node yet (a fresh control plane): pods cannot run anywhere, so the API server's version stands in.
        minKubeletVersion = kubelets.version ?? kubernetesVersion;
      }
      const next = { kubernetesVersion, minKubeletVersion };
      const changed = !this.answered || !sameVersions(next, this.versions);
      this.versions = next;
      this.answered = true;
      if (changed) logger.info({ ...this.describe(), nodes, server: reader.server }, 'cluster versions read from the API server');
    } catch (error) {
      const known = this.answered ? 'keeping the last versions read' : 'assuming the newest known Kubernetes version until it answers';
      logger.warn({ ...this.describe(), server: reader.server, err: errorMessage(error) }, `cannot read cluster versions: ${known}`);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = this.answered ? this.options.refreshIntervalMs : Math.min(this.options.refreshIntervalMs, RETRY_UNTIL_FIRST_ANSWER_MS);
    this.timer = setTimeout(() => void this.refresh().finally(() => this.schedule()), delay);
    this.timer.unref();
  }

  private describe(): Record<string, string> {
    return {
      kubernetesVersion: formatVersion(this.versions.kubernetesVersion),
      minKubeletVersion: formatVersion(this.versions.minKubeletVersion),
    };
  }
}

function sameVersions(a: ClusterVersions, b: ClusterVersions): boolean {
  return compareVersions(a.kubernetesVersion, b.kubernetesVersion) === 0 && compareVersions(a.minKubeletVersion, b.minKubeletVersion) === 0;
}
