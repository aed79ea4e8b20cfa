import { formatVersion, type KubeVersion } from '../model/version.js';
import { PodpatternsError, errorMessage } from '../policy/errors.js';
import type { KubeApi } from './api.js';
import { versionFromInfo, type ClusterReader } from './client.js';
import { describeApiError } from './errors.js';

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
 * The kubelets come from the node list (ClusterReader); a user who may not list nodes gets a warning and the
 * API server's version instead.
 */
export async function auditVersions(api: KubeApi, reader: ClusterReader, flags: VersionFlags): Promise<AuditVersions> {
  const info = await api.call<Parameters<typeof versionFromInfo>[0]>({ verb: 'get', path: '/version' }).catch((error: unknown) => {
    throw describeApiError(error, api, 'get /version');
  });
  const served = versionFromInfo(info);
  const kubernetesVersion = flags.kubernetesVersion ?? served;
  if (!kubernetesVersion) {
    throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `GET ${api.server}/version: no usable version in ${JSON.stringify(info)}; pass --kubernetes-version`);
  }
  if (flags.minKubeletVersion) return { kubernetesVersion, minKubeletVersion: flags.minKubeletVersion, warnings: [] };
  try {
    const kubelets = await reader.oldestKubelet();
    // No node (a bare control plane): no pod runs anywhere yet, so the API server's version stands in.
    return { kubernetesVersion, minKubeletVersion: kubelets.version ?? kubernetesVersion, nodes: kubelets.nodes, warnings: [] };
  } catch (error) {
    const refusal = refusalOf(error);
    if (refusal?.code !== 403) throw error;
    const warning =
      `may not list nodes, so the kubelets' versions are unknown (${refusal.message}): assuming ${formatVersion(kubernetesVersion)}, ` +
      'the API server\'s; pass --min-kubelet-version to set the oldest kubelet';
    return { kubernetesVersion, minKubeletVersion: kubernetesVersion, warnings: [warning] };
  }
}

/** The status behind the reader's error: its cause is the client's ApiException, with `code` and the Status `body`. */
function refusalOf(error: unknown): { code: number; message: string } | undefined {
  const cause = error instanceof Error ? error.cause : undefined;
  if (typeof cause !== 'object' || cause === null) return undefined;
  const { code, body } = cause as { code?: unknown; body?: unknown };
  if (typeof code !== 'number') return undefined;
  let status: unknown = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      status = undefined;
    }
  }
  const message = typeof status === 'object' && status !== null ? (status as { message?: unknown }).message : undefined;
  return { code, message: typeof message === 'string' ? message : errorMessage(error) };
}
