import { load } from 'js-yaml';
import fastJsonPatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { migrationStep } from '../../src/admission/migration-step.js';
import { admissionWebhooks } from '../../src/admission/webhooks.js';
import type { AdmissionResult } from '../../src/admission/handler.js';
import { defaultPolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { restartPolicyOnContainer } from '../../src/rules/restart-policy-on-container.js';
import { webPod } from '../server/support.js';
import { policyOf, requestFor, rulesNamed, settings, versionsOf } from './support.js';

/** The README's restart-policy-on-container example: a Job with `restartPolicy: Always` on its log shipper, an entry of `containers`. */
const alwaysOnContainer = () => load(restartPolicyOnContainer.example.bad) as Record<string, unknown>;
const nativeSidecar = () => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'report' },
  spec: {
    template: {
      spec: {
        restartPolicy: 'Never',
        initContainers: [{ name: 'log-shipper', image: 'fluent/fluent-bit:3.0.7', restartPolicy: 'Always' }],
        containers: [{ name: 'report', image: 'registry.example.com/report:2.3.0' }],
      },
    },
  },
});
const migrateApply = policyOf('migration:\n  mode: apply\n');
const stored = (object: unknown, result: AdmissionResult) => fastJsonPatch.applyPatch(structuredClone(object), [...(result.patch ?? [])]).newDocument as { spec: { template: { spec: Record<string, unknown> } } };

describe('the /validate webhook', () => {
  it('runs every rule it was given that judges the object\'s kind', async () => {
    const ran = new Set<string>();
    const spying = ALL_RULES.map((rule) => ({ ...rule, evaluate: (input: Parameters<typeof rule.evaluate>[0]) => (ran.add(rule.id), rule.evaluate(input)) }));
    await admissionWebhooks({ rules: spying }).validate(requestFor(webPod()), settings());
    const judgingPods = ALL_RULES.filter((rule) => rule.kinds.includes('Pod')).map((rule) => rule.id);
    expect(judgingPods.length).toBeGreaterThan(10);
    expect([...ran].sort()).toEqual(judgingPods.sort());
  });

  it('admits a subresource without evaluating it', async () => {
    const result = await admissionWebhooks({ rules: ALL_RULES }).validate(requestFor(webPod(), { operation: 'UPDATE', subResource: 'status', oldObject: webPod() }), settings());
    expect(result).toMatchObject({ response: { allowed: true }, skipped: 'subresource' });
  });

  it('fails open when the engine itself throws', async () => {
    const unreadable = new Proxy({}, { get: () => { throw new Error('unreadable object'); } });
    const result = await admissionWebhooks({ rules: ALL_RULES }).validate({ ...requestFor(webPod()), object: unreadable }, settings());
    expect(result.response).toMatchObject({ allowed: true, warnings: ['podpatterns could not check this object and admitted it unchecked: evaluation failed: unreadable object'] });
    expect(result.failure).toBe('evaluation failed: unreadable object');
  });
});

