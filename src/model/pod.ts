import { longRunningCommand, type LongRunningEvidence } from './command.js';
import { endpointsOf, type ContainerEndpoints } from './endpoints.js';
import { helperOf, type HelperMatch } from './helpers.js';
import { parseImage, type ImageRef } from './image.js';
import { asString, isObject, stringMap, type Container, type KubeObject, type PodSpec } from './kube.js';
import { portEntries, type PortEntry } from './ports.js';
import { containerRequest } from './resources.js';
import { joinPath, podTemplateOf, type PodTemplate } from './workload.js';

export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

export type ContainerSection = 'initContainers' | 'containers';

/**
 * `init`: a regular init container (runs alone, must exit). `native-sidecar`: an init container with
 * `restartPolicy: Always`. `regular`: an entry of `containers`.
 */
export type ContainerKind = 'init' | 'native-sidecar' | 'regular';

export interface ContainerModel {
  readonly name: string;
  readonly spec: Container;
  readonly section: ContainerSection;
  readonly index: number;
  readonly kind: ContainerKind;
  /** `main`: the workload's own process. `sidecar`: every other long-running container. `init`: a regular init container. */
  readonly role: 'main' | 'sidecar' | 'init';
  /** Path of the container inside the evaluated document, e.g. `spec.template.spec.containers[1]`. */
  readonly path: string;
  /**
   * The start-order phases in which the container runs: init container i runs in phase i only; a native
   * sidecar at position i runs from phase i on; regular containers run in the last phase (after all init
   * containers) and on. Two containers run at the same time when their phase ranges overlap.
   */
  readonly firstPhase: number;
  readonly lastPhase: number;
  /*
   * What follows is read from the spec the first time a rule asks and kept: every rule that needs the
   * container's image, ports or command shares one reading, and a rule that needs none pays nothing.
   */
  /** The well-known helper the container is, by image or name. */
  readonly helper: HelperMatch | undefined;
  /** `spec.image` parsed; undefined when it is not a string. */
  readonly image: ImageRef | undefined;
  /** The entries of `spec.ports`. */
  readonly ports: readonly PortEntry[];
  /** What keeps its command running forever, when it never returns on its own (see longRunningCommand). */
  readonly longRunningCommand: LongRunningEvidence | undefined;
  /** The ports its args and env tell it to listen on, and the loopback addresses they tell it to reach. */
  readonly endpoints: ContainerEndpoints;
  /** Its request for a resource (a limit without a request counts as the request), in base units. */
  request(resource: string): number | undefined;
}

export interface PodModel {
  readonly object: KubeObject;
  readonly resource: ResourceRef;
  /** The workload kind that carries the pod (Pod, Deployment, Job, CronJob, …). */
  readonly kind: string;
  readonly spec: PodSpec;
  /** Path of the pod spec inside the evaluated document, e.g. `spec.template.spec`. */
  readonly specPath: string;
  /** The pod's annotations and labels (pod template metadata). */
  readonly annotations: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** Init containers (regular and native) in order, then regular containers in order. */
  readonly containers: readonly ContainerModel[];
  readonly main: ContainerModel | undefined;
  /** Every long-running container except the main one: native sidecars and other regular containers. */
  readonly sidecars: readonly ContainerModel[];
  /** Containers that keep running once the pod has started: native sidecars and regular containers. */
  readonly longRunning: readonly ContainerModel[];
  /** Regular init containers, in order: each must exit before the next starts. */
  readonly inits: readonly ContainerModel[];
  /**
   * The pod is meant to complete: a Job's or CronJob's, or a Pod a Job owns (the Job controller's pods, into
   * which meshes inject their proxies at Pod creation, not into the Job).
   */
  readonly runToCompletion: boolean;
  /** The name of the Job that owns a Pod, when one does. */
  readonly ownerJob?: string;
  /** The pod's restartPolicy with the API server's defaults (Always for pods, none for Jobs since they must set it). */
  readonly restartPolicy: string;
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

/**
 * Builds the container model of the pod an object carries, or undefined for objects without a pod spec. Cheap:
 * the containers' own facets (image, ports, command, …) and the pod's annotations are read when first asked for.
 */
export function podModelOf(object: KubeObject, objectPath = ''): PodModel | undefined {
  const template = podTemplateOf(object);
  return template ? new Pod(object, objectPath, template) : undefined;
}

/** Not yet computed: distinct from a facet whose value is undefined. */
const UNSET: unique symbol = Symbol('unset');
type Lazy<T> = T | typeof UNSET;

class Pod implements PodModel {
  readonly kind: string;
  readonly spec: PodSpec;
  readonly specPath: string;
  readonly containers: readonly ContainerModel[];
  readonly main: ContainerModel | undefined;
  readonly runToCompletion: boolean;
  readonly ownerJob?: string;
  readonly restartPolicy: string;
  readonly #metadata: unknown;
  #resource: Lazy<ResourceRef> = UNSET;
  #annotations: Lazy<Record<string, string>> = UNSET;
  #labels: Lazy<Record<string, string>> = UNSET;
  #sidecars: Lazy<readonly ContainerModel[]> = UNSET;
  #longRunning: Lazy<readonly ContainerModel[]> = UNSET;

