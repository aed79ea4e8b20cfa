import { asArray, asString, isObject, type PodSpec } from '../model/kube.js';
import { isFalse, isTrue } from './annotations.js';
import { capWarning } from './warnings.js';

export type Mesh = 'istio' | 'linkerd';

export interface MeshSwitch {
  mesh: Mesh;
  /** Pod template annotations that make the mesh inject its proxy as a native sidecar. */
  annotations: Record<string, string>;
}

export interface MeshPlan {
  switches: MeshSwitch[];
  warnings: string[];
}

export interface PodMetadata {
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

/** Istio 1.24+ reads this pod annotation before its global ENABLE_NATIVE_SIDECARS setting. */
export const ISTIO_NATIVE_SIDECAR = 'sidecar.istio.io/nativeSidecar';

/**
 * Linkerd renamed its switch as the feature matured: `config.alpha.` (2.15–2.18), `config.beta.` (2.19, the alpha
 * name deprecated), `config.linkerd.io/` (2.20, where native is the default). Setting every name reaches every
 * release; each release ignores the names it does not know.
 */
export const LINKERD_NATIVE_SIDECAR = [
  'config.alpha.linkerd.io/proxy-enable-native-sidecar',
  'config.beta.linkerd.io/proxy-enable-native-sidecar',
  'config.linkerd.io/proxy-enable-native-sidecar',
] as const;

/**
 * Istio and Linkerd inject their proxy at Pod creation, after this webhook has seen the Job: the proxy cannot be
 * moved, but each mesh has a switch that makes it inject a native sidecar. Namespace-wide injection is only
 * visible when the caller passes the namespace's labels or annotations.
 */
export function meshSwitches(pod: PodMetadata, spec: PodSpec, namespace: Record<string, string>): MeshPlan {
  const present = new Set(
    [...asArray(spec.containers), ...asArray(spec.initContainers)].filter(isObject).map((container) => asString(container.name)),
  );
  const switches: MeshSwitch[] = [];
  const warnings: string[] = [];
  if (istioInjects(pod, namespace) && !present.has('istio-proxy')) {
    const current = pod.annotations[ISTIO_NATIVE_SIDECAR];
    if (current === undefined) switches.push({ mesh: 'istio', annotations: { [ISTIO_NATIVE_SIDECAR]: 'true' } });
    else if (isFalse(current)) warnings.push(`${ISTIO_NATIVE_SIDECAR} is "false": the injected istio-proxy will keep this Job from completing`);
  }
  if (linkerdInjects(pod, namespace) && !present.has('linkerd-proxy')) {
    const current = LINKERD_NATIVE_SIDECAR.map((key) => pod.annotations[key]).filter((value) => value !== undefined);
    if (current.length === 0) switches.push({ mesh: 'linkerd', annotations: Object.fromEntries(LINKERD_NATIVE_SIDECAR.map((key) => [key, 'true'])) });
    else if (current.some(isFalse)) warnings.push('proxy-enable-native-sidecar is "false": the injected linkerd-proxy will keep this Job from completing');
  }
  return { switches, warnings: warnings.map(capWarning) };
}

/** The pod label (or the older annotation) decides; else the namespace's `istio-injection` or revision label. */
function istioInjects(pod: PodMetadata, namespace: Record<string, string>): boolean {
  const own = pod.labels['sidecar.istio.io/inject'] ?? pod.annotations['sidecar.istio.io/inject'];
  if (own !== undefined) return isTrue(own);
  if (pod.labels['istio.io/rev'] !== undefined) return true;
  if (namespace['istio-injection'] !== undefined) return namespace['istio-injection'] === 'enabled';
  return namespace['istio.io/rev'] !== undefined;
}

function linkerdInjects(pod: PodMetadata, namespace: Record<string, string>): boolean {
  const value = pod.annotations['linkerd.io/inject'] ?? namespace['linkerd.io/inject'];
  return value === 'enabled' || value === 'ingress';
}
