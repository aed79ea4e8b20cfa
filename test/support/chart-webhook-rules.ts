/**
 * The chart's webhook `rules:` (what each webhook is sent) are written from what the rules declare: the kinds of
 * the rules that run at admission for `/validate`, the kinds of the rules on fields the API server drops for the
 * native-sidecar guard on `/mutate`. A rule that needs related objects runs only in audits, so its kinds are sent
 * to no webhook. `npm run docs` rewrites the template; test/chart/webhook-rules.test.ts fails while the committed
 * file is out of date.
 */
import { writeFile } from 'node:fs/promises';
import { kindsJudged, runsAtAdmission, runsOnMutate } from '../../src/engine/scope.js';
import type { Rule } from '../../src/engine/types.js';
import { resourcesByGroup } from '../../src/model/kinds.js';
import { ALL_RULES } from '../../src/rules/index.js';

export const WEBHOOK_RULES_TEMPLATE = new URL('../../charts/podpatterns/templates/_webhook-rules.tpl', import.meta.url);

/** The rules of a webhook for the kinds of `rules`, CREATE and UPDATE, as YAML lines. */
function webhookRules(rules: readonly Rule[]): string {
  return resourcesByGroup(kindsJudged(rules))
    .map(({ apiGroups, apiVersions, resources }) =>
      [
        `- apiGroups: ${JSON.stringify(apiGroups)}`,
        `  apiVersions: ${JSON.stringify(apiVersions)}`,
        `  resources: [${resources.map((resource) => JSON.stringify(resource)).join(', ')}]`,
        '  operations: ["CREATE", "UPDATE"]',
        '  scope: Namespaced',
      ].join('\n'),
    )
    .join('\n');
}

function ids(rules: readonly Rule[]): string {
  return rules.map((rule) => rule.id).join(', ');
}

export function webhookRulesTemplate(rules: readonly Rule[]): string {
  const admission = rules.filter(runsAtAdmission);
  const auditOnly = rules.filter((rule) => !runsAtAdmission(rule));
  const droppedFields = rules.filter(runsOnMutate);
  return `{{- /*
Written by \`npm run docs\` from what the rules declare (src/rules/*.ts: kinds, related, droppedFields); do not
edit: test/chart/webhook-rules.test.ts fails while it is out of date.
*/}}

{{- /*
What /validate is sent: every kind a rule that runs at admission judges.${
    auditOnly.length > 0
      ? `\nNot sent: what only rules that need related objects an admission request does not carry judge; they run
in audits (podpatterns audit, the cluster audit) only:
${ids(auditOnly)}.`
      : ''
  }
*/}}
{{- define "podpatterns.validatingRules" -}}
${webhookRules(admission)}
{{- end }}

{{- /*
What /mutate is sent for the rules on fields the API server drops before validating admission when their
feature gate is off, which only the mutating webhook still sees:
${ids(droppedFields)}.
*/}}
{{- define "podpatterns.droppedFieldRules" -}}
${webhookRules(droppedFields)}
{{- end }}
`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/test\//, '/test/'))) {
  await writeFile(WEBHOOK_RULES_TEMPLATE, webhookRulesTemplate(ALL_RULES));
  console.log('charts/podpatterns/templates/_webhook-rules.tpl updated');
}