describe('the /mutate webhook', () => {
  const webhooks = admissionWebhooks({ rules: ALL_RULES, mutation: migrationStep });

  it('runs only the rules on fields the API server drops before validation', async () => {
    const ran = new Set<string>();
    const spying = ALL_RULES.map((rule) => ({ ...rule, evaluate: (input: Parameters<typeof rule.evaluate>[0]) => (ran.add(rule.id), rule.evaluate(input)) }));
    await admissionWebhooks({ rules: spying, mutation: migrationStep }).mutate(requestFor(webPod()), settings({ policy: defaultPolicy(spying) }));
    expect([...ran].sort()).toEqual(['native-sidecar-unsupported', 'restart-policy-on-container']);
  });

  it('migrates a Job\'s `restartPolicy: Always` container to a native sidecar instead of refusing it, as the MutatingAdmissionPolicy does', async () => {
    const job = alwaysOnContainer();
    const result = await webhooks.mutate(requestFor(job), settings({ policy: migrateApply, versions: versionsOf('1.37') }));
    expect(result.response).toMatchObject({ allowed: true, patchType: 'JSONPatch' });
    expect(result.decision.findings).toEqual([]);
    const spec = stored(job, result).spec.template.spec;
    expect(spec.initContainers).toEqual([{ name: 'log-shipper', image: 'fluent/fluent-bit:3.0.7', restartPolicy: 'Always' }]);
    expect(spec.containers).toEqual([{ name: 'report', image: 'registry.example.com/report:2.3.0' }]);
  });

  it('refuses that Job where nothing migrates it: without a migration step, in the migration\'s dry run, and when the migration throws', async () => {
    const at137 = { versions: versionsOf('1.37') };
    const withoutStep = await admissionWebhooks({ rules: ALL_RULES }).mutate(requestFor(alwaysOnContainer()), settings({ ...at137, policy: migrateApply }));
    const dryRun = await webhooks.mutate(requestFor(alwaysOnContainer()), settings({ ...at137, policy: policyOf('migration:\n  mode: dry-run\n') }));
    const broken = admissionWebhooks({ rules: ALL_RULES, mutation: () => { throw new Error('boom'); } });
    const thrown = await broken.mutate(requestFor(alwaysOnContainer()), settings({ ...at137, policy: migrateApply }));
    for (const result of [withoutStep, dryRun, thrown]) {
      expect(result.response.allowed).toBe(false);
      expect(result.response.status?.message).toMatch(/^restart-policy-on-container: container 'log-shipper' sets `restartPolicy: Always`/);
      expect(result.response.patch).toBeUndefined();
    }
    expect(thrown.failure).toBe('mutation failed: boom');
  });

  it('judges the object as sent in audit mode, where the migration is only recorded', async () => {
    const result = await webhooks.mutate(requestFor(alwaysOnContainer()), settings({ policy: migrateApply, versions: versionsOf('1.37'), mode: 'audit' }));
    expect(result.response.allowed).toBe(true);
    expect(result.response.patch).toBeUndefined();
    expect(result.response.auditAnnotations).toMatchObject({ mutation: expect.stringMatching(/^would apply/), 'restart-policy-on-container': expect.stringContaining('log-shipper') });
  });

  it('denies a native sidecar on 1.28 before the API server silently drops its restartPolicy, and only warns in warn mode', async () => {
    const on128 = { versions: versionsOf('1.28'), policy: migrateApply };
    const result = await webhooks.mutate(requestFor(nativeSidecar()), settings(on128));
    expect(result.response.allowed).toBe(false);
    expect(result.response.status?.message).toMatch(/^native-sidecar-unsupported: /);
    const warned = await webhooks.mutate(requestFor(nativeSidecar()), settings({ ...on128, mode: 'warn' }));
    expect(warned.response).toMatchObject({ allowed: true, warnings: expect.arrayContaining([expect.stringMatching(/^'log-shipper' is a native sidecar: .* \(fix: podpatterns rules native-sidecar-unsupported\)\.$/)]) });
  });

  it('still applies the migration when a rule on dropped fields throws, and says the object went unchecked', async () => {
    const exploding = { ...rulesNamed('restart-policy-on-container')[0]!, evaluate: () => { throw new Error('bang'); } };
    const rules = [exploding, ...rulesNamed('native-sidecar-unsupported')];
    const job = alwaysOnContainer();
    const result = await admissionWebhooks({ rules, mutation: migrationStep }).mutate(requestFor(job), settings({ policy: policyOf('migration:\n  mode: apply\n'), versions: versionsOf('1.37') }));
    expect(result.response).toMatchObject({ allowed: true, patchType: 'JSONPatch' });
    expect(result.failure).toBe('rule restart-policy-on-container failed: bang');
    expect(result.response.warnings).toContainEqual(expect.stringMatching(/^podpatterns could not check this object and admitted it unchecked: rule restart-policy-on-container failed: bang/));
    expect(stored(job, result).spec.template.spec.initContainers).toHaveLength(1);
  });

  it('admits an ordinary pod unchanged', async () => {
    expect((await webhooks.mutate(requestFor(webPod({ clash: false })), settings())).response).toEqual({ allowed: true });
  });
});
