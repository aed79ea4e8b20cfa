/**
 * The chart's engines on the real API server: the admission policies `helm template` renders for
 * validation.engine=cel and hybrid and for migration.engine=cel, created as they are (names suffixed with the run
 * id and bindings narrowed to the run's namespaces), and for hybrid a `podpatterns serve` with the flags and the
 * policy file the chart gives its Deployment, behind the chart's webhook configurations.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationPolicyObject } from '../../src/cel/migration-policy.js';
import { evaluate } from '../../src/engine/engine.js';
import type { KubeObject } from '../../src/model/kube.js';
import { parseVersion } from '../../src/model/version.js';
import { defaultPolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import type { KubeManifest } from '../support/helm.js';
import { E2eHarness } from './harness.js';
import { createPolicies, deletePolicies, scopedPolicies } from './support/admission-policies.js';
import { auditEventOfCreate } from './support/audit-log.js';
import { expectedText } from './support/cel-differential.js';
import { conflictingContainers, distinctContainers, pod } from './support/manifests.js';
import { waitFor } from './support/network.js';
import type { PodpatternsServer } from './support/podpatterns.js';
import { RawApi, type RawAnswer } from './support/raw-api.js';
import { renderRelease } from './support/webhooks.js';

const harness = await E2eHarness.start('chart-engines');
const { runId } = harness.cluster;
const ns = {
  celEnforce: harness.namespace('cel-enforce'),
  celWarn: harness.namespace('cel-warn'),
  celAudit: harness.namespace('cel-audit'),
  hybridEnforce: harness.namespace('hybrid-enforce'),
  hybridWarn: harness.namespace('hybrid-warn'),
  migrate: harness.namespace('cel-migrate'),
};
const raw = new RawApi(harness.clients.config);
const installed: MigrationPolicyObject[] = [];
const POLICY_KINDS = ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding'];

const CEL_VALUES = { validation: { engine: 'cel', mode: 'audit', namespaces: { enforce: [ns.celEnforce], warn: [ns.celWarn] } }, migration: { engine: 'cel', mode: 'apply' } };
const HYBRID_VALUES = {
  validation: { engine: 'hybrid', mode: 'audit', namespaces: { enforce: [ns.hybridEnforce], warn: [ns.hybridWarn] } },
  // The cel release's namespaces are the policies' alone: the hybrid webhooks and policies leave them out.
  webhook: { failurePolicy: 'Fail', excludeNamespaces: [ns.celEnforce, ns.celWarn, ns.celAudit, ns.migrate] },
};
let hybridServer: PodpatternsServer;

/** The release's admission policies, scoped to the run, created; and the Deployment's server flags. */
async function installRelease(release: string, values: Record<string, unknown>, namespaces: string[]): Promise<{ objects: KubeManifest[]; serverArgs: string[] }> {
  const manifests = await renderRelease(harness.cluster, harness.directory, release, values);
  const objects = manifests.filter((manifest) => POLICY_KINDS.includes(manifest.kind));
  const scoped = scopedPolicies(objects as unknown as MigrationPolicyObject[], { suffix: `-${runId}`, namespaces, runId });
  await createPolicies(harness.clients, scoped);
  installed.push(...scoped);
  const deployment = manifests.find((manifest) => manifest.kind === 'Deployment') as (KubeManifest & { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } }) | undefined;
  return { objects, serverArgs: deployment?.spec.template.spec.containers[0]!.args ?? [] };
}

function neverExitingInit(): V1Container {
  return { name: 'wait-forever', image: 'registry.example.com/tools:1.0.0', command: ['sh', '-c', 'sleep infinity'] };
}

function withInit(object: V1Pod, init: V1Container): V1Pod {
  return { ...object, spec: { ...object.spec!, initContainers: [init] } };
}

/** `<rule>: <message> Fix: <fix>` for the engine's findings of `rule` on the object: what the policy's denial must say. */
function engineText(rule: string, object: V1Pod): string {
  const version = parseVersion(harness.cluster.kubernetesVersion)!;
  const { findings } = evaluate(object as KubeObject, { kubernetesVersion: version, minKubeletVersion: version, operation: 'CREATE' }, defaultPolicy(ALL_RULES), ALL_RULES);
  return expectedText(rule, findings.filter((finding) => finding.rule === rule));
}

