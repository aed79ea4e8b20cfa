/**
 * The classic → native sidecar migration of src/migration written in CEL, for a MutatingAdmissionPolicy
 * (`patchType: JSONPatch`) and, in dry-run mode, a ValidatingAdmissionPolicy that only reports.
 *
 * The selection mirrors selectSidecars() and migrationTarget() for what CEL can judge exactly: the
 * `podpatterns.io/sidecars` annotation, the high-confidence helper images and names of model/helpers.ts (the
 * medium ones only decide the main container, as in the engine), the opt-out and placement annotations, the
 * workflow-engine exclusions, the mesh switches. Where the webhook would do more than CEL can — a container
 * whose command may never end, a field a native sidecar may not carry — the policy changes nothing, so its
 * result is always the webhook's or the object as sent.
 *
 * The containers move with JSON Patch `move` operations: the API server copies them as they are, every field
 * included, which a patch `value` cannot do (a value read from `object` fails to convert to JSON).
 */
import { DEFAULT_CONTAINER_ANNOTATION } from '../model/pod.js';
import { HELPER_PATTERNS } from '../model/helpers.js';
import {
  AUDIT_WOULD_MIGRATE,
  AUDIT_WOULD_SET_MESH,
  FALSE_VALUE,
  MIGRATE_ANNOTATION,
  MIGRATED_ANNOTATION,
  SIDECARS_ANNOTATION,
  SIDECARS_FIRST_ANNOTATION,
  TRUE_VALUE,
} from '../migration/annotations.js';
import { ISTIO_NATIVE_SIDECAR, LINKERD_NATIVE_SIDECAR } from '../migration/mesh.js';
import { escapePointerToken } from '../migration/patch.js';
import { MAX_WARNING_LENGTH } from '../migration/warnings.js';

export interface CelVariable {
  name: string;
  expression: string;
}

/** A CEL string literal (CEL accepts JSON's escapes). */
export function celString(text: string): string {
  return JSON.stringify(text);
}

/** A JavaScript regular expression as an RE2 pattern for CEL's `matches`; only the `i` flag is carried over. */
export function re2(pattern: RegExp): string {
  const unsupported = pattern.flags.replace(/[i]/g, '');
  if (unsupported !== '') throw new Error(`/${pattern.source}/${pattern.flags}: flag ${unsupported} has no RE2 form`);
  return pattern.flags.includes('i') ? `(?i)${pattern.source}` : pattern.source;
}

/** One RE2 alternation of the helper patterns of a confidence, for images or for names. */
function helperAlternation(confidence: 'high' | 'medium', field: 'image' | 'name'): string {
  const sources = HELPER_PATTERNS.filter((pattern) => pattern.confidence === confidence && pattern[field]).map((pattern) => `(?:${re2(pattern[field]!)})`);
  return sources.length > 0 ? sources.join('|') : '$^';
}

/**
 * Every word a never-ending command of model/command.ts is built from (`sleep infinity`, `tail -f`, `while`,
 * `until`, `for ((;;))`, a server started with `&` and then `wait`). A container whose command and args hold
 * none of them is never reported by longRunningCommand(); one that does is left to the webhook.
 */
export const MAYBE_ENDLESS = /\b(sleep|tail|while|until|for|wait)\b/;

const yes = (value: string) => `${value}.trim().matches(${celString(re2(TRUE_VALUE))})`;
const no = (value: string) => `${value}.trim().matches(${celString(re2(FALSE_VALUE))})`;

/** The value of an annotation from the most specific source that has it (pod template, Job template, object). */
const lookup = (key: string) => `variables.sources.filter(m, ${celString(key)} in m)[0][${celString(key)}]`;
const declared = (key: string) => `variables.sources.exists(m, ${celString(key)} in m)`;

const ISTIO_INJECT = 'sidecar.istio.io/inject';

/**
 * The policy's variables, in dependency order. The result is `act` (the object changes), `moves` (indexes in
 * `containers`, ascending) and the mesh switches; the rest are steps, named for what they hold.
 */