  constructor(
    readonly object: KubeObject,
    objectPath: string,
    template: PodTemplate,
  ) {
    this.spec = template.spec;
    this.#metadata = template.metadata;
    this.specPath = joinPath(objectPath, template.specPath);
    // Indexes (in paths and phases) count the entries that are mappings, as they always have.
    const inits = entries(template.spec.initContainers);
    const regulars = entries(template.spec.containers);
    const initMembers = inits.map((spec, index) => {
      const native = spec.restartPolicy === 'Always';
      return new Member(spec, 'initContainers', index, this.specPath, native ? 'native-sidecar' : 'init', index, native ? UNBOUNDED : index);
    });
    const regularMembers = regulars.map((spec, index) => new Member(spec, 'containers', index, this.specPath, 'regular', inits.length, UNBOUNDED));
    const containers = initMembers.length === 0 ? regularMembers : initMembers.concat(regularMembers);
    const main = chooseMain(regularMembers, stringAt(template.metadata, 'annotations', DEFAULT_CONTAINER_ANNOTATION));
    if (main) main.isMain = true;
    this.containers = containers;
    this.main = main;
    this.kind = asString(object.kind) ?? '';
    const ownerJob = this.kind === 'Pod' ? owningJob(object) : undefined;
    if (ownerJob !== undefined) this.ownerJob = ownerJob;
    this.runToCompletion = this.kind === 'Job' || this.kind === 'CronJob' || ownerJob !== undefined;
    this.restartPolicy = asString(this.spec.restartPolicy) ?? (this.runToCompletion ? 'Never' : 'Always');
  }

