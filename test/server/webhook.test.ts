import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rule } from '../../src/engine/types.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { admissionReview, get, post, startTestServer, webPod, writePolicy, type TestServer } from './support.js';

describe('podpatterns serve over HTTPS', () => {
  let server: TestServer;
  let warnServer: TestServer;

  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'podpatterns-policy-'));
    // Only port-conflict, so findings from other rules do not blur what each test looks at.
    server = await startTestServer({ policy: await writePolicy(directory, { 'port-conflict': true }) });
    warnServer = await startTestServer({ policy: await writePolicy(directory, { 'port-conflict': 'warn' }) });
  });

  afterAll(async () => {
    await Promise.all([server?.stop(), warnServer?.stop()]);
    await rm(directory, { recursive: true, force: true });
  });

  const validate = (target: TestServer, body: unknown, query = '') =>
    post(`${target.url}/validate${query}`, JSON.stringify(body), { ca: target.ca });

  it('allows a pod without findings and echoes the uid and apiVersion', async () => {
    const review = admissionReview(webPod({ clash: false }), { uid: 'c1a0f7e2-0000-4000-8000-000000000001' });
    const response = await validate(server, review);
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'c1a0f7e2-0000-4000-8000-000000000001', allowed: true },
    });
  });

  it('denies a pod whose containers bind the same port, with the fix, and records it under the bare rule id', async () => {
    const response = await validate(server, admissionReview(webPod()));
    const { response: answer } = response.json;
    expect(answer.allowed).toBe(false);
    expect(answer.status.code).toBe(403);
    expect(answer.status.message).toMatch(/^port-conflict: containers 'app' and 'metrics-proxy' both declare port 8080\/TCP/);
    expect(answer.status.message).toContain("Fix: Move 'metrics-proxy' to another port");
    expect(answer.auditAnnotations).toEqual({ 'port-conflict': expect.stringContaining('8080/TCP') });
    expect(answer.patch).toBeUndefined();
  });

  it('answers a v1beta1 review in v1beta1', async () => {
    const response = await validate(server, admissionReview(webPod(), { apiVersion: 'admission.k8s.io/v1beta1' }));
    expect(response.json.apiVersion).toBe('admission.k8s.io/v1beta1');
    expect(response.json.response.allowed).toBe(false);
  });

  it('shows a warn-severity finding as a warning of at most 120 characters and allows', async () => {
    const { response } = (await validate(warnServer, admissionReview(webPod()))).json;
    expect(response.allowed).toBe(true);
    expect(response.warnings).toHaveLength(1);
    expect(response.warnings[0]).toBe("'metrics-proxy' shares port 8080/TCP with 'app': one fails to bind (fix: podpatterns rules port-conflict).");
    expect([...response.warnings[0]].length).toBeLessThanOrEqual(120);
    expect(response.auditAnnotations['port-conflict']).toContain('8080/TCP');
  });

  it('turns denials into warnings with ?mode=warn', async () => {
    const { response } = (await validate(server, admissionReview(webPod()), '?mode=warn')).json;
    expect(response.allowed).toBe(true);
    expect(response.status).toBeUndefined();
    expect(response.warnings).toEqual([expect.stringMatching(/\(fix: podpatterns rules port-conflict\)\.$/)]);
  });

  it('allows silently with ?mode=audit and keeps the findings in audit annotations and logs', async () => {
    const review = admissionReview(webPod());
    const { response } = (await validate(server, review, '?mode=audit')).json;
    expect(response).toEqual({ uid: review.request.uid, allowed: true, auditAnnotations: { 'port-conflict': expect.stringContaining('8080/TCP') } });
    const line = server.logs.find((entry) => entry.uid === review.request.uid);
    expect(line).toMatchObject({ level: 'info', mode: 'audit', allowed: true, wouldDeny: ['port-conflict'], kind: 'Pod', namespace: 'default', name: 'web' });
  });

  it('takes the mode from the path, as the chart registers it, ignoring the API server\'s ?timeout=', async () => {
    const warn = (await validate(server, admissionReview(webPod()), '/warn?timeout=5s')).json.response;
    expect(warn.allowed).toBe(true);
    expect(warn.warnings).toEqual([expect.stringMatching(/\(fix: podpatterns rules port-conflict\)\.$/)]);
    const audit = (await validate(server, admissionReview(webPod()), '/audit')).json.response;
    expect(audit.allowed).toBe(true);
    expect(audit.warnings).toBeUndefined();
    const enforce = (await validate(server, admissionReview(webPod()), '/enforce?timeout=10s')).json.response;
    expect(enforce.allowed).toBe(false);
    const unknown = await validate(server, admissionReview(webPod()), '/strict');
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toContain('unknown mode "strict"');
  });

  it('rejects an unknown mode with a 400 that names it', async () => {
    const response = await validate(server, admissionReview(webPod()), '?mode=strict');
    expect(response.status).toBe(400);
    expect(response.json.message).toContain('unknown mode "strict"');
  });

  it('warns instead of denying on UPDATE when the old object already had the violation', async () => {
    const before = webPod();
    const after = webPod({ labels: { team: 'checkout' } });
    const { response } = (await validate(server, admissionReview(after, { operation: 'UPDATE', oldObject: before }))).json;
    expect(response.allowed).toBe(true);
    expect(response.warnings).toEqual(["'metrics-proxy' shares port 8080/TCP with 'app': one fails to bind (pre-existing; fix: podpatterns rules port-conflict)."]);
  });

  it('denies an UPDATE that introduces a new violation', async () => {
    const { response } = (await validate(server, admissionReview(webPod(), { operation: 'UPDATE', oldObject: webPod({ clash: false }) }))).json;
    expect(response.allowed).toBe(false);
  });

  it('answers a dry run like a real request without counting it as an admission', async () => {
    const metricsBefore = await metricsText(server);
    const { response } = (await validate(server, admissionReview(webPod(), { dryRun: true }))).json;
    expect(response.allowed).toBe(false);
    const metricsAfter = await metricsText(server);
    expect(counter(metricsAfter, 'podpatterns_findings_total{rule="port-conflict",severity="deny"}')).toBe(
      counter(metricsBefore, 'podpatterns_findings_total{rule="port-conflict",severity="deny"}'),
    );
    const dryRuns = 'podpatterns_admission_dry_run_requests_total{webhook="validate",operation="CREATE",kind="Pod",mode="enforce",allowed="false"}';
    expect(counter(metricsAfter, dryRuns)).toBe(counter(metricsBefore, dryRuns) + 1);
  });

  it('counts real admissions by operation, kind, mode and verdict', async () => {
    const labels = 'podpatterns_admission_requests_total{webhook="validate",operation="CREATE",kind="Pod",mode="enforce",allowed="false"}';
    const before = counter(await metricsText(server), labels);
    await validate(server, admissionReview(webPod()));
    const text = await metricsText(server);
    expect(counter(text, labels)).toBe(before + 1);
    for (const name of [
      'podpatterns_admission_duration_seconds_bucket',
      'podpatterns_findings_total',
      'podpatterns_certificate_expiry_timestamp_seconds',
      'process_resident_memory_bytes',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('counts denials by the rule that caused them, and not the objects it only warned about', async () => {
    const denials = 'podpatterns_denials_total{rule="port-conflict"}';
    const [before, warnedBefore] = [counter(await metricsText(server), denials), counter(await metricsText(warnServer), denials)];
    await validate(server, admissionReview(webPod()));
    await validate(server, admissionReview(webPod({ clash: false })));
    await validate(warnServer, admissionReview(webPod()));
    expect(counter(await metricsText(server), denials)).toBe(before + 1);
    expect(counter(await metricsText(warnServer), denials)).toBe(warnedBefore);
  });

  it('does not evaluate subresources or deletions', async () => {
    const status = (await validate(server, admissionReview(webPod(), { operation: 'UPDATE', subResource: 'status', oldObject: webPod() }))).json;
    expect(status.response).toEqual({ uid: expect.any(String), allowed: true });
    const deletion = await validate(server, admissionReview(null, { operation: 'DELETE', oldObject: webPod() }));
    expect(deletion.json.response.allowed).toBe(true);
  });

  it('reports live and ready', async () => {
    expect((await get(`${server.url}/livez`, { ca: server.ca })).status).toBe(200);
    expect((await get(`${server.url}/readyz`, { ca: server.ca })).json).toEqual({ status: 'ready' });
    expect((await fetch(`${server.metricsUrl}/readyz`)).status).toBe(200);
  });
});

describe('podpatterns serve /mutate', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ kubernetesVersion: '1.28', minKubeletVersion: '1.28' });
  });
  afterAll(() => server?.stop());

  const nativeSidecar = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'report', namespace: 'default' },
    spec: {
      template: {
        spec: {
          restartPolicy: 'Never',
          initContainers: [{ name: 'log-shipper', image: 'fluent/fluent-bit:3.0.7', restartPolicy: 'Always' }],
          containers: [{ name: 'report', image: 'registry.example.com/report:2.3.0' }],
        },
      },
    },
  };

  it('allows an ordinary pod unchanged', async () => {
    const review = admissionReview(webPod({ clash: false }));
    const { response } = (await post(`${server.url}/mutate`, JSON.stringify(review), { ca: server.ca })).json;
    expect(response).toEqual({ uid: review.request.uid, allowed: true });
  });

  it('denies a native sidecar on 1.28, whose restartPolicy the API server drops before validation', async () => {
    const { response } = (await post(`${server.url}/mutate`, JSON.stringify(admissionReview(nativeSidecar)), { ca: server.ca })).json;
    expect(response.allowed).toBe(false);
    expect(response.status.message).toMatch(/^native-sidecar-unsupported: /);
    expect(response.patch).toBeUndefined();
    expect(response.patchType).toBeUndefined();
  });

  it('only warns about it with ?mode=warn', async () => {
    const { response } = (await post(`${server.url}/mutate?mode=warn`, JSON.stringify(admissionReview(nativeSidecar)), { ca: server.ca })).json;
    expect(response).toMatchObject({ allowed: true, warnings: [expect.stringMatching(/\(fix: podpatterns rules native-sidecar-unsupported\)\.$/)] });
  });
});