const message = (answer: RawAnswer) => String((answer.body as { message?: string }).message ?? '');

/** Policies are loaded through informers: waits until a port conflict gets `check`'s verdict in `namespace`. */
async function untilInForce(namespace: string, check: (answer: RawAnswer) => boolean): Promise<void> {
  let attempt = 0;
  await waitFor(`the chart's policies in force in ${namespace}`, async () => {
    const answer = await raw.create(namespace, pod(`probe-${++attempt}`, conflictingContainers()), { dryRun: true });
    return check(answer) ? true : undefined;
  }, { timeoutMs: 30_000, intervalMs: 300 });
}

beforeAll(async () => {
  await harness.createNamespaces(...Object.values(ns));
  await installRelease('cel', CEL_VALUES, [ns.celEnforce, ns.celWarn, ns.celAudit, ns.migrate]);
  const hybrid = await installRelease('hybrid', HYBRID_VALUES, [ns.hybridEnforce, ns.hybridWarn]);
  const skip = hybrid.serverArgs.filter((arg) => arg.startsWith('--skip-rules='));
  expect(skip).toHaveLength(1);
  hybridServer = await harness.startServer('hybrid', { values: HYBRID_VALUES, args: skip });
  await harness.install({ release: 'hybrid', port: hybridServer.port, values: HYBRID_VALUES });
  await untilInForce(ns.celEnforce, (answer) => answer.status === 403);
  await untilInForce(ns.celWarn, (answer) => answer.warnings.some((warning) => warning.includes('port-conflict: ')));
  await untilInForce(ns.hybridEnforce, (answer) => message(answer).includes('ValidatingAdmissionPolicy'));
}, 180_000);

afterAll(async () => {
  await harness.stop();
  await deletePolicies(harness.clients, installed);
});