export function migrationVariables(): CelVariable[] {
  const container = 'variables.regular[i]';
  const fieldsInvalidOnSidecar = [
    `(has(${container}.restartPolicy) && ${container}.restartPolicy != "Always")`,
    `${container}.?restartPolicyRules.orValue([]).size() > 0`,
    `${container}.?livenessProbe.?successThreshold.orValue(1) != 1`,
    `${container}.?startupProbe.?successThreshold.orValue(1) != 1`,
    `${container}.?readinessProbe.?terminationGracePeriodSeconds.hasValue()`,
  ].join(' || ');
  const variables: [string, string][] = [
    ['kind', 'request.kind.kind'],
    // dyn(): one policy reads three kinds, and a type check against Job's schema would flag `jobTemplate`.
    [
      'template',
      'variables.kind == "Pod" ? dyn(object) : variables.kind == "CronJob" ? dyn(object).spec.jobTemplate.spec.template : dyn(object).spec.template',
    ],
    ['templatePointer', 'variables.kind == "Pod" ? "" : variables.kind == "CronJob" ? "/spec/jobTemplate/spec/template" : "/spec/template"'],
    ['podAnnotations', 'variables.template.?metadata.?annotations.orValue({})'],
    ['podLabels', 'variables.template.?metadata.?labels.orValue({})'],
    [
      'sources',
      '[variables.podAnnotations]' +
        ' + (variables.kind == "CronJob" ? [dyn(object).spec.jobTemplate.?metadata.?annotations.orValue({})] : [])' +
        ' + (variables.kind != "Pod" ? [object.metadata.?annotations.orValue({})] : [])',
    ],
    ['optedOut', `${declared(MIGRATE_ANNOTATION)} && ${no(lookup(MIGRATE_ANNOTATION))}`],
    ['ownedPod', 'variables.kind == "Pod" && object.metadata.?ownerReferences.orValue([]).size() > 0'],
    ['regular', 'variables.template.spec.?containers.orValue([])'],
    ['init', 'variables.template.spec.?initContainers.orValue([])'],
    ['names', 'variables.regular.map(c, c.name)'],
    ['allNames', 'variables.init.map(c, c.name) + variables.names'],
    ['indexes', 'lists.range(variables.regular.size())'],
    [
      'workflowEngine',
      [
        '"workflows.argoproj.io/workflow" in variables.podLabels',
        '("wait" in variables.names && "main" in variables.names)',
        'variables.podLabels.exists(k, k.startsWith("tekton.dev/"))',
        'variables.podAnnotations.exists(k, k.startsWith("tekton.dev/"))',
        '(variables.names.size() > 0 && variables.names.all(n, n.matches("^(step|sidecar)-")) && variables.names.exists(n, n.startsWith("step-")))',
        '"airflow-xcom-sidecar" in variables.names',
      ].join(' || '),
    ],
    ['duplicateNames', 'variables.allNames.distinct().size() != variables.allNames.size()'],
    // The image without digest and tag, as parseImage() reads it: a `:` after the last `/` starts the tag.
    [
      'repositories',
      'variables.regular.map(c, c.?image.orValue("").split("@")[0]).map(s, s.matches(":[^/]*$") ? s.substring(0, s.lastIndexOf(":")) : s)',
    ],
    // 2: a high-confidence helper (moved without being named), 1: another helper (never the main container), 0: none.
    [
      'helperLevel',
      `variables.indexes.map(i, variables.repositories[i].matches(${celString(helperAlternation('high', 'image'))}) || variables.names[i].matches(${celString(helperAlternation('high', 'name'))}) ? 2` +
        ` : variables.repositories[i].matches(${celString(helperAlternation('medium', 'image'))}) || variables.names[i].matches(${celString(helperAlternation('medium', 'name'))}) ? 1 : 0)`,
    ],
    ['named', declared(SIDECARS_ANNOTATION)],
    ['namedList', `variables.named ? ${lookup(SIDECARS_ANNOTATION)}.split(",").map(n, n.trim()).filter(n, n != "") : []`],
    [
      'namesUnknown',
      'variables.namedList.exists(n, !(n in variables.names) && !variables.init.exists(c, c.name == n && c.?restartPolicy.orValue("") == "Always"))',
    ],
    ['staying', 'variables.indexes.filter(i, !(variables.names[i] in variables.namedList))'],
    ['defaultContainer', `variables.podAnnotations[?${celString(DEFAULT_CONTAINER_ANNOTATION)}].orValue("")`],
    [
      'main',
      'variables.defaultContainer in variables.names ? variables.defaultContainer' +
        ' : variables.staying.exists(i, variables.helperLevel[i] == 0) ? variables.names[variables.staying.filter(i, variables.helperLevel[i] == 0)[0]]' +
        ' : variables.staying.size() > 0 ? variables.names[variables.staying[0]] : ""',
    ],
    [
      'moves',
      'variables.named ? variables.indexes.filter(i, variables.names[i] in variables.namedList)' +
        ' : variables.indexes.filter(i, variables.helperLevel[i] == 2 && variables.names[i] != variables.main)',
    ],
    [
      'namedWrong',
      'variables.named && (variables.namesUnknown || variables.main in variables.namedList || (variables.staying.size() == 0 && variables.moves.size() > 0))',
    ],
    [
      'maybeEndless',
      `!variables.named && variables.indexes.exists(i, variables.names[i] != variables.main && variables.helperLevel[i] != 2` +
        ` && (${container}.?command.orValue([]) + ${container}.?args.orValue([])).exists(s, s.matches(${celString(MAYBE_ENDLESS.source)})))`,
    ],
    ['needsFixes', `variables.moves.exists(i, ${fieldsInvalidOnSidecar})`],
    [
      'istioInjects',
      `${celString(ISTIO_INJECT)} in variables.podLabels ? ${yes(`variables.podLabels[${celString(ISTIO_INJECT)}]`)}` +
        ` : ${celString(ISTIO_INJECT)} in variables.podAnnotations ? ${yes(`variables.podAnnotations[${celString(ISTIO_INJECT)}]`)}` +
        ' : "istio.io/rev" in variables.podLabels',
    ],
    [
      'istioSwitch',
      `variables.istioInjects && !("istio-proxy" in variables.allNames) && !(${celString(ISTIO_NATIVE_SIDECAR)} in variables.podAnnotations)`,
    ],
    [
      'linkerdSwitch',
      'variables.podAnnotations[?"linkerd.io/inject"].orValue("") in ["enabled", "ingress"] && !("linkerd-proxy" in variables.allNames)' +
        ` && !${JSON.stringify(LINKERD_NATIVE_SIDECAR)}.exists(k, k in variables.podAnnotations)`,
    ],
    [
      'act',
      '!variables.optedOut && !variables.ownedPod && !variables.workflowEngine && !variables.duplicateNames && !variables.namedWrong' +
        ' && !variables.maybeEndless && !variables.needsFixes && (variables.moves.size() > 0 || variables.istioSwitch || variables.linkerdSwitch)',
    ],
    ['movedNames', 'variables.moves.map(i, variables.names[i])'],
    ['first', `${declared(SIDECARS_FIRST_ANNOTATION)} && ${yes(lookup(SIDECARS_FIRST_ANNOTATION))}`],
    [
      'previouslyMigrated',
      `variables.podAnnotations[?${celString(MIGRATED_ANNOTATION)}].orValue("").split(",").map(n, n.trim()).filter(n, n != "").distinct()`,
    ],
  ];
  return variables.map(([name, expression]) => ({ name, expression }));
}

