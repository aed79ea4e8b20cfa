/**
 * Minimal, permissive shapes of the Kubernetes objects podpatterns reads.
 * Input comes from users and API servers: every field is optional and may have the wrong type,
 * so readers go through the guards below instead of trusting these types.
 */
export type JsonObject = Record<string, unknown>;

export interface KubeObject extends JsonObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface ObjectMeta extends JsonObject {
  name?: string;
  generateName?: string;
  namespace?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface ContainerPort extends JsonObject {
  name?: string;
  containerPort?: number;
  hostPort?: number;
  protocol?: string;
}

export interface Container extends JsonObject {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: JsonObject[];
  ports?: ContainerPort[];
  restartPolicy?: string;
  resources?: JsonObject;
  volumeMounts?: JsonObject[];
  securityContext?: JsonObject;
  lifecycle?: JsonObject;
  livenessProbe?: JsonObject;
  readinessProbe?: JsonObject;
  startupProbe?: JsonObject;
}

export interface PodSpec extends JsonObject {
  containers?: Container[];
  initContainers?: Container[];
  restartPolicy?: string;
  shareProcessNamespace?: boolean;
  hostNetwork?: boolean;
  terminationGracePeriodSeconds?: number;
  volumes?: JsonObject[];
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asArray<T = unknown>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** String map (annotations, labels); non-string values are ignored rather than trusted. */
export function stringMap(value: unknown): Record<string, string> {
  if (!isObject(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}
