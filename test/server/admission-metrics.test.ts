import { describe, expect, it } from 'vitest';
import { allowedResult, type AdmissionResult } from '../../src/admission/handler.js';
import { denied } from '../../src/admission/response.js';
import type { ExemptedFinding, Finding } from '../../src/engine/types.js';
import { withMetrics } from '../../src/server/admission-metrics.js';
import { BoundedLabel, createMetrics } from '../../src/server/metrics.js';
import { requestFor, settings } from '../admission/support.js';
import { webPod } from './support.js';

const finding: Finding = { rule: 'port-conflict', severity: 'deny', resource: { apiVersion: 'v1', kind: 'Pod', name: 'web' }, path: 'spec', message: 'm', fix: 'f', problem: 'p' };
const exempted: ExemptedFinding = { ...finding, rule: 'unpinned-image', exemption: { source: 'policy', reason: 'r' } };
const denial: AdmissionResult = {
  ...allowedResult(),
  response: denied('port-conflict: m'),
  decision: { allowed: false, denials: [finding], warnings: [], ratcheted: [], findings: [finding] },
  exempted: [exempted],
};

async function counted(result: AdmissionResult, options: Parameters<typeof requestFor>[1] = {}, mode: 'enforce' | 'audit' = 'enforce') {
  const metrics = createMetrics();
  const answered = await withMetrics(() => result, 'validate', metrics)(requestFor(webPod(), options), settings({ mode }));
  expect(answered).toBe(result);
  const text = await metrics.registry.metrics();
  return (series: string) => Number(text.split('\n').find((line) => line.startsWith(`${series} `))?.split(' ')[1] ?? 0);
}

describe('withMetrics', () => {
  it('counts a denial by operation, kind, mode and verdict, with its findings, exemptions and duration', async () => {
    const value = await counted(denial);
    expect(value('podpatterns_admission_requests_total{webhook="validate",operation="CREATE",kind="Pod",mode="enforce",allowed="false"}')).toBe(1);
    expect(value('podpatterns_findings_total{rule="port-conflict",severity="deny"}')).toBe(1);
    expect(value('podpatterns_exemptions_total{rule="unpinned-image",source="policy"}')).toBe(1);
    expect(value('podpatterns_admission_duration_seconds_count{webhook="validate"}')).toBe(1);
    expect(value('podpatterns_admission_dry_run_requests_total{webhook="validate",operation="CREATE",kind="Pod",mode="enforce",allowed="false"}')).toBe(0);
  });

  it('counts a dry run apart, without its findings', async () => {
    const value = await counted(denial, { dryRun: true }, 'audit');
    expect(value('podpatterns_admission_dry_run_requests_total{webhook="validate",operation="CREATE",kind="Pod",mode="audit",allowed="false"}')).toBe(1);
    expect(value('podpatterns_admission_requests_total{webhook="validate",operation="CREATE",kind="Pod",mode="audit",allowed="false"}')).toBe(0);
    expect(value('podpatterns_findings_total{rule="port-conflict",severity="deny"}')).toBe(0);
  });

  it('counts rule errors and fail-open admissions', async () => {
    const value = await counted({ ...allowedResult(), ruleErrors: [{ rule: 'too-many-sidecars', resource: finding.resource, message: 'boom' }], failure: 'rule too-many-sidecars failed: boom' });
    expect(value('podpatterns_rule_errors_total{rule="too-many-sidecars"}')).toBe(1);
    expect(value('podpatterns_admission_failed_open_total{webhook="validate"}')).toBe(1);
  });

  it('labels kinds past the limit as other, so a stray client cannot grow the series forever', async () => {
    const metrics = createMetrics();
    const handler = withMetrics(() => allowedResult(), 'mutate', metrics, new BoundedLabel(1));
    await handler(requestFor(webPod()), settings());
    await handler(requestFor({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }), settings());
    const text = await metrics.registry.metrics();
    expect(text).toContain('podpatterns_admission_requests_total{webhook="mutate",operation="CREATE",kind="Pod",mode="enforce",allowed="true"} 1');
    expect(text).toContain('podpatterns_admission_requests_total{webhook="mutate",operation="CREATE",kind="other",mode="enforce",allowed="true"} 1');
  });
});