  get resource(): ResourceRef {
    if (this.#resource === UNSET) this.#resource = resourceRef(this.object);
    return this.#resource;
  }

  get annotations(): Readonly<Record<string, string>> {
    if (this.#annotations === UNSET) this.#annotations = stringMap(isObject(this.#metadata) ? this.#metadata.annotations : undefined);
    return this.#annotations;
  }

  get labels(): Readonly<Record<string, string>> {
    if (this.#labels === UNSET) this.#labels = stringMap(isObject(this.#metadata) ? this.#metadata.labels : undefined);
    return this.#labels;
  }

  get inits(): readonly ContainerModel[] {
    return this.containers.filter((c) => c.kind === 'init');
  }

  get longRunning(): readonly ContainerModel[] {
    if (this.#longRunning === UNSET) this.#longRunning = this.containers.filter((c) => c.kind !== 'init');
    return this.#longRunning;
  }

  get sidecars(): readonly ContainerModel[] {
    if (this.#sidecars === UNSET) this.#sidecars = this.longRunning.filter((c) => c !== this.main);
    return this.#sidecars;
  }
}

class Member implements ContainerModel {
  readonly name: string;
  readonly path: string;
  /** Set on the one main container of the pod. */
  isMain = false;
  #helper: Lazy<HelperMatch | undefined> = UNSET;
  #image: Lazy<ImageRef | undefined> = UNSET;
  #ports: Lazy<readonly PortEntry[]> = UNSET;
  #longRunningCommand: Lazy<LongRunningEvidence | undefined> = UNSET;
  #endpoints: Lazy<ContainerEndpoints> = UNSET;
  #cpu: Lazy<number | undefined> = UNSET;
  #memory: Lazy<number | undefined> = UNSET;
  #requests: Map<string, number | undefined> | undefined;

  constructor(
    readonly spec: Container,
    readonly section: ContainerSection,
    readonly index: number,
    specPath: string,
    readonly kind: ContainerKind,
    readonly firstPhase: number,
    readonly lastPhase: number,
  ) {
    this.name = asString(spec.name) ?? `${section}[${index}]`;
    this.path = `${specPath}.${section}[${index}]`;
  }

  get role(): ContainerModel['role'] {
    return this.kind === 'init' ? 'init' : this.isMain ? 'main' : 'sidecar';
  }

  get helper(): HelperMatch | undefined {
    if (this.#helper === UNSET) this.#helper = helperOf(this.image?.repository ?? '', typeof this.spec.name === 'string' ? this.spec.name : '');
    return this.#helper;
  }

  get image(): ImageRef | undefined {
    if (this.#image === UNSET) this.#image = typeof this.spec.image === 'string' ? parseImage(this.spec.image) : undefined;
    return this.#image;
  }

  get ports(): readonly PortEntry[] {
    if (this.#ports === UNSET) this.#ports = portEntries(this.spec);
    return this.#ports;
  }

  get longRunningCommand(): LongRunningEvidence | undefined {
    if (this.#longRunningCommand === UNSET) this.#longRunningCommand = longRunningCommand(this.spec);
    return this.#longRunningCommand;
  }

  get endpoints(): ContainerEndpoints {
    if (this.#endpoints === UNSET) this.#endpoints = endpointsOf(this);
    return this.#endpoints;
  }

  request(resource: string): number | undefined {
    // The two every pod is judged on are kept in fields: no map per container.
    if (resource === 'cpu') {
      if (this.#cpu === UNSET) this.#cpu = containerRequest(this.spec, resource);
      return this.#cpu;
    }
    if (resource === 'memory') {
      if (this.#memory === UNSET) this.#memory = containerRequest(this.spec, resource);
      return this.#memory;
    }
    this.#requests ??= new Map();
    if (this.#requests.has(resource)) return this.#requests.get(resource);
    const request = containerRequest(this.spec, resource);
    this.#requests.set(resource, request);
    return request;
  }
}

/** The entries that are mappings: the list itself when all are, as it is never changed. */
function entries(value: unknown): readonly Container[] {
  if (!Array.isArray(value)) return [];
  return value.every((entry) => isObject(entry)) ? (value as Container[]) : (value.filter(isObject) as Container[]);
}

/** `metadata[map][key]` when it is a string. */
function stringAt(metadata: unknown, map: 'annotations' | 'labels', key: string): string | undefined {
  const values = isObject(metadata) ? metadata[map] : undefined;
  return isObject(values) && Object.hasOwn(values, key) ? asString(values[key]) : undefined;
}

/**
 * The main container: the one `kubectl.kubernetes.io/default-container` names, else the first regular
 * container that is not a well-known helper (charts often list a config reloader first or the app last),
 * else the first regular container.
 */
function chooseMain(regulars: readonly Member[], defaultContainer: string | undefined): Member | undefined {
  // Whichever way it is chosen, the only one: no need to know whether it is a helper.
  if (regulars.length <= 1) return regulars[0];
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
