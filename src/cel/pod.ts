import { HELPER_PATTERNS, type HelperPattern } from '../model/helpers.js';
import { DEFAULT_CONTAINER_ANNOTATION } from '../model/pod.js';
import type { PodSpecView, PodView } from '../engine/types.js';
import { bind, matches, re2, record, str } from './expr.js';

/**
 * The pod model of src/model/pod.ts as CEL variables of a ValidatingAdmissionPolicy: where each workload kind
 * keeps its pod spec, the containers in start order with their kind, role and start-order phases, the main
 * container and the sidecars. A rule's CEL form reads these through a PodView, so the same form can be
 * compiled for `object` and, to ratchet an UPDATE, for `oldObject`.
 */

/** Where each kind keeps its pod template (src/model/workload.ts POD_SPEC_PATHS), as CEL paths from the object. */
const POD_SPEC: ReadonlyArray<{ kinds: readonly string[]; spec: string; meta: string }> = [
  { kinds: ['Pod'], spec: 'spec', meta: '' },
  { kinds: ['CronJob'], spec: 'spec.jobTemplate.spec.template.spec', meta: 'spec.jobTemplate.spec.template' },
  { kinds: ['PodTemplate'], spec: 'template.spec', meta: 'template' },
  { kinds: ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job'], spec: 'spec.template.spec', meta: 'spec.template' },
];

/** A phase after every init container: native sidecars run from their own phase to the end of the pod. */
export const UNBOUNDED_PHASE = 1_000_000;

export interface CelVariable {
  name: string;
  expression: string;
}

/** `object` with prefix '' and `oldObject` with prefix 'old': variable names differ, so both fit in one policy. */
export type ObjectRoot = { object: 'object'; prefix: '' } | { object: 'oldObject'; prefix: 'old' };
export const NEW_OBJECT: ObjectRoot = { object: 'object', prefix: '' };
export const OLD_OBJECT: ObjectRoot = { object: 'oldObject', prefix: 'old' };

function variableName(root: ObjectRoot, name: string): string {
  return root.prefix === '' ? name : `${root.prefix}${name.charAt(0).toUpperCase()}${name.slice(1)}`;
}

/**
 * The pod view of `root`. What is cheap to read again (the kind, the spec's path, the object's annotations, the
 * labels) is an expression, the rest variables: the API server sets up every declared variable of a policy for
 * each expression it evaluates, so a variable costs time even where nothing reads it.
 */
export function podView(root: ObjectRoot): PodView {
  const o = root.object;
  const v = (name: string): string => `variables.${variableName(root, name)}`;
  const kind = `${o}.kind`;
  return {
    object: o,
    kind,
    spec: v('spec'),
    specPath: byKind(kind, (entry) => str(entry.spec)),
    annotations: v('annotations'),
    labels: `${podMetadata(o, kind)}.?labels.orValue({})`,
    objectAnnotations: `${o}.metadata.?annotations.orValue({})`,
    containers: v('containers'),
    inits: v('inits'),
    regulars: v('regulars'),
    mainName: v('mainName'),
    sidecars: v('sidecars'),
    longRunning: v('longRunning'),
    ownedByJob: v('ownedByJob'),
    ownerJob: v('ownerJob'),
    runToCompletion: v('runToCompletion'),
    restartPolicy: v('restartPolicy'),
    own: (name) => v(name),
  };
}

/** `(kind == 'Pod' ? <pick Pod> : kind == 'CronJob' ? … : <pick the template kinds>)`, in parentheses so it can be an operand. */
function byKind(kind: string, pick: (entry: (typeof POD_SPEC)[number]) => string): string {
  const choice = POD_SPEC.slice(0, -1).reduceRight(
    (otherwise, entry) => `${entry.kinds.map((name) => `${kind} == ${str(name)}`).join(' || ')} ? ${pick(entry)} : ${otherwise}`,
    pick(POD_SPEC[POD_SPEC.length - 1]!),
  );
  return `(${choice})`;
}

function optionalPath(object: string, path: string): string {
  return path === '' ? object : `${object}.${path.split('.').map((key) => `?${key}`).join('.')}.orValue({})`;
}

/** The metadata of the pod (its template's), as a map. */
function podMetadata(o: string, kind: string): string {
  return byKind(kind, (entry) => (entry.meta === '' ? `${o}.metadata` : `${optionalPath(o, entry.meta)}.?metadata.orValue({})`));
}

/**
 * A candidate test as one expression over `object`, written out once per place a kind keeps its pod spec: each
 * object reads its spec by a direct path, with no comprehension to bind it.
 */
export function overPodSpec(test: (pod: PodSpecView) => string): string {
  return byKind('object.kind', (entry) => {
    const spec = optionalPath('object', entry.spec);
    return `(${test({ spec, initSpecs: `${spec}.?initContainers.orValue([])`, containerSpecs: `${spec}.?containers.orValue([])` })})`;
  });
}

/** The shared variables for `root`, in dependency order; rules' own variables follow them. */
export function podVariables(root: ObjectRoot): CelVariable[] {
  const o = root.object;
  const pod = podView(root);
  const v = (name: string): string => `variables.${variableName(root, name)}`;
  const variables: Array<[string, string]> = [
    ['spec', byKind(pod.kind, (entry) => optionalPath(o, entry.spec))],
    ['annotations', `${podMetadata(o, pod.kind)}.?annotations.orValue({})`],
    ['initList', `${pod.spec}.?initContainers.orValue([])`],
    ['regularList', `${pod.spec}.?containers.orValue([])`],
    ['initNames', `${v('initList')}.map(c, c.name)`],
    ['regularNames', `${v('regularList')}.map(c, c.name)`],
    ['inits', `${v('initList')}.map(c, ${bind('i', `${v('initNames')}.indexOf(c.name)`, initRecord(pod))})`],
    ['regulars', `${v('regularList')}.map(c, ${bind('i', `${v('regularNames')}.indexOf(c.name)`, regularRecord(pod, v('initList')))})`],
    ['mainName', mainName(pod, v)],
    ['containers', `${v('inits')} + ${v('regulars')}.map(r, ${withRole('r', `r.name == ${pod.mainName} ? 'main' : 'sidecar'`)})`],
    ['sidecars', `${pod.containers}.filter(c, c.kind != 'init' && c.role != 'main')`],
    ['longRunning', `${pod.containers}.filter(c, c.kind != 'init')`],
    ['jobOwners', `${pod.kind} == 'Pod' ? ${o}.metadata.?ownerReferences.orValue([]).filter(r, r.?kind.orValue('') == 'Job' && r.?apiVersion.orValue('').startsWith('batch/')) : []`],
    ['ownedByJob', `size(${v('jobOwners')}) > 0`],
    ['ownerJob', `${pod.ownedByJob} ? ${v('jobOwners')}[0].?name.orValue('') : ''`],
    ['runToCompletion', `${pod.kind} == 'Job' || ${pod.kind} == 'CronJob' || ${pod.ownedByJob}`],
    ['restartPolicy', `${pod.spec}.?restartPolicy.orValue(${pod.runToCompletion} ? 'Never' : 'Always')`],
  ];
  return variables.map(([name, expression]) => ({ name: variableName(root, name), expression }));
}

const RECORD_FIELDS = ['name', 'spec', 'section', 'index', 'kind', 'role', 'path', 'helper', 'first', 'last'] as const;

function initRecord(pod: PodView): string {
  const native = "c.?restartPolicy.orValue('') == 'Always'";
  return record({
    name: 'c.name',
    spec: 'c',
    section: "'initContainers'",
    index: 'i',
    kind: `${native} ? 'native-sidecar' : 'init'`,
    role: `${native} ? 'sidecar' : 'init'`,
    path: `${pod.specPath} + '.initContainers[' + string(i) + ']'`,
    helper: helperOf('c'),
    first: 'i',
    last: `${native} ? ${UNBOUNDED_PHASE} : i`,
  });
}

/** Regular containers start after every init container; their role is set once the main one is known. */
function regularRecord(pod: PodView, initList: string): string {
  return record({
    name: 'c.name',
    spec: 'c',
    section: "'containers'",
    index: 'i',
    kind: "'regular'",
    role: "'sidecar'",
    path: `${pod.specPath} + '.containers[' + string(i) + ']'`,
    helper: helperOf('c'),
    first: `size(${initList})`,
    last: String(UNBOUNDED_PHASE),
  });
}

function withRole(r: string, role: string): string {
  return record(Object.fromEntries(RECORD_FIELDS.map((field) => [field, field === 'role' ? role : `${r}.${field}`])));
}

/**
 * src/model/pod.ts chooseMain: the container `kubectl.kubernetes.io/default-container` names, else the first
 * regular container that is not a well-known helper, else the first regular container.
 */
function mainName(pod: PodView, v: (name: string) => string): string {
  const named = `${pod.annotations}[?${str(DEFAULT_CONTAINER_ANNOTATION)}].orValue('')`;
  return (
    `size(${v('regulars')}) == 0 ? '' : ` +
    `${named} != '' && ${named} in ${v('regularNames')} ? ${named} : ` +
    `${v('regulars')}.exists(r, size(r.helper) == 0) ? ${v('regulars')}.filter(r, size(r.helper) == 0)[0].name : ${v('regulars')}[0].name`
  );
}

/**
 * src/model/helpers.ts recognizeHelper: `[kind, confidence, evidence]` of the first high-confidence pattern
 * that matches, else of the first medium one, else `[]`. Image patterns test the repository (no tag, no digest).
 */
function helperOf(c: string): string {
  const image = `${c}.?image.orValue('').trim()`;
  const withoutDigest = bind('i0', image, "i0.indexOf('@') >= 0 ? i0.substring(0, i0.indexOf('@')) : i0");
  const repository = bind('i1', withoutDigest, "i1.lastIndexOf(':') > i1.lastIndexOf('/') ? i1.substring(0, i1.lastIndexOf(':')) : i1");
  const name = `${c}.?name.orValue('')`;
  const ordered = [...HELPER_PATTERNS.filter((p) => p.confidence === 'high'), ...HELPER_PATTERNS.filter((p) => p.confidence !== 'high')];
  const chain = ordered.reduceRight((otherwise, pattern) => `${helperTest(pattern)} ? ${helperResult(pattern)} : ${otherwise}`, '[]');
  // Most containers are no helper: one test of every pattern at once spares them the chain.
  const any = (patterns: Array<RegExp | undefined>) => new RegExp(patterns.filter((p): p is RegExp => p !== undefined).map((p) => `(?:${re2(p)})`).join('|'));
  const anyImage = any(HELPER_PATTERNS.map((p) => p.image));
  const anyName = any(HELPER_PATTERNS.map((p) => p.name));
  return bind('repo', repository, bind('name', name, `(repo != '' && ${matches('repo', anyImage)}) || (name != '' && ${matches('name', anyName)}) ? (${chain}) : []`));
}

function helperTest(pattern: HelperPattern): string {
  const tests: string[] = [];
  if (pattern.image) tests.push(`(repo != '' && ${matches('repo', pattern.image)})`);
  if (pattern.name) tests.push(`(name != '' && ${matches('name', pattern.name)})`);
  return tests.join(' || ');
}

function helperResult(pattern: HelperPattern): string {
  const evidence = pattern.image && pattern.name
    ? `(repo != '' && ${matches('repo', pattern.image)}) ? 'image ' + repo : 'name ' + name`
    : pattern.image ? "'image ' + repo" : "'name ' + name";
  return `[${str(pattern.kind)}, ${str(pattern.confidence)}, ${evidence}]`;
}
