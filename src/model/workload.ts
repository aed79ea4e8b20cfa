import { asArray, asString, isObject, stringMap, type KubeObject, type PodSpec } from './kube.js';

/** Where a kind keeps its pod template, as a path of keys from the object. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  PodTemplate: ['template', 'spec'],
};

export const POD_BEARING_KINDS: readonly string[] = Object.keys(POD_SPEC_PATHS);

export interface PodTemplate {
  spec: PodSpec;
  /** Dotted path of the pod spec inside the object, e.g. `spec.template.spec`. */
  specPath: string;
  /** Annotations of the pod (the template's metadata, or the Pod's own). */
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

/** The pod spec a workload object carries, or undefined for kinds without one (and for malformed objects). */
export function podTemplateOf(object: KubeObject): PodTemplate | undefined {
  const kind = asString(object.kind);
  const keys = kind ? POD_SPEC_PATHS[kind] : undefined;
  if (!keys) return undefined;
  let node: unknown = object;
  for (const key of keys) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  if (!isObject(node)) return undefined;
  const metaHolder = keys.length === 1 ? object : walk(object, keys.slice(0, -1));
  const metadata = isObject(metaHolder) ? metaHolder.metadata : undefined;
  return {
    spec: node as PodSpec,
    specPath: keys.join('.'),
    annotations: stringMap(isObject(metadata) ? metadata.annotations : undefined),
    labels: stringMap(isObject(metadata) ? metadata.labels : undefined),
  };
}

function walk(node: unknown, keys: readonly string[]): unknown {
  for (const key of keys) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

/** `List`, `PodList`, `DeploymentList`, …: any kind ending in List that carries `items`. */
export function isListKind(object: KubeObject): boolean {
  const kind = asString(object.kind);
  return kind !== undefined && kind.endsWith('List') && Array.isArray(object.items);
}

export interface ObjectAt {
  object: KubeObject;
  /** Path of the object inside the document: '' for the document itself, `items[3]` for a List item. */
  path: string;
}

/** The objects a document holds: itself, or the items of a List (recursively, for Lists of Lists). */
export function objectsIn(document: unknown, path = ''): ObjectAt[] {
  if (!isObject(document)) return [];
  const object = document as KubeObject;
  if (!isListKind(object)) return [{ object, path }];
  return asArray(object.items).flatMap((item, index) => objectsIn(item, joinPath(path, `items[${index}]`)));
}

export function joinPath(...parts: string[]): string {
  return parts.filter((part) => part !== '').join('.').replace(/\.\[/g, '[');
}