const annotationPointer = (key: string) => `variables.templatePointer + ${celString(`/metadata/annotations/${escapePointerToken(key)}`)}`;
const addAnnotation = (key: string, value: string) => `JSONPatch{op: "add", path: ${annotationPointer(key)}, value: ${value}}`;

/**
 * The JSON Patch: containers leave `containers` in ascending index order (each earlier move shifts the later
 * ones down by one) and join `initContainers` after the existing ones (or first, in order), then get
 * `restartPolicy: Always`; then the annotations, creating `metadata` and `annotations` when missing.
 */
export function migrationPatchExpression(): string {
  const spec = 'variables.templatePointer + "/spec"';
  const meta = 'variables.templatePointer + "/metadata"';
  const target = '(variables.first ? string(k) : "-")';
  const position = '(variables.first ? k : variables.init.size() + k)';
  return [
    '!variables.act ? [] :',
    `(variables.moves.size() > 0 && !has(variables.template.spec.initContainers) ? [JSONPatch{op: "add", path: ${spec} + "/initContainers", value: []}] : [])`,
    `+ variables.moves.transformList(k, i, JSONPatch{op: "move", from: ${spec} + "/containers/" + string(i - k), path: ${spec} + "/initContainers/" + ${target}})`,
    `+ variables.moves.transformList(k, i, JSONPatch{op: "add", path: ${spec} + "/initContainers/" + string(${position}) + "/restartPolicy", value: "Always"})`,
    `+ (has(variables.template.metadata) ? [] : [JSONPatch{op: "add", path: ${meta}, value: {}}])`,
    `+ (has(variables.template.metadata) && has(variables.template.metadata.annotations) ? [] : [JSONPatch{op: "add", path: ${meta} + "/annotations", value: {}}])`,
    `+ (variables.moves.size() > 0 ? [${addAnnotation(MIGRATED_ANNOTATION, '(variables.previouslyMigrated + variables.movedNames.filter(n, !(n in variables.previouslyMigrated))).join(",")')}] : [])`,
    `+ (variables.istioSwitch ? [${addAnnotation(ISTIO_NATIVE_SIDECAR, '"true"')}] : [])`,
    `+ (variables.linkerdSwitch ? [${LINKERD_NATIVE_SIDECAR.map((key) => addAnnotation(key, '"true"')).join(', ')}] : [])`,
  ].join('\n');
}

