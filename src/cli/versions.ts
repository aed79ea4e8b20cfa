import { PodpatternsError } from '../errors.js';
import { compareVersions, formatVersion, NEWEST_KNOWN_VERSION, type KubeVersion } from '../model/version.js';

/** The cluster `--kubernetes-version` and `--min-kubelet-version` describe: the newest known version by default, kubelets as new as the API server. */
export function clusterVersions(flags: { kubernetesVersion?: KubeVersion | undefined; minKubeletVersion?: KubeVersion | undefined }): {
  kubernetesVersion: KubeVersion;
  minKubeletVersion: KubeVersion;
} {
  const kubernetesVersion = flags.kubernetesVersion ?? NEWEST_KNOWN_VERSION;
  const minKubeletVersion = flags.minKubeletVersion ?? kubernetesVersion;
  if (compareVersions(minKubeletVersion, kubernetesVersion) > 0) {
    // Kubelets may be older than the API server, never newer (https://kubernetes.io/releases/version-skew-policy/).
    throw new PodpatternsError(
      'PODPATTERNS_ERR_USAGE',
      `--min-kubelet-version ${formatVersion(minKubeletVersion)} is newer than --kubernetes-version ${formatVersion(kubernetesVersion)}: kubelets are never newer than the API server`,
    );
  }
  return { kubernetesVersion, minKubeletVersion };
}
