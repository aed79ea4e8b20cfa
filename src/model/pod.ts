import { recognizeHelper, type HelperMatch } from './helpers.js';
import { asString, isObject, stringMap, type Container, type KubeObject, type PodSpec } from './kube.js';
import { joinPath, podTemplateOf } from './workload.js';

export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

export type ContainerSection = 'initContainers' | 'containers';

/**
 * `init`: a regular init container (runs alone, must exit). `native-sidecar`: an init container with
 * `restartPolicy: Always`. `regular`: an entry of `containers`.
 */
export type ContainerKind = 'init' | 'native-sidecar' | 'regular';

export interface ContainerModel {
  name: string;
  spec: Container;
  section: ContainerSection;
  index: number;
  kind: ContainerKind;
  /** `main`: the workload's own process. `sidecar`: every other long-running container. `init`: a regular init container. */
  role: 'main' | 'sidecar' | 'init';
  /** Path of the container inside the evaluated document, e.g. `spec.template.spec.containers[1]`. */
  path: string;
  helper?: HelperMatch;
  /**
   * The start-order phases in which the container runs: init container i runs in phase i only; a native
   * sidecar at position i runs from phase i on; regular containers run in the last phase (after all init
   * containers) and on. Two containers run at the same time when their phase ranges overlap.
   */
  firstPhase: number;
  lastPhase: number;
}

export interface PodModel {
  object: KubeObject;
  resource: ResourceRef;
  /** The workload kind that carries the pod (Pod, Deployment, Job, CronJob, …). */
  kind: string;
  spec: PodSpec;
  /** Path of the pod spec inside the evaluated document, e.g. `spec.template.spec`. */
  specPath: string;
  /** The pod's annotations and labels (pod template metadata). */
  annotations: Record<string, string>;
  labels: Record<string, string>;
  /** Init containers (regular and native) in order, then regular containers in order. */
  containers: ContainerModel[];
  main: ContainerModel | undefined;
  /** Every long-running container except the main one: native sidecars and other regular containers. */
  sidecars: ContainerModel[];
  /** Containers that keep running once the pod has started: native sidecars and regular containers. */
  longRunning: ContainerModel[];
  /**
   * The pod is meant to complete: a Job's or CronJob's, or a Pod a Job owns (the Job controller's pods, into
   * which meshes inject their proxies at Pod creation, not into the Job).
   */
  runToCompletion: boolean;
  /** The name of the Job that owns a Pod, when one does. */
  ownerJob?: string;
  /** The pod's restartPolicy with the API server's defaults (Always for pods, none for Jobs since they must set it). */
  restartPolicy: string;
}

const UNBOUNDED = Number.POSITIVE_INFINITY;

/**
 * Whether two containers run at the same time. In the order of `PodModel.containers`, a container runs together
 * with an earlier one exactly when the earlier one is long-running (a native sidecar or a regular container):
 * an earlier regular init container has exited before anything after it starts. So the first earlier container
 * that runs together with a later one is the first long-running one, which keeps pairwise checks linear.
 */
export function runTogether(a: ContainerModel, b: ContainerModel): boolean {
  return a !== b && a.firstPhase <= b.lastPhase && b.firstPhase <= a.lastPhase;
}

/** How findings, errors and reports name an object. */
export interface ResourceRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export function resourceRef(object: KubeObject): ResourceRef {
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const namespace = asString(metadata.namespace);
  return {
    apiVersion: asString(object.apiVersion) ?? '',
    kind: asString(object.kind) ?? '',
    ...(namespace !== undefined && { namespace }),
    name: asString(metadata.name) ?? asString(metadata.generateName) ?? '',
  };
}

/** Builds the container model of the pod an object carries, or undefined for objects without a pod spec. */
export function podModelOf(object: KubeObject, objectPath = ''): PodModel | undefined {
  const template = podTemplateOf(object);
  if (!template) return undefined;
  const { spec } = template;
  const specPath = joinPath(objectPath, template.specPath);
  const inits = entries(spec.initContainers);
  const regulars = entries(spec.containers);
  const mainPhase = inits.length;

  const containers: ContainerModel[] = [];
  inits.forEach((container, index) => {
    const native = container.restartPolicy === 'Always';
    containers.push(
      model(container, 'initContainers', index, specPath, native ? 'native-sidecar' : 'init', native ? 'sidecar' : 'init', index, native ? UNBOUNDED : index),
    );
  });
  const regularModels = regulars.map((container, index) =>
    model(container, 'containers', index, specPath, 'regular', 'sidecar', mainPhase, UNBOUNDED),
  );
  const main = chooseMain(regularModels, template.annotations[DEFAULT_CONTAINER_ANNOTATION]);
  if (main) main.role = 'main';
  for (const regular of regularModels) containers.push(regular);

  const longRunning = containers.filter((c) => c.kind !== 'init');
  const kind = asString(object.kind) ?? '';
  const ownerJob = kind === 'Pod' ? owningJob(object) : undefined;
  const runToCompletion = kind === 'Job' || kind === 'CronJob' || ownerJob !== undefined;
  return {
    object,
    resource: resourceRef(object),
    kind,
    spec,
    specPath,
    annotations: template.annotations,
    labels: template.labels,
    containers,
    main,
    sidecars: longRunning.filter((c) => c !== main),
    longRunning,
    runToCompletion,
    ...(ownerJob !== undefined && { ownerJob }),
    restartPolicy: asString(spec.restartPolicy) ?? (runToCompletion ? 'Never' : 'Always'),
  };
}

function entries(value: unknown): Container[] {
  return Array.isArray(value) ? value.filter(isObject) as Container[] : [];
}

function model(
  spec: Container,
  section: ContainerSection,
  index: number,
  specPath: string,
  kind: ContainerKind,
  role: ContainerModel['role'],
  firstPhase: number,
  lastPhase: number,
): ContainerModel {
  const helper = recognizeHelper(spec);
  return {
    name: asString(spec.name) ?? `${section}[${index}]`,
    spec,
    section,
    index,
    kind,
    role,
    path: `${specPath}.${section}[${index}]`,
    ...(helper && { helper }),
    firstPhase,
    lastPhase,
  };
}

/**
 * The main container: the one `kubectl.kubernetes.io/default-container` names, else the first regular
 * container that is not a well-known helper (charts often list a config reloader first or the app last),
 * else the first regular container.
 */
function chooseMain(regulars: ContainerModel[], defaultContainer: string | undefined): ContainerModel | undefined {
  if (defaultContainer) {
    const named = regulars.find((c) => c.name === defaultContainer);
    if (named) return named;
  }
  return regulars.find((c) => !c.helper) ?? regulars[0];
}

/** The Job (group batch) among a Pod's ownerReferences, by name; any other owner, or none, is undefined. */
function owningJob(object: KubeObject): string | undefined {
  const metadata = isObject(object.metadata) ? object.metadata : {};
  for (const reference of Array.isArray(metadata.ownerReferences) ? metadata.ownerReferences : []) {
    if (!isObject(reference) || reference.kind !== 'Job') continue;
    const apiVersion = asString(reference.apiVersion) ?? '';
    if (apiVersion.startsWith('batch/')) return asString(reference.name) ?? '';
  }
  return undefined;
}

/** Annotations of the workload object itself (not the pod template). */
export function objectAnnotations(object: KubeObject): Record<string, string> {
  return stringMap(isObject(object.metadata) ? object.metadata.annotations : undefined);
}
