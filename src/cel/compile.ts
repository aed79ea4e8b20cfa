import type { AdmissionMode } from '../admission/mode.js';
import { MAX_STATUS_MESSAGE_LENGTH } from '../admission/limits.js';
import type { RuleSettings } from '../engine/settings.js';
import type { CelCheck, CelForm, CelTarget, PodView, Rule, Severity } from '../engine/types.js';
import { PodpatternsError } from '../errors.js';
import { resourcesByGroup } from '../model/kinds.js';
import type { KubeObject } from '../model/kube.js';
import { atLeast, formatVersion, type KubeVersion } from '../model/version.js';
import type { Policy } from '../policy/policy.js';
import { exemptionVariables, type CelExemptions } from './exemptions.js';
import { migrationPolicies } from './migration-policy.js';
import { bind, str } from './expr.js';
import { NEW_OBJECT, OLD_OBJECT, overPodSpec, podVariables, podView, type CelVariable, type ObjectRoot } from './pod.js';
import { ALWAYS_EXCLUDED_NAMESPACES } from './namespaces.js';

/** ValidatingAdmissionPolicy is GA (admissionregistration.k8s.io/v1) from Kubernetes 1.30. */
export const VAP_SINCE: KubeVersion = { major: 1, minor: 30 };

export { ALWAYS_EXCLUDED_NAMESPACES, DEFAULT_RELEASE_NAMESPACE } from './namespaces.js';
export const RULE_LABEL = 'podpatterns.io/rule';
export const NAME_PREFIX = 'podpatterns-';

export type ValidationAction = 'Deny' | 'Warn' | 'Audit';

export interface CompileOptions {
  kubernetesVersion: KubeVersion;
  minKubeletVersion: KubeVersion;
  /** Caps the actions the way the webhook's modes do: `warn` never denies, `audit` only records. */
  mode: AdmissionMode;
  /** The namespace podpatterns is installed in: left alone, like kube-system. */
  releaseNamespace: string;
  /** Further namespaces to leave alone. */
  excludedNamespaces: readonly string[];
  /** When exemption expiry is judged (epoch milliseconds; default now): entries expired by then are left out. */
  now?: number;
}

export interface SkippedRule {
  rule: string;
  /** `disabled` by the policy, `webhook-only` (CEL cannot express it faithfully), `not-needed` (cannot fire at admission on the target). */
  why: 'disabled' | 'webhook-only' | 'not-needed';
  reason: string;
}

export interface Compilation {
  /** Policies and their bindings, each policy followed by its binding; the migration's last. */
  objects: KubeObject[];
  /** Ids of the rules that became policies. */
  compiled: string[];
  skipped: SkippedRule[];
  /** Why the sidecar migration has no policy (MutatingAdmissionPolicy needs 1.36, the policy turns it off, …). */
  migrationSkipped?: string;
}

/**
 * Compiles the rules a policy enables into ValidatingAdmissionPolicies, one policy and one binding per rule
 * and verdict, for one target cluster. Pure: the CLI renders the objects, a chart generator can reuse them.
 */
export function compilePolicies(rules: readonly Rule[], policy: Policy, options: CompileOptions): Compilation {
  if (!atLeast(options.kubernetesVersion, VAP_SINCE.major, VAP_SINCE.minor)) {
    throw new PodpatternsError(
      'PODPATTERNS_ERR_USAGE',
      `--kubernetes-version ${formatVersion(options.kubernetesVersion)}: ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1) needs Kubernetes ${formatVersion(VAP_SINCE)} or newer; use the webhook on older clusters`,
    );
  }
  const result: Compilation = { objects: [], compiled: [], skipped: [] };
  for (const rule of rules) {
    const settings = policy.rules[rule.id];
    if (!settings?.enabled) {
      result.skipped.push({ rule: rule.id, why: 'disabled', reason: 'turned off in the policy' });
      continue;
    }
    const target: CelTarget = { kubernetesVersion: options.kubernetesVersion, minKubeletVersion: options.minKubeletVersion, options: settings.options };
    const form = rule.cel?.(target) ?? { unavailable: 'webhook-only' as const, reason: 'no CEL form' };
    if ('unavailable' in form) {
      result.skipped.push({ rule: rule.id, why: form.unavailable, reason: form.reason });
      continue;
    }
    result.objects.push(...compileRule(rule, policy, settings, form, options, policy.exemptions));
    result.compiled.push(rule.id);
  }
  const migration = migrationPolicies({
    kubernetesVersion: options.kubernetesVersion,
    minKubeletVersion: options.minKubeletVersion,
    migration: policy.migration,
    releaseNamespace: options.releaseNamespace,
    excludedNamespaces: options.excludedNamespaces,
  });
  result.objects.push(...(migration.objects as KubeObject[]));
  if (migration.skipped !== undefined) result.migrationSkipped = migration.skipped;
  return result;
}

