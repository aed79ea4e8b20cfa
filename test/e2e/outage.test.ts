import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2eHarness } from './harness.js';
import { refusal, refusalOf } from './support/cluster.js';
import { conflictingContainers, distinctContainers, pod } from './support/manifests.js';
import { get, waitFor } from './support/network.js';
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

  // The chart's PrometheusRule alerts on these series; an existing cluster may run several API servers, each
  // counting only the calls it made, so only the suite's own single API server is asked.
  it.skipIf(!harness.cluster.local)('shows both outages in the API server metrics the chart\'s alerts read, under the webhook\'s name', async () => {
    const { server: apiServer, ca, token } = harness.cluster.access!;
    const { body } = await get(`${apiServer}/metrics`, { ca, headers: { authorization: `Bearer ${token}` }, timeoutMs: 10_000 });
    const sample = (name: string, labels: Record<string, string>) =>
      body.split('\n').find((line) => line.startsWith(`${name}{`) && Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`)));
    const webhook = { name: 'enforce.validate.podpatterns.io', type: 'validating' };
    expect(sample('apiserver_admission_webhook_fail_open_count', webhook)).toMatch(/ [1-9]\d*$/);
    expect(sample('apiserver_admission_webhook_rejection_count', { ...webhook, error_type: 'calling_webhook_error' })).toMatch(/ [1-9]\d*$/);
    expect(sample('apiserver_admission_webhook_admission_duration_seconds_bucket', { ...webhook, le: '+Inf' })).toMatch(/ [1-9]\d*$/);
  });
});
