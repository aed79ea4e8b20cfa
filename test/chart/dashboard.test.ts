import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHART_DIR, renderChart, type KubeManifest } from '../support/helm.js';
import { startTestServer, type TestServer } from '../server/support.js';
import { ofKind, single } from './chart.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { refId: string; expr: string; legendFormat?: string }[];
}

interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string }[] };
}

interface ConfigMap extends KubeManifest {
  data: Record<string, string>;
}

/**
 * The API server's admission metrics the dashboard may read besides podpatterns' own, as named in
 * k8s.io/apiserver pkg/admission/metrics/metrics.go (namespace `apiserver`, subsystem `admission`).
 */
const API_SERVER_METRICS = new Set([
  'apiserver_admission_webhook_admission_duration_seconds_bucket',
  'apiserver_admission_webhook_fail_open_count',
  'apiserver_admission_webhook_rejection_count',
]);

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset']);

/** The metric names a PromQL expression selects: what is left once strings, matchers, ranges, groupings and functions are removed. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = [...bare.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter((match) => match[2] === undefined)
    .map((match) => match[1]!)
    .filter((name) => !PROMQL_KEYWORDS.has(name));
  return [...new Set(names)];
}

/** Series names a Prometheus text exposition offers: every sample's name, and a histogram's _bucket, _sum and _count. */
function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      names.add(name);
      if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    } else if (line !== '' && !line.startsWith('#')) {
      names.add(line.split(/[{ ]/, 1)[0]!);
    }
  }
  return names;
}

const ENABLED = { 'metrics.grafanaDashboard.enabled': 'true' };

describe('the Grafana dashboard of the chart', () => {
  let configMap: ConfigMap;
  let dashboard: Dashboard;
  let server: TestServer;
  let exported: Set<string>;

  beforeAll(async () => {
    configMap = single<ConfigMap>((await renderChart([], ENABLED)).filter((manifest) => manifest.metadata.name.endsWith('-dashboard')), 'ConfigMap');
    dashboard = JSON.parse(configMap.data['podpatterns.json']!) as Dashboard;
    server = await startTestServer();
    exported = exportedNames(await (await fetch(`${server.metricsUrl}/metrics`)).text());
  });

  afterAll(() => server?.stop());

  const queries = () => dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })));

  it('is off by default', async () => {
    const configMaps = ofKind(await renderChart([]), 'ConfigMap');
    expect(configMaps.length).toBeGreaterThan(0);
    for (const manifest of configMaps) expect(manifest.metadata.labels ?? {}, manifest.metadata.name).not.toHaveProperty('grafana_dashboard');
  });

  it('ships the dashboard file as it is in the chart, in a ConfigMap carrying the sidecar label', async () => {
    expect(configMap.metadata.labels?.grafana_dashboard).toBe('1');
    expect(configMap.metadata.namespace).toBe('podpatterns-system');
    expect(JSON.parse(await readFile(join(CHART_DIR, 'dashboards/podpatterns.json'), 'utf8'))).toEqual(dashboard);
    expect(dashboard).toMatchObject({ uid: 'podpatterns', title: 'podpatterns' });
  });

  it('has the panels operators look for', () => {
    expect(dashboard.panels.filter((panel) => panel.type !== 'row').map((panel) => panel.title)).toEqual([
      'Requests',
      'Denied',
      'Admitted unchecked',
      'Certificate expires in',
      'Requests by webhook and verdict',
      'Requests by kind and mode',
      'Denials per rule',
      'Findings per rule',
      'Exemptions per rule',
      'Server latency p50 / p99',
      'Webhook call latency p50 / p99 (API server)',
      'Admitted unchecked by podpatterns',
      'API server failing open on podpatterns',
      'Migrations',
      'Policy and certificate reloads',
    ]);
    const latency = dashboard.panels.find((panel) => panel.title === 'Server latency p50 / p99')!;
    expect(latency.targets!.map((target) => target.expr.slice(0, 25))).toEqual(['histogram_quantile(0.5, s', 'histogram_quantile(0.99, ']);
  });

  it('gives panels unique ids and lays them out without overlap on the 24-column grid', () => {
    const panels = dashboard.panels;
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
    for (const [index, a] of panels.entries()) {
      expect(a.gridPos.x + a.gridPos.w, a.title).toBeLessThanOrEqual(24);
      for (const b of panels.slice(index + 1)) {
        const overlap = a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w && a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h;
        expect(overlap, `${a.title} and ${b.title}`).toBe(false);
      }
    }
  });

  it('queries only metrics a running server exports, and the API server admission metrics', () => {
    const unknown: string[] = [];
    for (const { panel, expr } of queries()) {
      const names = metricNames(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) if (!exported.has(name) && !API_SERVER_METRICS.has(name)) unknown.push(`${panel}: ${name}`);
    }
    expect(unknown).toEqual([]);
  });

  it('reads each of the server’s admission metrics somewhere', () => {
    const read = new Set(queries().flatMap(({ expr }) => metricNames(expr)));
    const admission = [...exported].filter((name) => /^podpatterns_(admission_(requests|failed_open|duration_seconds_bucket)|findings|denials|exemptions|migrations|rule_errors)/.test(name));
    expect(admission.length).toBeGreaterThanOrEqual(8);
    for (const name of admission) if (!name.endsWith('_sum') && !name.endsWith('_count')) expect(read, name).toContain(name);
  });

  it('lets the reader pick the data source and the namespace, and every query follows the namespace', () => {
    expect(dashboard.templating.list.map((variable) => `${variable.name}:${variable.type}`)).toEqual(['datasource:datasource', 'namespace:query']);
    for (const { panel, expr } of queries()) {
      if (metricNames(expr).some((name) => name.startsWith('podpatterns_'))) expect(expr, panel).toContain('namespace=~"$namespace"');
    }
  });

  it('goes where the sidecar looks, with the labels and annotations given', async () => {
    const moved = single<ConfigMap>(
      (
        await renderChart([], {
          ...ENABLED,
          'metrics.grafanaDashboard.namespace': 'monitoring',
          'metrics.grafanaDashboard.annotations.grafana_folder': 'Platform',
          'metrics.grafanaDashboard.labels.grafana_dashboard': 'podpatterns',
        })
      ).filter((manifest) => manifest.metadata.name.endsWith('-dashboard')),
      'ConfigMap',
    );
    expect(moved.metadata).toMatchObject({ namespace: 'monitoring', annotations: { grafana_folder: 'Platform' }, labels: { grafana_dashboard: 'podpatterns' } });
  });
});

describe('metricNames', () => {
  it('finds the selected metrics and ignores functions, labels, groupings and strings', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (webhook, le) (rate(podpatterns_admission_duration_seconds_bucket{namespace=~"a{b}"}[5m])))')).toEqual([
      'podpatterns_admission_duration_seconds_bucket',
    ]);
    expect(metricNames('sum(rate(a_total{x="1"}[1m])) / on (ns) group_left sum(b_total) unless c > 1e3')).toEqual(['a_total', 'b_total', 'c']);
  });
});
