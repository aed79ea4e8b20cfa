import { objectAnnotations, podModelOf, resourceRef } from '../model/pod.js';
import { objectsIn } from '../model/workload.js';
import type { KubeObject } from '../model/kube.js';
import { errorMessage } from '../policy/errors.js';
import type { Policy } from '../policy/policy.js';
import type { EvaluationContext, EvaluationResult, Finding, ResourceRef, Rule, RuleFinding } from './types.js';

export const IGNORE_ANNOTATION = 'podpatterns.io/ignore';
export const IGNORE_REASON_ANNOTATION = 'podpatterns.io/ignore-reason';

/**
 * Runs every enabled rule over one document (an object, or a List of them) and returns the findings.
 * Knows nothing of HTTP or files. A rule that throws yields an error outcome for that rule and resource;
 * the other rules still run.
 */
export function evaluate(document: unknown, context: EvaluationContext, policy: Policy, rules: readonly Rule[]): EvaluationResult {
  const result: EvaluationResult = { findings: [], errors: [], exemptions: [] };
  for (const { object, path } of objectsIn(document)) evaluateObject(object, path, context, policy, rules, result);
  return result;
}

function evaluateObject(
  object: KubeObject,
  objectPath: string,
  context: EvaluationContext,
  policy: Policy,
  rules: readonly Rule[],
  result: EvaluationResult,
): void {
  const pod = podModelOf(object, objectPath);
  const resource = resourceRef(object);
  const ignored = ignoredRules(object, pod?.annotations);
  if (ignored.rules.length > 0) {
    result.exemptions.push({ resource, rules: ignored.rules, ...(ignored.reason !== undefined && { reason: ignored.reason }) });
  }
  const pods = pod ? [pod] : [];
  for (const rule of rules) {
    const settings = policy.rules[rule.id];
    if (!settings?.enabled || ignored.all || ignored.rules.includes(rule.id)) continue;
    try {
      for (const finding of rule.evaluate({ object, objectPath, pods, context, options: settings.options })) {
        // A rule may pick its own verdict (deny in Jobs, warn elsewhere); a policy override of the severity wins.
        const overridden = settings.severity !== rule.defaultSeverity;
        const severity = overridden ? settings.severity : (finding.severity ?? settings.severity);
        result.findings.push(toFinding(rule, severity, resource, finding));
      }
    } catch (error) {
      result.errors.push({ rule: rule.id, resource, message: errorMessage(error) });
    }
  }
}

function toFinding(rule: Rule, severity: Finding['severity'], resource: ResourceRef, finding: RuleFinding): Finding {
  return {
    rule: rule.id,
    severity,
    resource,
    ...(finding.container !== undefined && { container: finding.container }),
    path: finding.path,
    message: finding.message,
    fix: finding.fix,
    problem: rule.problem(finding.facts),
  };
}

interface Ignored {
  all: boolean;
  rules: string[];
  reason?: string;
}

/** `podpatterns.io/ignore: "rule-a,rule-b"` (or `*`) on the object or its pod template. */
function ignoredRules(object: KubeObject, podAnnotations: Record<string, string> | undefined): Ignored {
  const annotations = { ...podAnnotations, ...objectAnnotations(object) };
  const list = (annotations[IGNORE_ANNOTATION] ?? '').split(',').map((id) => id.trim()).filter(Boolean);
  const reason = annotations[IGNORE_REASON_ANNOTATION];
  return { all: list.includes('*') || list.includes('all'), rules: list, ...(reason !== undefined && { reason }) };
}
