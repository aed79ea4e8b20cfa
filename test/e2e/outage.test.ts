import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2eHarness } from './harness.js';
import { refusal, refusalOf } from './support/cluster.js';
import { conflictingContainers, distinctContainers, pod } from './support/manifests.js';
import { waitFor } from './support/network.js';
import type { PodpatternsServer } from './support/podpatterns.js';

const harness = await E2eHarness.start('outage');
const namespace = harness.namespace('outage');
const release = 'podpatterns-e2e-outage';
const values = (failurePolicy: 'Ignore' | 'Fail') => ({
  webhook: { failurePolicy, timeoutSeconds: 2 },
  validation: { mode: 'audit', namespaces: { enforce: [namespace] } },
});
let server: PodpatternsServer;

beforeAll(async () => {
  await harness.createNamespaces(namespace);
  server = await harness.startServer('podpatterns', { values: values('Ignore') });
});

afterAll(() => harness.stop());

/** Creates a pod with a port conflict; resolves with whether the API server stored it. */
async function createConflict(name: string): Promise<boolean> {
  try {
    await harness.clients.core.createNamespacedPod({ namespace, body: pod(name, conflictingContainers()) });
    return true;
  } catch (error) {
    if (refusalOf(error)) return false;
    throw error;
  }
}

describe('the webhook server is unavailable', () => {
  it('admits a pod unchecked under failurePolicy Ignore when the server hangs past timeoutSeconds', async () => {
    await harness.install({ release, port: server.port, values: values('Ignore') });
    await harness.untilEnforced(namespace);
    // Stopped, not gone: the kernel still completes the TCP handshake, nobody answers, the API server times out.
    server.process.signal('SIGSTOP');
    try {
      expect(await createConflict('while-hung')).toBe(true);
    } finally {
      server.process.signal('SIGCONT');
    }
  });

  it('admits a pod unchecked under failurePolicy Ignore when the server process is killed', async () => {
    await harness.install({ release, port: server.port, values: values('Ignore') });
    await server.kill();
    // Until the API server has the Ignore configuration (after the previous test it already has), a create may fail.
    await waitFor('a create admitted', async () => ((await createConflict('while-killed')) ? true : undefined), { timeoutMs: 15_000 });
    const stored = await harness.clients.core.readNamespacedPod({ namespace, name: 'while-killed' });
    expect(stored.spec?.containers.map((container) => container.ports?.[0]?.containerPort)).toEqual([8080, 8080]);
  });

  it('rejects every pod under failurePolicy Fail when the server process is killed, naming the webhook', async () => {
    await server.kill();
    await harness.install({ release, port: server.port, values: values('Fail') });
    let attempt = 0;
    const refused = await waitFor('failurePolicy Fail in effect', async () => {
      const body = pod(`clean-${attempt++}`, distinctContainers());
      const answer = await refusal(harness.clients.core.createNamespacedPod({ namespace, body }));
      return answer.message.includes('failed calling webhook') ? answer : undefined;
    }, { timeoutMs: 15_000 });
    expect(refused.code).toBe(500);
    expect(refused.message).toMatch(/failed calling webhook "enforce\.validate\.podpatterns\.io"/);
    expect(refused.message).toMatch(/connection refused/);
  });
});
