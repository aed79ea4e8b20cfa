import type { KubeObject } from '../model/kube.js';
import type { KubeVersion } from '../model/version.js';
import type { PodModel, ResourceRef } from '../model/pod.js';

/**
 * What a finding asks of the caller: `deny` rejects in enforce mode, `warn` is shown to the user,
 * `audit` is only recorded (audit annotations, reports, logs).
 */
export type Severity = 'deny' | 'warn' | 'audit';
export const SEVERITIES: readonly Severity[] = ['deny', 'warn', 'audit'];

/** Severity order, most severe first: used for `--fail-on` and sorting. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export interface Finding {
  rule: string;
  severity: Severity;
  resource: ResourceRef;
  /** The container the finding is about, when it is about one. */
  container?: string;
  /** Dotted path to the offending field, relative to the evaluated document, e.g. `spec.template.spec.containers[1].ports[0].containerPort`. */
  path: string;
  /** What will go wrong at runtime. */
  message: string;
  /** The exact change that fixes it. */
  fix: string;
  /**
   * The problem in a few words, from `Rule.problem`: what follows `'<container>'` (or, without a container,
   * a clause of its own). The body of the kubectl warning and of the one-line audit report.
   */
  problem: string;
}

/**
 * The plain values a finding's short problem is made of: names of containers and volumes, counts, ports,
 * versions, a word picking a variant. Kept this simple so the same sentence can be rebuilt elsewhere
 * (a CEL messageExpression) from the same data.
 */
export type ProblemFacts = Readonly<Record<string, string | number>>;

/** What a rule reports; the engine adds rule id, severity, resource and the problem made from `facts`. */
export type RuleFinding<F extends ProblemFacts = ProblemFacts> = Pick<Finding, 'path' | 'message' | 'fix'> & {
  container?: string;
  /** Lets a rule with two verdicts (e.g. deny in a Job, warn elsewhere) pick one; defaults to the configured severity. */
  severity?: Severity;
  /** Input of `Rule.problem`. */
  facts: F;
};

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface EvaluationContext {
  /** The API server's version. */
  kubernetesVersion: KubeVersion;
  /** The oldest kubelet in the cluster (version skew: it may be older than the API server). */
  minKubeletVersion: KubeVersion;
  operation?: Operation;
  oldObject?: KubeObject;
  /** Other objects from the same input or cluster (an HPA's target workload, …). */
  related?: readonly KubeObject[];
  /**
   * The namespace the object is in when it is known from outside the object (an AdmissionRequest's namespace);
   * otherwise the object's own `metadata.namespace` is used. Exemptions are matched against it.
   */
  namespace?: string;
  /** The time exemption expiry is judged at (epoch milliseconds); now when absent. */
  now?: number;
}

export type RuleOptionValue = number | string | boolean | readonly string[];

/**
 * One option a rule declares: its type, default and description, once. The policy file is checked against it,
 * the chart's values schema and the rules reference are written from it, and the rule receives its value typed.
 */
export type RuleOptionSpec =
  | { type: 'number'; default: number; description: string; /** Smallest accepted value. */ minimum?: number }
  | { type: 'string'; default: string; description: string }
  | { type: 'boolean'; default: boolean; description: string }
  | { type: 'string[]'; default: readonly string[]; description: string };

/** A rule's options by name. Declare them `satisfies RuleOptionSpecs` so each keeps its literal type. */
export type RuleOptionSpecs = Readonly<Record<string, RuleOptionSpec>>;

interface OptionTypes {
  number: number;
  string: string;
  boolean: boolean;
  'string[]': readonly string[];
}

/** The options a rule receives, typed from its declaration: `{ threshold: number }` for `{ threshold: { type: 'number', … } }`. */
export type RuleOptions<S extends RuleOptionSpecs = RuleOptionSpecs> = { readonly [K in keyof S]: OptionTypes[S[K]['type']] };

/**
 * Inputs every rule gets. `pods` are the pod specs the object carries (one for workloads, none for e.g. an HPA).
 * `options` holds every option the rule declares, with its declared type: the policy filled in the defaults.
 */
export interface RuleInput<O extends RuleOptions = RuleOptions> {
  object: KubeObject;
  /** Path of `object` inside the evaluated document (`items[2]` for an item of a List, '' otherwise). */
  objectPath: string;
  pods: readonly PodModel[];
  context: EvaluationContext;
  options: O;
}

