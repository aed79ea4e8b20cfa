import { isObject, type Container, type JsonObject, type PodSpec } from './kube.js';
import { memoized } from './memo.js';

const BINARY_SUFFIXES: Readonly<Record<string, number>> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL_SUFFIXES: Readonly<Record<string, number>> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|K|M|G|T|P|E)?$/;

/** Parses a Kubernetes resource quantity ("250m", "1.5", "128Mi", "1e3") into base units; undefined when malformed. */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  return typeof value === 'string' ? parseQuantityText(value) : undefined;
}

/** Fleets write the same few quantities ('100m', '128Mi') over and over. */
const parseQuantityText = memoized((value: string): number | undefined => {
  const match = QUANTITY.exec(value.trim());
  if (!match) return undefined;
  const suffix = match[2] ?? '';
  const factor = BINARY_SUFFIXES[suffix] ?? DECIMAL_SUFFIXES[suffix];
  return factor === undefined ? undefined : Number(match[1]) * factor;
});

/**
 * A container's request for a resource. Like the API server's defaulting, a limit with no request
 * counts as the request.
 */
export function containerRequest(container: Container, resource: string): number | undefined {
  const resources = isObject(container.resources) ? container.resources : {};
  const requests = isObject(resources.requests) ? resources.requests : {};
  const limits = isObject(resources.limits) ? resources.limits : {};
  return parseQuantity(quantityOf(requests, resource)) ?? parseQuantity(quantityOf(limits, resource));
}

/** `map[resource]`, cpu and memory read by name: a read through a variable key costs several times more. */
function quantityOf(map: JsonObject, resource: string): unknown {
  return resource === 'cpu' ? map.cpu : resource === 'memory' ? map.memory : map[resource];
}

export function hasRequest(container: Container, resource: string): boolean {
  return containerRequest(container, resource) !== undefined;
}

/**
 * The pod's effective request for a resource, as the scheduler computes it with native sidecars (KEP-753):
 * max( max over regular init containers i of (init_i + native sidecars started before i),
 *      sum(native sidecars) + sum(regular containers) ).
 * Pod overhead is left out: it is the same before and after any change podpatterns makes.
 */
export function effectivePodRequest(spec: PodSpec, resource: string): number {
  let sidecarsSoFar = 0;
  let initPeak = 0;
  for (const init of Array.isArray(spec.initContainers) ? spec.initContainers : []) {
    if (!isObject(init)) continue;
    const request = containerRequest(init, resource) ?? 0;
    if (init.restartPolicy === 'Always') sidecarsSoFar += request;
    else initPeak = Math.max(initPeak, request + sidecarsSoFar);
  }
  let running = sidecarsSoFar;
  for (const container of Array.isArray(spec.containers) ? spec.containers : []) {
    if (isObject(container)) running += containerRequest(container, resource) ?? 0;
  }
  return Math.max(initPeak, running);
}

/** Renders a quantity back for messages: cores as millicores, bytes as Mi. */
export function formatQuantity(value: number, resource: string): string {
  if (resource === 'cpu') return `${Math.round(value * 1000)}m`;
  if (resource === 'memory' || resource === 'ephemeral-storage') return `${Math.round((value / 2 ** 20) * 10) / 10}Mi`;
  return String(value);
}
