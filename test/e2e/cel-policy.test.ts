import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2eHarness } from './harness.js';
import { portConflictBinding, portConflictPolicy } from './support/cel-port-conflict.js';
import { refusal } from './support/cluster.js';
import { conflictingContainers, distinctContainers, pod } from './support/manifests.js';
import { waitFor } from './support/network.js';

// The benchmark compares podpatterns with this policy: it must make the same call on the same pods.
const harness = await E2eHarness.start('cel-policy');
const namespace = harness.namespace('cel');
const name = `port-conflict-${harness.cluster.runId}`;

beforeAll(async () => {
  await harness.createNamespaces(namespace);
  await harness.clients.admission.createValidatingAdmissionPolicy({ body: portConflictPolicy(name, harness.cluster.runId) });
  await harness.clients.admission.createValidatingAdmissionPolicyBinding({ body: portConflictBinding(name, harness.cluster.runId, namespace) });
});

afterAll(async () => {
  await harness.clients.admission.deleteValidatingAdmissionPolicyBinding({ name });
  await harness.clients.admission.deleteValidatingAdmissionPolicy({ name });
});

describe('the CEL port-conflict policy of the benchmark', () => {
  it('denies a pod whose two containers both declare 8080/TCP', async () => {
    const refused = await waitFor('the policy in effect', async () => {
      const answer = await refusal(harness.clients.core.createNamespacedPod({ namespace, body: pod('web', conflictingContainers()), dryRun: 'All' }));
      return answer.message.includes('ValidatingAdmissionPolicy') ? answer : undefined;
    });
    expect(refused.code).toBe(403);
    expect(refused.message).toContain('port-conflict: two containers declare the same containerPort and protocol');
  });

  it('admits a pod whose containers declare distinct ports, and the same port under another protocol', async () => {
    const containers = distinctContainers();
    containers[1]!.ports!.push({ containerPort: 8080, protocol: 'UDP' });
    await expect(harness.clients.core.createNamespacedPod({ namespace, body: pod('web-fixed', containers) })).resolves.toMatchObject({ metadata: { name: 'web-fixed' } });
  });
});
