import { IGNORE_ANNOTATION, IGNORE_REASON_ANNOTATION } from '../engine/engine.js';
import { str } from './expr.js';
import { podView, type CelVariable, type ObjectRoot } from './pod.js';

/**
 * The engine's exemptions as CEL (src/engine/engine.ts ignoredRules): `podpatterns.io/ignore: "a,b"` (or `*`,
 * `all`) on the object or its pod template, the object's own annotation winning. `exempted` skips the rule;
 * `exemptionNote` is what the policy's audit annotation records.
 */
export function exemptionVariables(root: ObjectRoot, ruleId: string): CelVariable[] {
  const pod = podView(root);
  const name = (variable: string) => pod.own(variable).replace(/^variables\./, '');
  const annotation = (key: string) => `${pod.objectAnnotations}[?${str(key)}].orValue(${pod.annotations}[?${str(key)}].orValue(''))`;
  return [
    { name: name('ignoreList'), expression: `${annotation(IGNORE_ANNOTATION)}.split(',').map(s, s.trim())` },
    { name: name('exempted'), expression: `${pod.own('ignoreList')}.exists(s, s == '*' || s == 'all' || s == ${str(ruleId)})` },
    {
      name: name('exemptionNote'),
      expression: `${str(`${ruleId} skipped: ${IGNORE_ANNOTATION} annotation`)} + (${annotation(IGNORE_REASON_ANNOTATION)} != '' ? ', reason: ' + ${annotation(IGNORE_REASON_ANNOTATION)} : '')`,
    },
  ];
}