export interface RuleExample {
  /** YAML of a manifest the rule flags. */
  bad: string;
  /** The same manifest fixed. */
  fixed: string;
  /** Cluster versions the example assumes, when it matters. */
  kubernetesVersion?: string;
  minKubeletVersion?: string;
}

/** Other objects a rule reads: every object of a kind, or the one with a name. */
export interface RelatedRef {
  kind: string;
  name?: string;
}

/**
 * How a rule reads objects other than the one it evaluates (an HPA reads the workload it scales). Audits
 * keep the objects of `kinds` aside (as text, not in memory), evaluate an object for which `of` names
 * something once the whole input is read, and pass the objects named, in input order, as `context.related`.
 */
export interface RelatedObjects {
  kinds: readonly string[];
  of(object: KubeObject): readonly RelatedRef[];
  /**
   * Whether the rule can judge an object without them. An admission request carries one object, so a rule
   * that requires related objects runs only in audits (files and cluster), and the webhooks are not sent its
   * kinds (see engine/scope.ts); one that only reads them when they are there also runs at admission.
   */
  required: boolean;
}

/**
 * A rule: what it reads (kinds, related objects, fields the API server may drop), how it speaks (summary,
 * description, examples, the short problem of a finding, message and fix), its options, and its CEL form
 * where it has one. Where it runs is derived from these declarations (engine/scope.ts): the webhooks' kinds
 * in the chart, the `/mutate` rule subset and the CEL policies' match constraints are not kept anywhere else.
 * `S` is the options declaration, from which the type of `options` is inferred.
 */
export interface Rule<F extends ProblemFacts = ProblemFacts, S extends RuleOptionSpecs = RuleOptionSpecs> {
  /** Stable id: others script against it. */
  id: string;
  defaultSeverity: Severity;
  /** One line: what breaks. */
  summary: string;
  /** One paragraph for the README: why it breaks and how to fix it. */
  description: string;
  example: RuleExample;
  /**
   * The kinds of object the rule judges (`POD_BEARING_KINDS` for rules on the pod spec). The engine runs it on
   * no other kind, and the webhooks receive the kinds of the rules that run at admission.
   */
  kinds: readonly string[];
  options?: S;
  /** Set when the rule reads other objects of the input or cluster (`context.related`). */
  related?: RelatedObjects;
  /**
   * Fields the rule reads that the API server drops before validating admission when their feature gate is off
   * (`initContainers[].restartPolicy` without SidecarContainers): the registry strategies call
   * pkg/api/pod/util.go dropDisabledFields after mutating admission and before validating admission. A rule
   * that names some also runs on `/mutate`, the last point where they are still there.
   */
  droppedFields?: readonly string[];
  /**
   * The short form of a finding, written for `kubectl` warnings: a predicate of the finding's container
   * ("shares port 8080/TCP with 'app', so one of them fails to bind"), or a clause of its own when the finding
   * names no container. No final period; names in single quotes, so they can be shortened to fit
   * (see engine/short-form.ts, which adds the subject and where the fix is). A pure function of `facts`.
   */
  problem(facts: F): string;
  evaluate(input: RuleInput<RuleOptions<S>>): RuleFinding<F>[];
  /**
   * The rule as CEL for an in-tree ValidatingAdmissionPolicy (`podpatterns compile`), or why it has none on
   * the target cluster. A rule without it is webhook-only. Options are baked into the expressions.
   */
  cel?(target: CelTarget<RuleOptions<S>>): CelForm | CelUnavailable;
}

/**
 * The shared variables as a rule's CEL form sees them: each property is a CEL expression (`variables.…`).
 * Containers are records: name, spec (the container), section, index, kind (`init`, `native-sidecar`,
 * `regular`), role (`main`, `sidecar`, `init`), path, helper (`[]` or `[kind, confidence, evidence]`),
 * first and last (start-order phases).
 */
