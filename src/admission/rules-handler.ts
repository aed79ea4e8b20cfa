import { evaluate } from '../engine/engine.js';
import type { EvaluationContext, ExemptedFinding, Finding, Rule, RuleError } from '../engine/types.js';
import type { KubeObject } from '../model/kube.js';
import { decide, responseFor } from './decision.js';
import { withExemptions } from './exemptions.js';
import { failedOpen } from './fail-open.js';
import type { AdmissionHandler, AdmissionResult } from './handler.js';

/**
 * Runs `rules` on the request's object and answers under the settings' mode. Every object gets a full verdict,
 * whatever its size: the rules are linear in the size of the object. On UPDATE, a deny finding the old object
 * already had only warns (ratcheting). A rule that throws admits the object (fail open) with the other rules'
 * findings as warnings: nothing is denied on a partial evaluation. An engine that throws is left to `failOpen`.
 */
export function rulesHandler(rules: readonly Rule[]): AdmissionHandler {
  return (request, { policy, versions, mode }): AdmissionResult => {
    // Exemptions are matched on the namespace the object is created in, which the object itself may not say.
    const where = request.namespace !== undefined ? { namespace: request.namespace } : {};
    const context: EvaluationContext = {
      ...versions,
      ...where,
      operation: request.operation,
      ...(request.oldObject !== null && { oldObject: request.oldObject as KubeObject }),
    };
    const result = evaluate(request.object, context, policy, rules);
    const findings: Finding[] = result.findings;
    const exempted: ExemptedFinding[] = result.exempted;
    const ruleErrors: RuleError[] = [...result.errors];
    let previous: Finding[] | undefined;
    if (request.operation === 'UPDATE' && request.oldObject !== null) {
      const before = evaluate(request.oldObject, { ...versions, ...where, operation: 'CREATE' }, policy, rules);
      previous = before.findings;
      ruleErrors.push(...before.errors);
    }
    if (ruleErrors.length > 0) {
      const failure = ruleErrors.map((error) => `rule ${error.rule} failed: ${error.message}`).join('; ');
      const decision = decide(findings, previous, mode === 'audit' ? 'audit' : 'warn');
      return { ...failedOpen(failure, 'checks', mode, withExemptions(responseFor(decision), exempted, mode)), decision, ruleErrors, exempted };
    }
    const decision = decide(findings, previous, mode);
    return { response: withExemptions(responseFor(decision), exempted, mode), decision, ruleErrors, exempted };
  };
}
