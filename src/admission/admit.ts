import { evaluate } from '../engine/engine.js';
import type { EvaluationContext, ExemptedFinding, Finding, Rule, RuleError } from '../engine/types.js';
import type { KubeObject } from '../model/kube.js';
import { errorMessage } from '../errors.js';
import type { Policy } from '../policy/policy.js';
import { decide, responseFor, type Decision } from './decision.js';
import { withExemptions } from './exemptions.js';
import type { AdmissionMode } from './mode.js';
import { allowed, withAuditAnnotations, withWarnings, type AdmissionResponse } from './response.js';
import type { AdmissionRequest } from './review.js';

export interface AdmissionSettings {
  rules: readonly Rule[];
  policy: Policy;
  versions: Pick<EvaluationContext, 'kubernetesVersion' | 'minKubeletVersion'>;
  mode: AdmissionMode;
}

/** The answer to one request and what led to it, for logs and metrics. */
export interface AdmissionResult {
  response: AdmissionResponse;
  decision: Decision;
  /** Rules that threw on the object (the request was then allowed: fail open). */
  ruleErrors: RuleError[];
  /** Findings an exemption suppressed; each is shown as a warning and an audit annotation. */
  exempted: ExemptedFinding[];
  /** Why the request was allowed without a verdict: an evaluation failure (fail open). */
  failure?: string;
  /** Why nothing was evaluated: no object (DELETE, CONNECT) or a subresource. */
  skipped?: 'no-object' | 'subresource';
  /** What the `/mutate` step did to the object: patched it, or found a change its dry run only reports. */
  mutation?: 'patched' | 'dry-run';
}

/** The audit annotation that records a fail-open admission. */
export const EVALUATION_ERROR_ANNOTATION = 'evaluation-error';

/**
 * Runs the rules on the request's object and answers under the settings' mode (the `/validate` webhook). Every
 * object gets a full verdict, whatever its size: the rules are linear in the size of the object.
 */
export function validateRequest(request: AdmissionRequest, settings: AdmissionSettings): AdmissionResult {
  const empty: Decision = { allowed: true, denials: [], warnings: [], ratcheted: [], findings: [] };
  // A status, scale or binding update cannot change the pod spec the rules look at.
  if (request.subResource !== undefined) return { response: allowed(), decision: empty, ruleErrors: [], exempted: [], skipped: 'subresource' };
  if (request.object === null) return { response: allowed(), decision: empty, ruleErrors: [], exempted: [], skipped: 'no-object' };
  let findings: Finding[];
  let previous: Finding[] | undefined;
  const ruleErrors: RuleError[] = [];
  let exempted: ExemptedFinding[];
  // Exemptions are matched on the namespace the object is created in, which the object itself may not say.
  const where = request.namespace !== undefined ? { namespace: request.namespace } : {};
  try {
    const context: EvaluationContext = {
      ...settings.versions,
      ...where,
      operation: request.operation,
      ...(request.oldObject !== null && { oldObject: request.oldObject as KubeObject }),
    };
    const result = evaluate(request.object, context, settings.policy, settings.rules);
    findings = result.findings;
    exempted = result.exempted;
    ruleErrors.push(...result.errors);
    if (request.operation === 'UPDATE' && request.oldObject !== null) {
      const before = evaluate(request.oldObject, { ...settings.versions, ...where, operation: 'CREATE' }, settings.policy, settings.rules);
      previous = before.findings;
      ruleErrors.push(...before.errors);
    }
  } catch (error) {
    return failOpen(settings.mode, `evaluation failed: ${errorMessage(error)}`, [], empty, []);
  }
  if (ruleErrors.length > 0) {
    const failure = ruleErrors.map((error) => `rule ${error.rule} failed: ${error.message}`).join('; ');
    // Fail open: the other rules' findings are still shown, but nothing is denied on a partial evaluation.
    const decision = decide(findings, previous, settings.mode === 'audit' ? 'audit' : 'warn');
    return failOpen(settings.mode, failure, ruleErrors, decision, exempted);
  }
  const decision = decide(findings, previous, settings.mode);
  return { response: withExemptions(responseFor(decision), exempted, settings.mode), decision, ruleErrors, exempted };
}

function failOpen(mode: AdmissionMode, failure: string, ruleErrors: RuleError[], decision: Decision, exempted: ExemptedFinding[]): AdmissionResult {
  const decided = responseFor(decision);
  // Audit mode is invisible to users: the failure is only in the annotation, the logs and the metrics.
  const notice = mode === 'audit' ? [] : [`podpatterns could not check this object and admitted it unchecked: ${failure}`];
  const response = withAuditAnnotations(withWarnings(allowed(), ...notice, ...(decided.warnings ?? [])), {
    [EVALUATION_ERROR_ANNOTATION]: failure,
    ...decided.auditAnnotations,
  });
  return { response: withExemptions(response, exempted, mode), decision, ruleErrors, exempted, failure };
}
