import type { Rule } from '../engine/types.js';
import { portConflict } from './port-conflict.js';
import { initContainerNeverExits } from './init-container-never-exits.js';
import { restartPolicyOnContainer } from './restart-policy-on-container.js';
import { nativeSidecarUnsupported } from './native-sidecar-unsupported.js';
import { initContainerProbes } from './init-container-probes.js';
import { classicSidecarInJob } from './classic-sidecar-in-job.js';
import { sidecarMissingResources } from './sidecar-missing-resources.js';
import { unpinnedImage } from './unpinned-image.js';
import { tooManySidecars } from './too-many-sidecars.js';
import { sharedProcessNamespace } from './shared-process-namespace.js';
import { hostNetworkSidecars } from './host-network-sidecars.js';
import { memoryEmptyDirNoSizeLimit } from './memory-emptydir-no-size-limit.js';
import { localhostPortNotDeclared } from './localhost-port-not-declared.js';
import { preStopExceedsGracePeriod } from './prestop-exceeds-grace-period.js';
import { privilegedSidecar } from './privileged-sidecar.js';
import { hpaPodAverageOnMultiContainer } from './hpa-pod-average-on-multi-container.js';
import { sharedVolumeConcurrentWriters } from './shared-volume-concurrent-writers.js';
import { probeNamedPortUndeclared } from './probe-named-port-undeclared.js';
import { duplicatePortName } from './duplicate-port-name.js';
import { hostPidIpcSidecars } from './host-pid-ipc-sidecars.js';

/** Every rule podpatterns ships, in the order the README documents them. Ids are stable. */
export const ALL_RULES: readonly Rule[] = [
  portConflict,
  duplicatePortName,
  initContainerNeverExits,
  restartPolicyOnContainer,
  nativeSidecarUnsupported,
  initContainerProbes,
  probeNamedPortUndeclared,
  classicSidecarInJob,
  sidecarMissingResources,
  unpinnedImage,
  tooManySidecars,
  sharedProcessNamespace,
  hostNetworkSidecars,
  hostPidIpcSidecars,
  memoryEmptyDirNoSizeLimit,
  localhostPortNotDeclared,
  preStopExceedsGracePeriod,
  privilegedSidecar,
  hpaPodAverageOnMultiContainer,
  sharedVolumeConcurrentWriters,
];
