import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2eHarness } from './harness.js';
import { auditEventOfCreate } from './support/audit-log.js';
import { refusal } from './support/cluster.js';
import { jobWithClassicLogShipper } from './support/manifests.js';

const harness = await E2eHarness.start('migration');
const enforce = harness.namespace('migrate');
// The chart value migration.mode=apply, rendered into the policy file the server loads.
const values = {
  webhook: { failurePolicy: 'Fail' },
  validation: { mode: 'audit', namespaces: { enforce: [enforce] } },
  migration: { mode: 'apply' },
};

beforeAll(async () => {
  await harness.createNamespaces(enforce);
  const server = await harness.startServer('podpatterns', { values });
  await harness.install({ release: 'podpatterns-e2e-migration', port: server.port, values });
  await harness.untilEnforced(enforce);
});

afterAll(() => harness.stop());

describe('classic Job sidecars with migration.mode apply', () => {
  it('stores the Job with its tail -F log shipper moved to initContainers with restartPolicy Always', async () => {
    const created = await harness.clients.batch.createNamespacedJobWithHttpInfo({ namespace: enforce, body: jobWithClassicLogShipper('logs') });
    expect(created.httpStatusCode).toBe(201);

    const stored = await harness.clients.batch.readNamespacedJob({ namespace: enforce, name: 'logs' });
    const spec = stored.spec!.template.spec!;
    expect(spec.containers.map((container) => container.name)).toEqual(['myjob']);
    expect(spec.initContainers).toEqual([
      expect.objectContaining({ name: 'logshipper', restartPolicy: 'Always', command: ['sh', '-c', 'tail -F /opt/logs.txt'], volumeMounts: [expect.objectContaining({ name: 'data', mountPath: '/opt' })] }),
    ]);
    expect(stored.spec!.template.metadata?.annotations?.['podpatterns.io/migrated-sidecars']).toBe('logshipper');
    if (harness.cluster.auditLog !== undefined) {
      const event = await auditEventOfCreate(harness.cluster.auditLog, { resource: 'jobs', namespace: enforce, name: 'logs' });
      expect(event.annotations?.['mutate.podpatterns.io/migrated-sidecars']).toBe('logshipper');
    }
  });

  it('answers a server-side dry run with the migrated Job and stores nothing', async () => {
    const answered = await harness.clients.batch.createNamespacedJob({ namespace: enforce, body: jobWithClassicLogShipper('dry'), dryRun: 'All' });
    expect(answered.spec!.template.spec!.initContainers).toEqual([expect.objectContaining({ name: 'logshipper', restartPolicy: 'Always' })]);
    expect(answered.spec!.template.spec!.containers.map((container) => container.name)).toEqual(['myjob']);
    await expect(refusal(harness.clients.batch.readNamespacedJob({ namespace: enforce, name: 'dry' }))).resolves.toMatchObject({ code: 404 });
  });
});
