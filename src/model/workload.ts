import { asArray, asString, isObject, type JsonObject, type KubeObject, type PodSpec } from './kube.js';

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

/** Where a kind keeps its pod spec, and the path of that spec as findings name it. */
const POD_SPEC_LOCATIONS: ReadonlyMap<string, { keys: readonly string[]; specPath: string }> = new Map(
  Object.entries(POD_SPEC_PATHS).map(([kind, keys]) => [kind, { keys, specPath: keys.join('.') }]),
);

export interface PodTemplate {
  spec: PodSpec;
  /** Dotted path of the pod spec inside the object, e.g. `spec.template.spec`. */
  specPath: string;
  /** The pod's metadata (the template's, or the Pod's own): its annotations and labels are the pod's. */
  metadata: unknown;
}

/** The pod spec a workload object carries, or undefined for kinds without one (and for malformed objects). */
export function podTemplateOf(object: KubeObject): PodTemplate | undefined {
  const kind = object.kind;
  const location = typeof kind === 'string' ? POD_SPEC_LOCATIONS.get(kind) : undefined;
  if (!location) return undefined;
  // The metadata beside the spec: the template's (`spec.template.metadata`), or the Pod's own.
  let holder: unknown;
  let node: unknown = object;
  for (const key of location.keys) {
    if (!isObject(node)) return undefined;
    holder = node;
    node = child(node, key);
  }
  if (!isObject(node)) return undefined;
  return { spec: node as PodSpec, specPath: location.specPath, metadata: isObject(holder) ? holder.metadata : undefined };
}

/** `node[key]` for the keys of POD_SPEC_PATHS, each read by name: a read through a variable key costs several times more. */
function child(node: JsonObject, key: string): unknown {
  switch (key) {
    case 'spec':
      return node.spec;
    case 'template':
      return node.template;
    case 'jobTemplate':
      return node.jobTemplate;
    default:
      return node[key];
  }
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
  // An object at the top of its document: its own paths, as they are.
  if (parts.length === 2 && parts[0] === '' && !parts[1]!.includes('.[')) return parts[1]!;
  return parts.filter((part) => part !== '').join('.').replace(/\.\[/g, '[');
}