/** `a`, `a and b`, `a, b and c`, as listNames() writes them. */
const listNames = (list: string) =>
  `(${list}.size() <= 1 ? ${list}.join("") : ${list}.slice(0, ${list}.size() - 1).join(", ") + " and " + ${list}[${list}.size() - 1])`;

/** A warning as capWarning() shortens it. */
const capped = (text: string) => `(${text}.size() <= ${MAX_WARNING_LENGTH} ? ${text} : ${text}.substring(0, ${MAX_WARNING_LENGTH - 1}) + "…")`;

export interface DryRunCheck {
  expression: string;
  messageExpression: string;
}

/** What the webhook's dry run says, as validations that fail (and so warn) when the migration would change something. */
export function dryRunChecks(): DryRunCheck[] {
  const moveMessage = `"dry-run: would move " + ${listNames('variables.movedNames')} + " to initContainers as " + (variables.moves.size() == 1 ? "a native sidecar" : "native sidecars")`;
  return [
    { expression: '!variables.act || variables.moves.size() == 0', messageExpression: capped(`(${moveMessage})`) },
    { expression: '!variables.act || !variables.istioSwitch', messageExpression: celString(`dry-run: would set ${ISTIO_NATIVE_SIDECAR} so istio injects a native sidecar`) },
    { expression: '!variables.act || !variables.linkerdSwitch', messageExpression: celString("dry-run: would set linkerd's native-sidecar annotations so linkerd injects a native sidecar") },
  ];
}

/** The dry run's audit annotations, with the webhook's keys; an empty value leaves one out. */
export function dryRunAuditAnnotations(): { key: string; valueExpression: string }[] {
  return [
    { key: AUDIT_WOULD_MIGRATE, valueExpression: 'variables.act && variables.moves.size() > 0 ? variables.movedNames.join(",") : ""' },
    {
      key: AUDIT_WOULD_SET_MESH,
      valueExpression: 'variables.act && (variables.istioSwitch || variables.linkerdSwitch) ? ((variables.istioSwitch ? ["istio"] : []) + (variables.linkerdSwitch ? ["linkerd"] : [])).join(",") : ""',
    },
  ];
}
