import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CHART_DIR, REPO_ROOT, renderChart } from '../support/helm.js';
import { promtool, runPromtool, type Promtool } from '../support/promtool.js';
import { ofKind, single } from './chart.js';

interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

interface PrometheusRule {
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: { groups: { name: string; rules: AlertingRule[] }[] };
}

interface RuleTests {
  rule_files: string[];
  tests: { name: string; alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const RULE_TESTS = join(REPO_ROOT, 'test/chart/alerts/alerts-test.yaml');
const ENABLED = { 'metrics.prometheusRule.enabled': 'true' };

const alertsOf = (rule: PrometheusRule) => rule.spec.groups.flatMap((group) => group.rules);

describe('the PrometheusRule of the chart', () => {
  it('is off by default, and not rendered for a server outside the cluster', async () => {
    expect(ofKind(await renderChart([]), 'PrometheusRule')).toEqual([]);
    expect(ofKind(await renderChart([join(CHART_DIR, 'ci/url-mode-values.yaml')], ENABLED), 'PrometheusRule')).toEqual([]);
  });

  describe('with metrics.prometheusRule.enabled', () => {
    let rule: PrometheusRule;
    let tool: Promtool;
    let directory: string;

    beforeAll(async () => {
      rule = single<PrometheusRule>(await renderChart([], ENABLED), 'PrometheusRule') as PrometheusRule;
      directory = await mkdtemp(join(tmpdir(), 'podpatterns-alerts-'));
      const tests = parse(await readFile(RULE_TESTS, 'utf8')) as RuleTests;
      // The rule file promtool reads is the chart's rendered groups, written next to a copy of the tests.
      await writeFile(join(directory, tests.rule_files[0]!), stringify({ groups: rule.spec.groups }));
      await copyFile(RULE_TESTS, join(directory, 'alerts-test.yaml'));
      tool = await promtool();
      if ('unavailable' in tool) console.log(`promtool tests skipped: promtool cannot be built here (${tool.unavailable})`);
    }, 30 * 60_000);

    afterAll(() => rm(directory, { recursive: true, force: true }));

    it('passes promtool check rules', async (context) => {
      if ('unavailable' in tool) return context.skip();
      const result = await runPromtool(tool.path, ['check', 'rules', join(directory, 'podpatterns-alerts.yaml')]);
      expect(result.output).toContain(`SUCCESS: ${alertsOf(rule).length} rules found`);
      expect(result.code, result.output).toBe(0);
    });

    it('fires each alert as the rule tests in test/chart/alerts expect, and stays quiet where they say', async (context) => {
      if ('unavailable' in tool) return context.skip();
      const result = await runPromtool(tool.path, ['test', 'rules', join(directory, 'alerts-test.yaml')]);
      expect(result.code, result.output).toBe(0);
      expect(result.output).toContain('SUCCESS');
    });

    it('has a rule test in which each alert fires', async () => {
      const tests = parse(await readFile(RULE_TESTS, 'utf8')) as RuleTests;
      const fired = new Set(tests.tests.flatMap((test) => test.alert_rule_test.filter((check) => check.exp_alerts.length > 0).map((check) => check.alertname)));
      expect([...fired].sort()).toEqual(alertsOf(rule).map((alert) => alert.alert).sort());
    });

    it('gives every alert a severity, a summary, a description and a runbook section of the chart README', async () => {
      const readme = await readFile(join(CHART_DIR, 'README.md'), 'utf8');
      const headings = new Set([...readme.matchAll(/^### (Podpatterns\w+)$/gm)].map((match) => match[1]));
      for (const alert of alertsOf(rule)) {
        expect(['warning', 'critical'], alert.alert).toContain(alert.labels.severity);
        expect(alert.annotations.summary, alert.alert).toMatch(/\S/);
        expect(alert.annotations.description, alert.alert).toMatch(/\S/);
        expect(alert.annotations.runbook_url, alert.alert).toBe(`https://github.com/podpatterns/podpatterns/blob/main/charts/podpatterns/README.md#${alert.alert.toLowerCase()}`);
        expect(headings, alert.alert).toContain(alert.alert);
      }
      expect([...headings].sort()).toEqual(alertsOf(rule).map((alert) => alert.alert).sort());
    });

    it('watches the API server failing open on, and timing, the webhooks the chart installs', async () => {
      const manifests = await renderChart([join(CHART_DIR, 'ci/enforce-and-warn-namespaces-values.yaml')], { ...ENABLED, 'migration.mode': 'apply' });
      const names = ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']
        .flatMap((kind) => ofKind<{ webhooks: { name: string }[] }>(manifests, kind))
        .flatMap((configuration) => configuration.webhooks.map((webhook) => webhook.name));
      expect(names.length).toBeGreaterThanOrEqual(4);
      const alerts = alertsOf(rule);
      const failOpen = alerts.find((alert) => alert.alert === 'PodpatternsWebhookFailingOpen')!.expr;
      const matcher = /name=~`([^`]+)`/.exec(failOpen)![1]!;
      // PromQL anchors regular expressions at both ends; backquoted strings take backslashes literally.
      const webhook = new RegExp(`^(?:${matcher})$`);
      for (const name of names) expect(name).toMatch(webhook);
      for (const name of ['validate.kyverno.svc-fail', 'validate.podpatterns.io.example.com', 'podpatterns.io']) expect(name).not.toMatch(webhook);
      expect(failOpen).toContain('apiserver_admission_webhook_fail_open_count{');
      expect(alerts.find((alert) => alert.alert === 'PodpatternsAdmissionLatencyHigh')!.expr).toContain(`apiserver_admission_webhook_admission_duration_seconds_bucket{name=~\`${matcher}\`}`);
    });
  });

  it('takes its thresholds, the series selector and extra labels from values', async () => {
    // A values file, as users write them: `--set` would pass 2.5 as a string.
    const directory = await mkdtemp(join(tmpdir(), 'podpatterns-alert-values-'));
    const values = join(directory, 'values.yaml');
    await writeFile(
      values,
      stringify({
        metrics: {
          prometheusRule: {
            enabled: true,
            apiServerLatencyP99Seconds: 2.5,
            serverLatencyP99Seconds: 0.1,
            certificateExpiryDays: 30,
            selector: 'job="podpatterns-metrics"',
            labels: { release: 'kube-prometheus-stack' },
            alertLabels: { team: 'platform' },
            runbookUrl: 'https://wiki.example.com/podpatterns',
          },
        },
      }),
    );
    const rule = single<PrometheusRule>(await renderChart([values]).finally(() => rm(directory, { recursive: true, force: true })), 'PrometheusRule') as PrometheusRule;
    const expr = (name: string) => alertsOf(rule).find((alert) => alert.alert === name)!.expr;
    expect(rule.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(expr('PodpatternsAdmissionLatencyHigh')).toMatch(/\) > 2\.5$/);
    expect(expr('PodpatternsServerSlow')).toMatch(/\{job="podpatterns-metrics"\}\[5m\]\)\)\) > 0\.1$/);
    expect(expr('PodpatternsCertificateExpiringSoon')).toBe('podpatterns_certificate_expiry_timestamp_seconds{job="podpatterns-metrics"} - time() < 30 * 86400');
    for (const alert of alertsOf(rule)) {
      expect(alert.labels.team, alert.alert).toBe('platform');
      expect(alert.annotations.runbook_url).toBe(`https://wiki.example.com/podpatterns#${alert.alert.toLowerCase()}`);
      if (alert.expr.includes('podpatterns_')) expect(alert.expr, alert.alert).not.toContain('namespace="podpatterns-system"');
    }
  });
});
