import { describe, expect, it } from 'vitest';
import { rulesHandler } from '../../src/admission/rules-handler.js';
import { defaultPolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { webPod } from '../server/support.js';
import { policyOf, requestFor, rulesNamed, settings } from './support.js';

const portConflict = rulesHandler(rulesNamed('port-conflict'));

describe('the rules handler', () => {
  it('denies a port conflict padded with 4,097 env entries: size never buys an unchecked admission', async () => {
    const pod = webPod();
    pod.spec.containers[0].env = Array.from({ length: 4097 }, (_, index) => ({ name: `V${index}`, value: 'x' }));
    const result = await rulesHandler(ALL_RULES)(requestFor(pod), settings());
    expect(result.failure).toBeUndefined();
    expect(result.response.allowed).toBe(false);
    expect(result.response.status?.message).toMatch(/^port-conflict: /);
  });

  it('denies a port conflict among 200 containers', async () => {
    const result = await rulesHandler(ALL_RULES)(requestFor(webPod({ containers: 200 })), settings());
    expect(result.failure).toBeUndefined();
    expect(result.response.allowed).toBe(false);
  });

  it('runs only the rules it was given', async () => {
    const result = await rulesHandler(rulesNamed('unpinned-image'))(requestFor(webPod()), settings());
    expect(result.response.allowed).toBe(true);
    expect(result.decision.findings).toEqual([]);
  });

  it('warns instead of denying on UPDATE when the old object already had the violation, and denies a new one', async () => {
    const ratcheted = await portConflict(requestFor(webPod({ labels: { team: 'checkout' } }), { operation: 'UPDATE', oldObject: webPod() }), settings());
    expect(ratcheted.response).toMatchObject({ allowed: true, warnings: [expect.stringContaining('(pre-existing; fix: podpatterns rules port-conflict)')] });
    const introduced = await portConflict(requestFor(webPod(), { operation: 'UPDATE', oldObject: webPod({ clash: false }) }), settings());
    expect(introduced.response.allowed).toBe(false);
  });

  it('admits the object when a rule throws, with the other rules\' findings as warnings and the failure annotated', async () => {
    const throwing = { ...rulesNamed('unpinned-image')[0]!, id: 'exploding-rule', evaluate: () => { throw new Error('boom'); } };
    const rules = [...rulesNamed('port-conflict'), throwing];
    const result = await rulesHandler(rules)(requestFor(webPod()), settings({ policy: defaultPolicy(rules) }));
    expect(result.failure).toBe('rule exploding-rule failed: boom');
    expect(result.ruleErrors.map((error) => error.rule)).toEqual(['exploding-rule']);
    expect(result.response.allowed).toBe(true);
    expect(result.response.warnings).toEqual([
      'podpatterns could not check this object and admitted it unchecked: rule exploding-rule failed: boom',
      expect.stringMatching(/\(fix: podpatterns rules port-conflict\)\.$/),
    ]);
    expect(result.response.auditAnnotations).toMatchObject({ 'evaluation-error': 'rule exploding-rule failed: boom', 'port-conflict': expect.any(String) });
  });

  it('keeps a failure out of warnings in audit mode', async () => {
    const throwing = [{ ...rulesNamed('port-conflict')[0]!, evaluate: () => { throw new Error('boom'); } }];
    const result = await rulesHandler(throwing)(requestFor(webPod()), settings({ mode: 'audit' }));
    expect(result.response.warnings).toBeUndefined();
    expect(result.response.auditAnnotations?.['evaluation-error']).toBe('rule port-conflict failed: boom');
  });
});

describe('exemptions at admission', () => {
  const ignored = () => {
    const pod = webPod();
    pod.metadata.annotations = { 'podpatterns.io/ignore': 'port-conflict', 'podpatterns.io/ignore-reason': 'load test rig' };
    return pod;
  };

  it('denies an annotated pod when the policy does not honour annotations, and names no exemption', async () => {
    const result = await portConflict(requestFor(ignored()), settings({ policy: policyOf('exemptions:\n  annotations: false\n') }));
    expect(result.response.allowed).toBe(false);
    expect(result.exempted).toEqual([]);
  });

  it('admits an annotated pod when the policy honours annotations, with a warning and an audit annotation naming rule and reason', async () => {
    const result = await portConflict(requestFor(ignored()), settings());
    expect(result.response.allowed).toBe(true);
    expect(result.exempted.map((finding) => [finding.rule, finding.exemption])).toEqual([['port-conflict', { source: 'annotation', reason: 'load test rig' }]]);
    expect(result.response.warnings).toEqual([expect.stringMatching(/^port-conflict exempted by annotation \(load test rig\): 'metrics-proxy' shares port 8080\/TCP with 'app': one fails to bind$/)]);
    expect(result.response.warnings![0]!.length).toBeLessThanOrEqual(120);
    expect(result.response.auditAnnotations?.['exempted.port-conflict']).toMatch(/^by annotation \(load test rig\): containers 'app'/);
  });

  it('honours annotations only in the namespaces the policy lists, judged by the request namespace', async () => {
    const only = policyOf('exemptions:\n  namespaces: [sandbox]\n');
    expect((await portConflict(requestFor(ignored()), settings({ policy: only }))).response.allowed).toBe(false);
    const inSandbox = requestFor(ignored());
    expect((await portConflict({ ...inSandbox, namespace: 'sandbox' }, settings({ policy: only }))).response.allowed).toBe(true);
  });

  it('applies a central exemption by namespace, kind and name glob, and shows its reason even in warn mode', async () => {
    const central = policyOf('exemptions:\n  annotations: false\n  list:\n    - namespace: default\n      kind: Pod\n      name: "w?b*"\n      rules: [port-conflict]\n      reason: ticket OPS-1234\n');
    const result = await portConflict(requestFor(webPod()), settings({ policy: central }));
    expect(result.response.allowed).toBe(true);
    expect(result.exempted[0]!.exemption).toEqual({ source: 'policy', reason: 'ticket OPS-1234', entry: 'default/Pod/w?b* (policy line 4)' });
    const warned = await portConflict(requestFor(webPod()), settings({ policy: central, mode: 'warn' }));
    expect(warned.response.warnings).toEqual([expect.stringMatching(/^port-conflict exempted by policy \(ticket OPS-1234\)/)]);
    const audited = await portConflict(requestFor(webPod()), settings({ policy: central, mode: 'audit' }));
    expect(audited.response.warnings).toBeUndefined();
    expect(audited.response.auditAnnotations?.['exempted.port-conflict']).toContain('ticket OPS-1234');
    const elsewhere = requestFor(webPod());
    expect((await portConflict({ ...elsewhere, namespace: 'payments' }, settings({ policy: central }))).response.allowed).toBe(false);
  });
});