export interface PodView {
  /** The object (`object` or `oldObject`). */
  object: string;
  kind: string;
  spec: string;
  /** Path of the pod spec in the object, e.g. `spec.template.spec`. */
  specPath: string;
  /** Annotations of the pod (its template's). */
  annotations: string;
  labels: string;
  /** Annotations of the object itself. */
  objectAnnotations: string;
  /** Every container: init containers in order, then regular containers in order. */
  containers: string;
  /** The init containers' and the regular containers' records alone (the regular ones without their role: read it in `containers`). */
  inits: string;
  regulars: string;
  /** The main container's name, '' when there is none. */
  mainName: string;
  sidecars: string;
  longRunning: string;
  /** Whether a Job (group batch) owns the Pod, and its name ('' when it has none). */
  ownedByJob: string;
  ownerJob: string;
  /** A Job's or CronJob's pod, or a Pod a Job owns (src/model/pod.ts runToCompletion). */
  runToCompletion: string;
  /** The pod's restartPolicy with the defaults the engine assumes. */
  restartPolicy: string;
  /** One of the rule's own variables, for this object. */
  own(name: string): string;
}

/**
 * The pod as written, for a rule's CelForm.candidate: a matchCondition cannot read variables, so these are plain
 * expressions over `object`.
 */
export interface PodSpecView {
  spec: string;
  /** The init containers and the regular containers, as written (no records). */
  initSpecs: string;
  containerSpecs: string;
}

/** The cluster and options a rule is compiled to CEL for. */
export interface CelTarget<O extends RuleOptions = RuleOptions> {
  kubernetesVersion: KubeVersion;
  minKubeletVersion: KubeVersion;
  options: O;
}

/**
 * A rule's findings as CEL over the shared pod variables (src/cel/pod.ts). The compiled policy rejects (or
 * warns about) an object whose findings list is not empty, with the first finding's text as its message.
 */
export interface CelForm {
  /**
   * CEL that is true on every pod the checks can find something on, read cheaply from the pod as written. It becomes
   * the policy's matchCondition: on any other pod the API server skips the policy without building the container
   * records. It must hold wherever a check finds something (an over-approximation is fine) and stay within the cost
   * limit on any pod. Leaving it out runs the checks on every pod.
   */
  candidate?(pod: PodSpecView): string;
  /** The rule's own variables, in dependency order; `pod.own(name)` reads them. */
  variables?(pod: PodView): Array<{ name: string; expression: string }>;
  checks: CelCheck[];
}

export interface CelCheck {
  /** The verdict of this check when the rule picks one per finding (deny in Jobs, warn elsewhere); default: the configured severity. */
  severity?: Severity;
  /** CEL: the list of findings on the pod, in the order `evaluate` reports them. */
  findings(pod: PodView): string;
  /** CEL: a value that names finding `f` by container and path, like findingKey, to ratchet UPDATEs. */
  key(f: string, pod: PodView): string;
  /** CEL: the finding's message, ' Fix: ' and its fix, word for word as `evaluate` writes them. */
  text(f: string, pod: PodView): string;
  /** CEL: an int that orders finding `f` as `evaluate` does, when the findings list is not in that order already. */
  order?(f: string): string;
}

/** Why a rule is not compiled for a target: CEL cannot express it faithfully, or it cannot fire at admission there. */
export interface CelUnavailable {
  unavailable: 'webhook-only' | 'not-needed';
  reason: string;
}

/**
 * A rule that threw. "The policy says no" and "the rule could not evaluate" are different outcomes:
 * an error is never a silent pass and never a crash; callers decide (the webhook fails open per request).
 */
export interface RuleError {
  rule: string;
  resource: ResourceRef;
  message: string;
}

/**
 * What exempted a finding: the `podpatterns.io/ignore` annotation on the object (honoured only when the policy
 * says so), or an entry of the policy's `exemptions.list`.
 */
export interface AppliedExemption {
  source: 'annotation' | 'policy';
  /** `podpatterns.io/ignore-reason`, or the policy entry's `reason`; absent when an annotation gave none. */
  reason?: string;
  /** For a policy entry: how it is named in messages (`legacy/Deployment/billing-*`, with its line). */
  entry?: string;
  /** For a policy entry with `expires`: its last day (YYYY-MM-DD, UTC). */
  expires?: string;
}

/** A finding an exemption suppressed: the rule ran and found it, and the exemption kept it from counting. */
export interface ExemptedFinding extends Finding {
  exemption: AppliedExemption;
}

export interface EvaluationResult {
  findings: Finding[];
  errors: RuleError[];
  /** Findings moved out of `findings` by an exemption: every exemption that was used, and what it suppressed. */
  exempted: ExemptedFinding[];
}
