import { isObject, type JsonObject } from '../model/kube.js';
import { atLeast, type KubeVersion } from '../model/version.js';
import { capWarning } from './warnings.js';

/** One field of a moved container to set or remove, as a key path inside the container. */
export type FieldFix = { op: 'set'; path: string[]; value: unknown } | { op: 'remove'; path: string[] };

export interface SidecarFixes {
  fixes: FieldFix[];
  warnings: string[];
}

/**
 * What a regular container needs to be accepted as a native sidecar. The API server's rules for an init
 * container with `restartPolicy: Always` (pkg/apis/core/validation validateInitContainers) are those of a regular
 * container for probes and lifecycle: liveness and startup probes need `successThreshold: 1`, a readiness probe
 * may not set `terminationGracePeriodSeconds`. Fields from newer features are fixed too: `restartPolicyRules`
 * (ContainerRestartRules, 1.34+) are only accepted on a sidecar with the alpha RestartAllContainersOnContainerExits
 * gate (pkg/api/pod/util.go), and `resizePolicy` on an init container needs in-place resize of sidecars
 * (InPlacePodVerticalScaling, on by default from 1.33).
 */
export function nativeSidecarFixes(container: JsonObject, name: string, apiServer: KubeVersion): SidecarFixes {
  const fixes: FieldFix[] = [];
  const warnings: string[] = [];
  const previous = container.restartPolicy;
  if (previous !== 'Always') {
    fixes.push({ op: 'set', path: ['restartPolicy'], value: 'Always' });
    if (previous !== undefined) warnings.push(`${name}: restartPolicy ${String(previous)} replaced by Always, which makes it a native sidecar`);
  }
  if (container.restartPolicyRules !== undefined) {
    fixes.push({ op: 'remove', path: ['restartPolicyRules'] });
    warnings.push(`${name}: restartPolicyRules removed: a native sidecar always restarts and rejects them`);
  }
  for (const probe of ['livenessProbe', 'startupProbe']) {
    const spec = container[probe];
    if (isObject(spec) && spec.successThreshold !== undefined && spec.successThreshold !== 1) {
      fixes.push({ op: 'set', path: [probe, 'successThreshold'], value: 1 });
      warnings.push(`${name}: ${probe}.successThreshold ${String(spec.successThreshold)} set to 1, the only value allowed`);
    }
  }
  const readiness = container.readinessProbe;
  if (isObject(readiness) && readiness.terminationGracePeriodSeconds !== undefined) {
    fixes.push({ op: 'remove', path: ['readinessProbe', 'terminationGracePeriodSeconds'] });
    warnings.push(`${name}: readinessProbe.terminationGracePeriodSeconds removed: not allowed on a readiness probe`);
  }
  if (container.resizePolicy !== undefined && !atLeast(apiServer, 1, 33)) {
    fixes.push({ op: 'remove', path: ['resizePolicy'] });
    warnings.push(`${name}: resizePolicy removed: init containers accept it from Kubernetes 1.33`);
  }
  return { fixes, warnings: warnings.map(capWarning) };
}

/**
 * A copy of the container with the fixes applied; every other field, known or not, is kept in its place.
 * A new `restartPolicy` goes right after `image`, where readers look for it.
 */
export function withFixes(container: JsonObject, fixes: readonly FieldFix[]): JsonObject {
  let result: JsonObject = structuredClone(container);
  for (const fix of fixes) {
    if (fix.op === 'set' && fix.path.length === 1 && !(fix.path[0]! in result)) result = insertAfter(result, 'image', fix.path[0]!, fix.value);
    else applyFix(result, fix);
  }
  return result;
}

function applyFix(root: JsonObject, fix: FieldFix): void {
  const parent = fix.path.slice(0, -1).reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), root);
  const key = fix.path[fix.path.length - 1]!;
  if (!isObject(parent)) return;
  if (fix.op === 'set') parent[key] = fix.value;
  else delete parent[key];
}

function insertAfter(object: JsonObject, anchor: string, key: string, value: unknown): JsonObject {
  if (!(anchor in object)) return { ...object, [key]: value };
  const result: JsonObject = {};
  for (const [name, field] of Object.entries(object)) {
    result[name] = field;
    if (name === anchor) result[key] = value;
  }
  return result;
}
