import { longRunningCommand } from '../model/command.js';
import { asArray, asString, isObject, type JsonObject } from '../model/kube.js';
import { DEFAULT_CONTAINER_ANNOTATION, type ContainerModel, type PodModel } from '../model/pod.js';
import { SIDECARS_ANNOTATION, parseNameList } from './annotations.js';

export interface SidecarCandidate {
  name: string;
  /** Index in the raw `containers` array. */
  index: number;
  spec: JsonObject;
  /** Why it moves, for messages: `named by podpatterns.io/sidecars`, `image istio/proxyv2`, … */
  reason: string;
}

export interface Selection {
  /** In `containers` order. */
  sidecars: SidecarCandidate[];
  /** Reasons nothing may move (a wrong annotation, an invalid pod spec); each names what is wrong. */
  problems: string[];
}

interface Entry {
  name: string;
  index: number;
  spec: JsonObject;
}

function namedEntries(list: unknown): Entry[] {
  return asArray(list).flatMap((spec, index) => {
    const name = isObject(spec) ? asString(spec.name) : undefined;
    return name !== undefined && isObject(spec) ? [{ name, index, spec }] : [];
  });
}

/**
 * The classic sidecars of a pod. Explicit beats guessed: `podpatterns.io/sidecars` names them; otherwise every
 * regular container but the main one that is a well-known sidecar image (high confidence) or runs a command
 * that never ends. The main container never moves and at least one regular container always stays.
 */
export function selectSidecars(pod: PodModel, explicit: string | undefined): Selection {
  const regular = namedEntries(pod.spec.containers);
  const init = namedEntries(pod.spec.initContainers);
  const duplicate = findDuplicate([...init, ...regular].map((entry) => entry.name));
  if (duplicate !== undefined) return { sidecars: [], problems: [`container name ${duplicate} is used twice in the pod spec`] };
  const models = new Map(pod.containers.filter((c) => c.section === 'containers').map((c) => [c.name, c]));
  return explicit === undefined ? guessed(pod, regular, models) : named(pod, parseNameList(explicit), regular, init, models);
}

function guessed(pod: PodModel, regular: Entry[], models: Map<string, ContainerModel>): Selection {
  const main = pod.main?.name;
  const sidecars: SidecarCandidate[] = [];
  for (const entry of regular) {
    if (entry.name === main) continue;
    const helper = models.get(entry.name)?.helper;
    const endless = longRunningCommand(entry.spec);
    const reason = helper?.confidence === 'high' ? helper.evidence : endless ? `\`${endless.construct}\` never ends` : undefined;
    if (reason) sidecars.push({ ...entry, reason });
  }
  return { sidecars, problems: [] };
}

function named(pod: PodModel, names: string[], regular: Entry[], init: Entry[], models: Map<string, ContainerModel>): Selection {
  const problems: string[] = [];
  const wanted = new Set<string>();
  // Names are unique in the pod (checked above): look them up, a long annotation must not cost names × containers.
  const inits = new Map(init.map((entry) => [entry.name, entry]));
  const regulars = new Set(regular.map((entry) => entry.name));
  for (const name of names) {
    const initEntry = inits.get(name);
    if (regulars.has(name)) wanted.add(name);
    else if (initEntry?.spec.restartPolicy === 'Always') continue; // already native: a second pass changes nothing
    else if (initEntry) problems.push(`${SIDECARS_ANNOTATION} names ${name}, a regular init container`);
    else problems.push(`${SIDECARS_ANNOTATION} names ${name}, which is not a container of this pod`);
  }
  const staying = regular.filter((entry) => !wanted.has(entry.name));
  const main = mainContainer(pod, regular, staying, models);
  if (main && wanted.has(main)) problems.push(`${SIDECARS_ANNOTATION} names ${main}, the main container, which must stay in containers`);
  else if (staying.length === 0 && wanted.size > 0) problems.push(`${SIDECARS_ANNOTATION} names every container; at least one must stay in containers`);
  if (problems.length > 0) return { sidecars: [], problems };
  const sidecars = regular.filter((entry) => wanted.has(entry.name)).map((entry) => ({ ...entry, reason: `named by ${SIDECARS_ANNOTATION}` }));
  return { sidecars, problems };
}

/**
 * The main container when the sidecars are named: the one `kubectl.kubernetes.io/default-container` names, else
 * the engine's choice among the containers the annotation leaves (a guess never overrides what the user wrote).
 */
function mainContainer(pod: PodModel, regular: Entry[], staying: Entry[], models: Map<string, ContainerModel>): string | undefined {
  const declared = pod.annotations[DEFAULT_CONTAINER_ANNOTATION];
  if (declared !== undefined && regular.some((entry) => entry.name === declared)) return declared;
  return (staying.find((entry) => !models.get(entry.name)?.helper) ?? staying[0])?.name;
}

function findDuplicate(names: string[]): string | undefined {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}
