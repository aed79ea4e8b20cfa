import { objectAnnotations, podModelOf, resourceRef, type ResourceRef } from '../model/pod.js';
import { objectsIn } from '../model/workload.js';
import type { KubeObject } from '../model/kube.js';
import { errorMessage } from '../errors.js';
import { describeExemption, exemptionActive, globMatch } from './exemptions.js';
import type { EnginePolicy } from './settings.js';
import type { AppliedExemption, EvaluationContext, EvaluationResult, Finding, Rule, RuleFinding } from './types.js';

export const IGNORE_ANNOTATION = 'podpatterns.io/ignore';
export const IGNORE_REASON_ANNOTATION = 'podpatterns.io/ignore-reason';

/**
 * Runs every enabled rule over one document (an object, or a List of them) and returns the findings.
 * Knows nothing of HTTP or files. A rule that throws yields an error outcome for that rule and resource;
 * the other rules still run. Exemptions never skip a rule: its findings are moved to `exempted` with what
 * exempted them, so an exemption is only ever reported when it suppressed something.
 */
export function evaluate(document: unknown, context: EvaluationContext, policy: EnginePolicy, rules: readonly Rule[]): EvaluationResult {
  const result: EvaluationResult = { findings: [], errors: [], exempted: [] };
  for (const { object, path } of objectsIn(document)) evaluateObject(object, path, context, policy, rules, result);
  return result;
}

function evaluateObject(
  object: KubeObject,
  objectPath: string,
  context: EvaluationContext,
  policy: EnginePolicy,
  rules: readonly Rule[],
  result: EvaluationResult,
): void {
  const pod = podModelOf(object, objectPath);
  const resource = resourceRef(object);
  const exemptionFor = exemptionsOf(object, resource, pod?.annotations, context, policy);
  const pods = pod ? [pod] : [];
  for (const rule of rules) {
    const settings = policy.rules[rule.id];
    if (!settings?.enabled) continue;
    // A rule may pick its own verdict (deny in Jobs, warn elsewhere); a severity the policy sets wins, even one equal to the default.
    const pinned = policy.explicit.rules[rule.id]?.severity === true;
    try {
      const found = rule.evaluate({ object, objectPath, pods, context, options: settings.options });
      const exemption = found.length > 0 ? exemptionFor(rule.id) : undefined;
      for (const finding of found) {
        const severity = pinned ? settings.severity : (finding.severity ?? settings.severity);
        const located = toFinding(rule, severity, resource, finding);
        if (exemption) result.exempted.push({ ...located, exemption });
        else result.findings.push(located);
      }
    } catch (error) {
      result.errors.push({ rule: rule.id, resource, message: errorMessage(error) });
    }
  }
}

/** Built field by field rather than by spreads: a pod may yield 100,000 findings. */
function toFinding(rule: Rule, severity: Finding['severity'], resource: ResourceRef, finding: RuleFinding): Finding {
  const located: Finding = { rule: rule.id, severity, resource, path: finding.path, message: finding.message, fix: finding.fix, problem: rule.problem(finding.facts) };
  if (finding.container !== undefined) located.container = finding.container;
  return located;
}

/**
 * The exemption that covers a rule on this object, if any: the first entry of the policy's list that matches
 * the object's namespace, kind and name and has not expired, else the `podpatterns.io/ignore` annotation on
 * the object or its pod template, when the policy honours annotations in the object's namespace.
 */
function exemptionsOf(
  object: KubeObject,
  resource: ResourceRef,
  podAnnotations: Record<string, string> | undefined,
  context: EvaluationContext,
  policy: EnginePolicy,
): (rule: string) => AppliedExemption | undefined {
  const { exemptions } = policy;
  const namespace = context.namespace ?? resource.namespace;
  const now = context.now ?? Date.now();
  const entries =
    namespace === undefined
      ? []
      : exemptions.list.filter(
          (entry) =>
            entry.namespace === namespace &&
            (entry.kind === undefined || entry.kind === resource.kind) &&
            (entry.name === undefined || globMatch(entry.name, resource.name)) &&
            exemptionActive(entry, now),
        );
  const honoured = exemptions.annotations && (exemptions.namespaces.length === 0 || (namespace !== undefined && exemptions.namespaces.includes(namespace)));
  const annotations = honoured ? { ...podAnnotations, ...objectAnnotations(object) } : {};
  const ignored = new Set((annotations[IGNORE_ANNOTATION] ?? '').split(',').map((id) => id.trim()).filter(Boolean));
  const reason = annotations[IGNORE_REASON_ANNOTATION]?.trim();
  const all = ignored.has('*') || ignored.has('all');
  return (rule) => {
    const entry = entries.find((candidate) => candidate.rules.includes('*') || candidate.rules.includes(rule));
    if (entry) {
      return { source: 'policy', reason: entry.reason, entry: describeExemption(entry), ...(entry.expires && { expires: entry.expires.date }) };
    }
    if (all || ignored.has(rule)) return { source: 'annotation', ...(reason && { reason }) };
    return undefined;
  };
}