describe('podpatterns serve when a rule fails', () => {
  const exploding: Rule = { ...ALL_RULES[0]!, id: 'exploding-rule', evaluate: () => { throw new Error('cannot read properties of undefined'); } };
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({}, { rules: [ALL_RULES.find((rule) => rule.id === 'port-conflict')!, exploding] });
  });
  afterAll(() => server?.stop());

  it('admits the object with a warning, logs the uid and counts the error (fail open per request)', async () => {
    const review = admissionReview(webPod());
    const { response } = (await post(`${server.url}/validate`, JSON.stringify(review), { ca: server.ca })).json;
    expect(response.allowed).toBe(true);
    expect(response.warnings[0]).toMatch(/^podpatterns could not check this object and admitted it unchecked: rule exploding-rule failed/);
    expect(response.warnings).toContainEqual(expect.stringMatching(/\(fix: podpatterns rules port-conflict\)\.$/));
    expect(response.auditAnnotations['evaluation-error']).toContain('cannot read properties of undefined');
    expect(server.logs.find((line) => line.uid === review.request.uid)).toMatchObject({ level: 'error', err: expect.stringContaining('exploding-rule') });
    expect(counter(await metricsText(server), 'podpatterns_rule_errors_total{rule="exploding-rule"}')).toBe(1);
  });

  it('still answers the next request normally', async () => {
    const { response } = (await post(`${server.url}/validate`, JSON.stringify(admissionReview({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } })), { ca: server.ca })).json;
    expect(response.allowed).toBe(true);
  });
});

describe('podpatterns serve while draining', () => {
  it('stops reporting ready but keeps answering admissions until the delay is over', async () => {
    const server = await startTestServer({ shutdownDelay: '1500ms' });
    try {
      const closing = server.shutdown();
      const ready = await get(`${server.url}/readyz`, { ca: server.ca });
      expect(ready.status).toBe(503);
      expect(ready.json.reasons).toContain('shutting down');
      const answer = await post(`${server.url}/validate`, JSON.stringify(admissionReview(webPod({ clash: false }))), { ca: server.ca });
      expect(answer.json.response.allowed).toBe(true);
      await closing;
      await expect(get(`${server.url}/livez`, { ca: server.ca, agent: new Agent({ keepAlive: false }) })).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await server.stop();
    }
  });
});

async function metricsText(server: TestServer): Promise<string> {
  return (await fetch(`${server.metricsUrl}/metrics`)).text();
}

function counter(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}
