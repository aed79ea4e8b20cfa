import { IGNORE_ANNOTATION, IGNORE_REASON_ANNOTATION } from '../engine/engine.js';
import type { Exemptions } from '../engine/exemptions.js';
import { bind, str, strList } from './expr.js';
import { podView, type CelVariable, type ObjectRoot } from './pod.js';

/** The names of the variables exemptionVariables() declares (for `oldObject`: `oldExempted`, `oldExemptionNote`). */
export const EXEMPTION_VARIABLES = ['exempted', 'exemptionNote'] as const;

/** The policy file's `exemptions` block (src/engine/exemptions.ts): who may exempt what. */
export type CelExemptions = Readonly<Exemptions>;

/**
 * The engine's exemptions as CEL variables (src/engine/engine.ts): the first central entry that matches the
 * request's namespace, the object's kind and name and names the rule; else `podpatterns.io/ignore: "a,b"` (or
 * `*`, `all`) on the object or its pod template, the object's own annotation winning, where the policy honours
 * annotations. `exempted` skips the rule; `exemptionNote` is what the policy's audit annotation records.
 * CEL has no clock: the list is filtered for expiry at `now`, and an entry that ends later stays in force until
 * `podpatterns compile` runs again after its last day.
 */
export function exemptionVariables(root: ObjectRoot, ruleId: string, exemptions: CelExemptions, now: number): CelVariable[] {
  const pod = podView(root);
  const name = (variable: string) => pod.own(variable).replace(/^variables\./, '');
  const annotation = (key: string) => `${pod.objectAnnotations}[?${str(key)}].orValue(${pod.annotations}[?${str(key)}].orValue(''))`;
  const objectName = `${pod.object}.metadata.?name.orValue(${pod.object}.metadata.?generateName.orValue(''))`;
  const entries = exemptions.list.filter(
    (entry) => (entry.rules.includes('*') || entry.rules.includes(ruleId)) && (entry.expires === undefined || now < entry.expires.endsAt),
  );
  const matching = entries.map((entry) =>
    [
      `request.namespace == ${str(entry.namespace)}`,
      ...(entry.kind !== undefined ? [`${pod.object}.kind == ${str(entry.kind)}`] : []),
      ...(entry.name !== undefined ? [`${objectName}.matches(${str(globToRe2(entry.name))})`] : []),
    ].join(' && '),
  );
  const notes = entries.map(
    (entry) =>
      `${ruleId} skipped: policy exemption ${entry.namespace}/${entry.kind ?? '*'}/${entry.name ?? '*'}, reason: ${entry.reason}` +
      (entry.expires ? ` (until ${entry.expires.date}; generate the policies again after it)` : ''),
  );
  const honoured = !exemptions.annotations ? 'false' : exemptions.namespaces.length === 0 ? 'true' : `request.namespace in ${strList(exemptions.namespaces)}`;
  const listNote = matching.reduceRight((otherwise, condition, index) => `${condition} ? ${str(notes[index]!)} : ${otherwise}`, "''");
  const listed = matching.length === 0 ? 'false' : matching.map((condition) => `(${condition})`).join(' || ');
  // Two variables, not one per step: the API server sets up every declared variable for each expression it runs.
  const byAnnotation = honoured === 'false'
    ? 'false'
    : `${honoured === 'true' ? '' : `${honoured} && `}${annotation(IGNORE_ANNOTATION)}.split(',').exists(s, ${bind('t', 's.trim()', `t == '*' || t == 'all' || t == ${str(ruleId)}`)})`;
  const annotationNote =
    `${str(`${ruleId} skipped: ${IGNORE_ANNOTATION} annotation`)} + (${annotation(IGNORE_REASON_ANNOTATION)}.trim() != '' ? ', reason: ' + ${annotation(IGNORE_REASON_ANNOTATION)}.trim() : '')`;
  return [
    { name: name(EXEMPTION_VARIABLES[0]), expression: listed === 'false' ? byAnnotation : byAnnotation === 'false' ? listed : `${listed} || ${byAnnotation}` },
    { name: name(EXEMPTION_VARIABLES[1]), expression: matching.length === 0 ? annotationNote : bind('listed', listNote, `listed != '' ? listed : ${annotationNote}`) },
  ];
}

/** An exemption's name glob as an anchored RE2 pattern: `*` any run of characters, `?` one, the rest literal. */
export function globToRe2(glob: string): string {
  let pattern = '';
  for (const char of glob) pattern += char === '*' ? '.*' : char === '?' ? '.' : /[\\^$.|?*+()[\]{}]/.test(char) ? `\\${char}` : char;
  return `(?s)^${pattern}$`;
}