/** What a verdict does under a mode, as the webhook's decide() treats it. */
export function validationActions(severity: Severity, mode: AdmissionMode): ValidationAction[] {
  if (severity === 'audit' || mode === 'audit') return ['Audit'];
  if (severity === 'deny' && mode === 'enforce') return ['Deny', 'Audit'];
  return ['Warn', 'Audit'];
}

function compileRule(rule: Rule, policy: Policy, settings: RuleSettings, form: CelForm, options: CompileOptions, exemptions: CelExemptions): KubeObject[] {
  // A severity the policy sets wins over the verdict a rule picks per finding, even one equal to the default (as in the engine).
  const overridden = policy.explicit.rules[rule.id]?.severity === true;
  const groups = new Map<Severity, CelCheck[]>();
  for (const check of form.checks) {
    const severity = overridden ? settings.severity : (check.severity ?? settings.severity);
    groups.set(severity, [...(groups.get(severity) ?? []), check]);
  }
  const objects: KubeObject[] = [];
  for (const [severity, checks] of groups) {
    // The policy of the rule's configured verdict keeps the plain name; a second verdict gets a suffix.
    const name = `${NAME_PREFIX}${rule.id}${groups.size > 1 && severity !== settings.severity ? `-${severity}` : ''}`;
    const actions = validationActions(severity, options.mode);
    objects.push(validatingPolicy(name, rule, form, checks, actions, options, exemptions, 'verdict'), binding(name, rule, actions, options));
    // The webhook warns about the deny findings an UPDATE keeps ("(pre-existing)"): a denying binding cannot warn too.
    if (actions.includes('Deny')) {
      const companion = `${name}-pre-existing`;
      const warn: ValidationAction[] = ['Warn', 'Audit'];
      objects.push(validatingPolicy(companion, rule, form, checks, warn, options, exemptions, 'pre-existing'), binding(companion, rule, warn, options));
    }
  }
  return objects;
}

function metadata(name: string, rule: Rule, options: CompileOptions): KubeObject['metadata'] {
  return {
    name,
    labels: { [RULE_LABEL]: rule.id, 'app.kubernetes.io/managed-by': 'podpatterns' },
    annotations: {
      'podpatterns.io/compiled-for':
        `Kubernetes ${formatVersion(options.kubernetesVersion)}, kubelets from ${formatVersion(options.minKubeletVersion)}, mode ${options.mode}`,
    },
  };
}

function validatingPolicy(
  name: string,
  rule: Rule,
  form: CelForm,
  checks: CelCheck[],
  actions: ValidationAction[],
  options: CompileOptions,
  exemptions: CelExemptions,
  purpose: 'verdict' | 'pre-existing',
): KubeObject {
  // Ratcheting (src/admission/decision.ts): on UPDATE a deny finding the old object already had does not deny;
  // the pre-existing policy warns about exactly those.
  const preExisting = purpose === 'pre-existing';
  const ratchet = actions.includes('Deny') || preExisting;
  const now = options.now ?? Date.now();
  const variables: CelVariable[] = [...objectVariables(NEW_OBJECT, rule, form, checks, exemptions, now)];
  if (ratchet) variables.push(...objectVariables(OLD_OBJECT, rule, form, checks, exemptions, now));
  const validations = checks.map((check, index) => {
    const findings = `variables.findings${index}`;
    let open = findings;
    if (ratchet) {
      const oldKeys = `variables.oldKeys${index}`;
      variables.push({
        name: `oldKeys${index}`,
        expression: `request.operation == 'UPDATE' && oldObject != null && !variables.oldExempted ? variables.oldFindings${index}.map(f, ${check.key('f', podView(OLD_OBJECT))}) : []`,
      });
      const kept = preExisting ? 'preExisting' : 'newFindings';
      variables.push({ name: `${kept}${index}`, expression: `${findings}.filter(f, ${preExisting ? '' : '!'}(${check.key('f', podView(NEW_OBJECT))} in ${oldKeys}))` });
      open = `variables.${kept}${index}`;
    }
    const label = preExisting ? `${rule.id} (pre-existing)` : rule.id;
    return {
      expression: `variables.exempted || size(${open}) == 0`,
      messageExpression: messageExpression(rule, label, check, open, podView(NEW_OBJECT)),
      message: `${label}: ${rule.summary}`,
      reason: 'Forbidden',
    };
  });
  const auditAnnotations = preExisting ? [] : [{ key: 'exempted', valueExpression: "variables.exempted ? variables.exemptionNote : ''" }];
  // Only on pods the rule can find something on does the API server build the variables (see CelForm.candidate).
  const matchConditions = form.candidate ? [{ name: 'may-find', expression: overPodSpec(form.candidate) }] : [];
  const used = [...validations.flatMap((v) => [v.expression, v.messageExpression]), ...auditAnnotations.map((a) => a.valueExpression), ...matchConditions.map((c) => c.expression)];
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: metadata(name, rule, options),
    spec: {
      // An evaluation error must not let an object through where the rule denies; elsewhere it must not deny.
      failurePolicy: actions.includes('Deny') ? 'Fail' : 'Ignore',
      matchConstraints: {
        // The kinds the rule declares it judges, as the webhooks receive them.
        resourceRules: resourcesByGroup(rule.kinds).map(({ apiGroups, resources, apiVersions }) => ({
          apiGroups,
          resources,
          apiVersions,
          operations: preExisting ? ['UPDATE'] : ['CREATE', 'UPDATE'],
          scope: 'Namespaced',
        })),
      },
      ...(matchConditions.length > 0 && { matchConditions }),
      variables: referenced(variables, used),
      validations,
      ...(auditAnnotations.length > 0 && { auditAnnotations }),
    },
  };
}

