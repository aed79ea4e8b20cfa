import { formatVersion, type KubeVersion } from '../model/version.js';
import { PodpatternsError } from '../errors.js';
import { ApiStatusError, type KubeApi } from '../kube/api.js';
import { describeApiError } from '../kube/errors.js';
import { KubeVersionReader, readVersionInfo, versionFromInfo } from '../kube/version-reader.js';

export interface VersionFlags {
  kubernetesVersion?: KubeVersion;
  minKubeletVersion?: KubeVersion;
}

export interface AuditVersions {
  kubernetesVersion: KubeVersion;
  minKubeletVersion: KubeVersion;
  /** Nodes read, when the kubelets were looked at. */
  nodes?: number;
  /** What was assumed for want of permission, for standard error. */
  warnings: string[];
}

/**
 * The versions a cluster audit checks against: the flags, else the cluster's. `GET /version` is always sent:
 * it is the first request, so an unreachable server or rejected credentials fail here with a clear message.
 * The kubelets come from the node list; a user who may not list nodes gets a warning and the API server's
 * version instead.
 */
export async function auditVersions(api: KubeApi, flags: VersionFlags): Promise<AuditVersions> {
  const info = await readVersionInfo(api);
  const kubernetesVersion = flags.kubernetesVersion ?? versionFromInfo(info);
  if (!kubernetesVersion) {
    throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `GET ${api.server}/version: no usable version in ${JSON.stringify(info)}; pass --kubernetes-version`);
  }
  if (flags.minKubeletVersion) return { kubernetesVersion, minKubeletVersion: flags.minKubeletVersion, warnings: [] };
  try {
    const kubelets = await new KubeVersionReader(api).oldestKubelet();
    // No node (a bare control plane): no pod runs anywhere yet, so the API server's version stands in.
    return { kubernetesVersion, minKubeletVersion: kubelets.version ?? kubernetesVersion, nodes: kubelets.nodes, warnings: [] };
  } catch (error) {
    if (!(error instanceof ApiStatusError && error.code === 403)) throw describeApiError(error, api, 'list nodes (for the oldest kubelet version)');
    const warning =
      `may not list nodes, so the kubelets' versions are unknown (${error.serverMessage}): assuming ${formatVersion(kubernetesVersion)}, ` +
      'the API server\'s; pass --min-kubelet-version to set the oldest kubelet';
    return { kubernetesVersion, minKubeletVersion: kubernetesVersion, warnings: [warning] };
  }
}
