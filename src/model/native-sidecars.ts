import { atLeast, formatVersion, type KubeVersion } from './version.js';

/**
 * Native sidecars (init containers with `restartPolicy: Always`) work from 1.29, where the SidecarContainers
 * feature gate is beta and on by default; it is alpha and off in 1.28 (pkg/features/kube_features.go).
 */
export const NATIVE_SIDECARS_SINCE = '1.29';

export interface SidecarBlocker {
  component: 'API server' | 'kubelet';
  version: KubeVersion;
}

/**
 * The cluster components too old to run native sidecars: the API server, and the oldest kubelet (version
 * skew lets nodes run up to three minors behind). Empty when both are 1.29 or newer.
 */
export function nativeSidecarBlockers(apiServer: KubeVersion, oldestKubelet: KubeVersion): SidecarBlocker[] {
  const blockers: SidecarBlocker[] = [];
  if (!atLeast(apiServer, 1, 29)) blockers.push({ component: 'API server', version: apiServer });
  if (!atLeast(oldestKubelet, 1, 29)) blockers.push({ component: 'kubelet', version: oldestKubelet });
  return blockers;
}

export function nativeSidecarsSupported(apiServer: KubeVersion, oldestKubelet: KubeVersion): boolean {
  return nativeSidecarBlockers(apiServer, oldestKubelet).length === 0;
}

/** "the API server (1.28)" / "the oldest kubelet (1.27)", for messages. */
export function describeBlocker(blocker: SidecarBlocker): string {
  const who = blocker.component === 'kubelet' ? 'the oldest kubelet' : 'the API server';
  return `${who} (${formatVersion(blocker.version)})`;
}