describe('validation.engine=cel: the chart\'s policies alone', () => {
  it('denies a port conflict in an enforce namespace with the engine\'s message and fix', async () => {
    const object = pod('web', conflictingContainers());
    const answer = await raw.create(ns.celEnforce, object, { dryRun: true });
    expect(answer.status).toBe(403);
    expect(message(answer)).toContain(`ValidatingAdmissionPolicy 'cel-podpatterns-port-conflict-deny-${runId}' with binding 'cel-podpatterns-port-conflict-deny-enforce-${runId}' denied request: `);
    expect(message(answer)).toContain(engineText('port-conflict', object));
  });

  it('warns in a warn namespace with the same text, and admits', async () => {
    const object = pod('web', conflictingContainers());
    const answer = await raw.create(ns.celWarn, object, { dryRun: true });
    expect(answer.status).toBe(201);
    const warnings = answer.warnings.filter((warning) => warning.includes('port-conflict'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toBe(`Validation failed for ValidatingAdmissionPolicy 'cel-podpatterns-port-conflict-${runId}' with binding 'cel-podpatterns-port-conflict-warn-${runId}': ${engineText('port-conflict', object)}`);
  });

  it.skipIf(!harness.cluster.auditLog)('only records in a namespace of the default mode (audit): the API server audit log has the finding', async () => {
    const answer = await raw.create(ns.celAudit, pod('web-audited', conflictingContainers()));
    expect(answer.status).toBe(201);
    // Only the API server's own note on the duplicate port: the policy records, it does not warn.
    expect(answer.warnings.filter((warning) => warning.includes('port-conflict'))).toEqual([]);
    const event = await auditEventOfCreate(harness.cluster.auditLog!, { resource: 'pods', namespace: ns.celAudit, name: 'web-audited' });
    const failures = JSON.parse(event.annotations?.['validation.policy.admission.k8s.io/validation_failure'] ?? '[]') as Array<{ policy: string; validationActions: string[] }>;
    expect(failures).toContainEqual(expect.objectContaining({ policy: `cel-podpatterns-port-conflict-${runId}`, validationActions: ['Audit'] }));
  });

  it('leaves the webhook-only rules unchecked: no webhook is there to check them', async () => {
    const answer = await raw.create(ns.celEnforce, withInit(pod('waits', distinctContainers()), neverExitingInit()), { dryRun: true });
    expect(answer.status).toBe(201);
    expect(answer.warnings.join('\n')).not.toContain('init-container-never-exits');
  });
});

describe('validation.engine=hybrid: the policies, and the webhook for the rest', () => {
  it('denies a port conflict once, from the policy: the webhook, told to skip the rule, never reports it', async () => {
    const object = pod('web', conflictingContainers());
    const answer = await raw.create(ns.hybridEnforce, object, { dryRun: true });
    expect(answer.status).toBe(403);
    expect(message(answer)).toContain(`ValidatingAdmissionPolicy 'hybrid-podpatterns-port-conflict-deny-${runId}'`);
    expect(message(answer).split('port-conflict: ')).toHaveLength(2);
    expect(message(answer)).toContain(engineText('port-conflict', object));
  });

  it('still denies a webhook-only finding, through the webhook', async () => {
    const answer = await raw.create(ns.hybridEnforce, withInit(pod('waits', distinctContainers()), neverExitingInit()), { dryRun: true });
    expect(answer.status).toBe(403);
    expect(message(answer)).toContain('admission webhook "enforce.validate.podpatterns.io" denied the request: init-container-never-exits: ');
  });

  it('warns about each finding once in a warn namespace: the port conflict from the policy, the rest from the webhook', async () => {
    const object = withInit(pod('both', conflictingContainers()), neverExitingInit());
    const findingsBefore = await hybridServer.metric('podpatterns_findings_total{rule="init-container-never-exits",severity="deny"}');
    const answer = await raw.create(ns.hybridWarn, object);
    expect(answer.status).toBe(201);
    const aboutPorts = answer.warnings.filter((warning) => warning.includes('port-conflict'));
    expect(aboutPorts).toHaveLength(1);
    expect(aboutPorts[0]).toContain(`ValidatingAdmissionPolicy 'hybrid-podpatterns-port-conflict-${runId}'`);
    expect(aboutPorts[0]).toContain(engineText('port-conflict', object));
    expect(answer.warnings.filter((warning) => warning.includes('init-container-never-exits'))).toHaveLength(1);
    // The webhook counted its own finding and none of the rule the policies cover.
    expect(await hybridServer.metric('podpatterns_findings_total{rule="init-container-never-exits",severity="deny"}')).toBe(findingsBefore + 1);
    expect(await hybridServer.metric('podpatterns_findings_total{rule="port-conflict",severity="deny"}')).toBe(0);
  });
});

describe('migration.engine=cel: the chart\'s MutatingAdmissionPolicy', () => {
  it('moves a Job\'s classic log shipper to a native sidecar, with no mutating webhook', async () => {
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'export' },
      spec: {
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [
              { name: 'export', image: 'registry.example.com/export:1.8.0', command: ['/export'] },
              { name: 'log-shipper', image: 'fluent/fluent-bit:3.0.7' },
            ],
          },
        },
      },
    };
    const stored = await waitFor('the migration policy in force', async () => {
      const answer = await raw.create(ns.migrate, { ...job, metadata: { name: `export-${Date.now()}` } } as KubeObject, { dryRun: true });
      expect(answer.status).toBe(201);
      const spec = (answer.body as { spec: { template: { metadata?: { annotations?: Record<string, string> }; spec: { initContainers?: Array<{ name: string; restartPolicy?: string }>; containers: Array<{ name: string }> } } } }).spec.template;
      return spec.spec.initContainers ? spec : undefined;
    }, { timeoutMs: 30_000, intervalMs: 300 });
    expect(stored.spec.initContainers).toEqual([expect.objectContaining({ name: 'log-shipper', restartPolicy: 'Always' })]);
    expect(stored.spec.containers.map((container) => container.name)).toEqual(['export']);
    expect(stored.metadata?.annotations?.['podpatterns.io/migrated-sidecars']).toBe('log-shipper');
  });
});