/**
 * The variables `expressions` read, directly or through other variables, in their order. The API server sets up
 * every declared variable for each expression it evaluates (lazily, but one entry each), so unread ones cost time.
 */
export function referenced(variables: readonly CelVariable[], expressions: readonly string[]): CelVariable[] {
  const byName = new Map(variables.map((variable) => [variable.name, variable]));
  const needed = new Set<string>();
  const visit = (expression: string): void => {
    for (const [, name] of expression.matchAll(/\bvariables\.([A-Za-z_][A-Za-z0-9_]*)/g)) {
      const variable = byName.get(name!);
      if (variable && !needed.has(name!)) {
        needed.add(name!);
        visit(variable.expression);
      }
    }
  };
  for (const expression of expressions) visit(expression);
  return variables.filter((variable) => needed.has(variable.name));
}

/** The shared pod variables, the rule's own, its exemption and its findings, for the object or the old object. */
function objectVariables(root: ObjectRoot, rule: Rule, form: CelForm, checks: CelCheck[], exemptions: CelExemptions, now: number): CelVariable[] {
  const pod = podView(root);
  const own = (form.variables?.(pod) ?? []).map(({ name, expression }) => ({ name: pod.own(name).replace(/^variables\./, ''), expression }));
  const findings = checks.map((check, index) => ({ name: pod.own(`findings${index}`).replace(/^variables\./, ''), expression: check.findings(pod) }));
  return [...podVariables(root), ...exemptionVariables(root, rule.id, exemptions, now), ...own, ...findings];
}

/**
 * The webhook's denial for the first finding: `<rule>: <message> Fix: <fix>`, cut to the webhook's
 * MAX_STATUS_MESSAGE_LENGTH. The API server drops a message with a line break or over 5 KiB
 * (pkg/admission/plugin/policy/validating/validator.go), so line breaks become spaces.
 */
function messageExpression(rule: Rule, label: string, check: CelCheck, findings: string, pod: PodView): string {
  const more = `(size(${findings}) > 1 ? ' (+' + string(size(${findings}) - 1) + ' more ${rule.id} findings: podpatterns audit lists them)' : '')`;
  const first = check.order ? bind('lowest', `${findings}.map(f, ${check.order('f')}).min()`, `${findings}.filter(f, ${check.order('f')} == lowest)[0]`) : `${findings}[0]`;
  const text = bind('f', first, `${str(`${label}: `)} + ${check.text('f', pod)}`);
  const cut = MAX_STATUS_MESSAGE_LENGTH;
  return bind('t', `(${text} + ${more}).replace('\\n', ' ')`, `t.size() <= ${cut} ? t : t.substring(0, ${cut - 1}) + '…'`);
}

function binding(name: string, rule: Rule, actions: ValidationAction[], options: CompileOptions): KubeObject {
  const excluded = [...new Set([...ALWAYS_EXCLUDED_NAMESPACES, options.releaseNamespace, ...options.excludedNamespaces])];
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: metadata(name, rule, options),
    spec: {
      policyName: name,
      validationActions: actions,
      matchResources: {
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excluded }] },
      },
    },
  };
}
