import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { kindsJudged, runsAtAdmission, runsOnMutate } from '../../src/engine/scope.js';
import type { Rule } from '../../src/engine/types.js';
import { groupOf, kindResource } from '../../src/model/kinds.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { WEBHOOK_RULES_TEMPLATE, webhookRulesTemplate } from '../support/chart-webhook-rules.js';
import { renderChart } from '../support/helm.js';
import { ofKind, type WebhookConfiguration } from './chart.js';

/** `group/resource` of every resource the webhook is sent on CREATE and UPDATE. */
function sent(configuration: WebhookConfiguration): string[] {
  const resources = new Set<string>();
  for (const rule of configuration.webhooks.flatMap((webhook) => webhook.rules)) {
    expect(rule.operations).toEqual(['CREATE', 'UPDATE']);
    for (const group of rule.apiGroups) for (const resource of rule.resources) resources.add(`${group}/${resource}`);
  }
  return [...resources].sort();
}

function resourcesOf(rules: readonly Rule[]): string[] {
  return kindsJudged(rules)
    .map((kind) => kindResource(kind))
    .map(({ apiVersion, resource }) => `${groupOf(apiVersion)}/${resource}`)
    .sort();
}

describe('the webhooks the chart configures', () => {
  it('are written from the rules as committed (run `npm run docs` after changing what a rule declares)', async () => {
    expect(await readFile(WEBHOOK_RULES_TEMPLATE, 'utf8')).toBe(webhookRulesTemplate(ALL_RULES));
  });

  it('send /validate every kind a rule judges at admission, and no kind only an audit-only rule judges', async () => {
    const [validating] = ofKind<WebhookConfiguration>(await renderChart([]), 'ValidatingWebhookConfiguration');
    expect(sent(validating!)).toEqual(resourcesOf(ALL_RULES.filter(runsAtAdmission)));
    expect(sent(validating!)).not.toContain('autoscaling/horizontalpodautoscalers');
  });

  it('send the native-sidecar guard on /mutate the kinds of the rules on dropped fields, which cover every kind the migration changes', async () => {
    const [mutating] = ofKind<WebhookConfiguration>(await renderChart([], { nativeSidecarGuard: 'true' }), 'MutatingWebhookConfiguration');
    const guarded = sent(mutating!);
    expect(guarded).toEqual(resourcesOf(ALL_RULES.filter(runsOnMutate)));
    expect(guarded).toEqual(expect.arrayContaining(['batch/jobs', 'batch/cronjobs', '/pods']));
  });

  it('follow a rule that declares another kind, or that stops needing related objects', () => {
    const hpa = ALL_RULES.find((rule) => rule.id === 'hpa-pod-average-on-multi-container')!;
    expect(webhookRulesTemplate(ALL_RULES)).not.toContain('horizontalpodautoscalers');
    const atAdmission: Rule = { ...hpa, related: { ...hpa.related!, required: false } };
    expect(webhookRulesTemplate([...ALL_RULES.filter((rule) => rule !== hpa), atAdmission])).toContain(
      '- apiGroups: ["autoscaling"]\n  apiVersions: ["v2"]\n  resources: ["horizontalpodautoscalers"]',
    );
    const onMutate: Rule = { ...ALL_RULES[0]!, id: 'job-only', kinds: ['Job'], droppedFields: ['spec.example'] };
    const guard = webhookRulesTemplate([...ALL_RULES.filter((rule) => !rule.droppedFields), onMutate]);
    expect(guard.slice(guard.indexOf('podpatterns.droppedFieldRules'))).toContain('- apiGroups: ["batch"]\n  apiVersions: ["v1"]\n  resources: ["jobs"]\n');
    expect(guard.slice(guard.indexOf('podpatterns.droppedFieldRules'))).not.toContain('pods');
  });
});
