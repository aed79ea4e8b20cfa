import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2eHarness } from './harness.js';
import { startCreateStream, wrongVerdicts } from './support/create-stream.js';
import { waitFor } from './support/network.js';
import type { PodpatternsServer } from './support/podpatterns.js';
import type { ServiceProxy } from './support/proxy.js';

const harness = await E2eHarness.start('rolling-restart');
const namespace = harness.namespace('rollout');
const values = {
  webhook: { failurePolicy: 'Fail', timeoutSeconds: 5 },
  validation: { mode: 'audit', namespaces: { enforce: [namespace] } },
};
// Longer than the proxy's readiness period (100 ms), as the chart's default 5 s is longer than a probe period.
const shutdownDelay = '2s';
let replicas: PodpatternsServer[];
let proxy: ServiceProxy;

async function startReplica(name: string): Promise<PodpatternsServer> {
  const replica = await harness.startServer(name, { values, shutdownDelay });
  proxy.add({ name, port: replica.port });
  await waitFor(`${name} ready behind the proxy`, async () => (proxy.isReady(name) ? true : undefined));
  return replica;
}

beforeAll(async () => {
  await harness.createNamespaces(namespace);
  const started = await harness.startProxy();
  proxy = started.proxy;
  replicas = [await startReplica('podpatterns-a'), await startReplica('podpatterns-b')];
  await harness.install({ release: 'podpatterns-e2e-rollout', port: started.port, values });
  await harness.untilEnforced(namespace);
});

afterAll(() => harness.stop());

describe('two replicas behind a Service', () => {
  it('gives every create of a steady stream its verdict while both replicas are replaced one by one', async () => {
    const stream = startCreateStream(harness.clients.core, namespace, { concurrency: 8, prefix: 'steady' });
    await stream.answered(40);
    const drained: { name: string; answeredWhileDraining: number }[] = [];
    for (const old of replicas) {
      // maxSurge 1, maxUnavailable 0: the new pod is ready before the old one is told to stop.
      await startReplica(`${old.name}-next`);
      const before = stream.results.length;
      old.process.signal('SIGTERM');
      expect(await old.process.exited).toEqual({ code: 0, signal: null });
      drained.push({ name: old.name, answeredWhileDraining: stream.results.length - before });
    }
    const results = await stream.finish(40);

    expect(wrongVerdicts(results)).toEqual([]);
    for (const { name, answeredWhileDraining } of drained) {
      expect(answeredWhileDraining, `creates answered while ${name} drained`).toBeGreaterThan(0);
      expect(proxy.connectionsTo(name), `connections to ${name}`).toBeGreaterThan(0);
    }
    // The proxy's URL is a loopback address, so the API server speaks HTTP/2 to it: one connection, which a drain
    // moves to one new replica, not necessarily to each (through a Service it speaks HTTP/1.1 and spreads a pool).
    const toNewReplicas = drained.reduce((sum, { name }) => sum + proxy.connectionsTo(`${name}-next`), 0);
    expect(toNewReplicas, 'connections to the new replicas').toBeGreaterThan(0);
    expect(proxy.stats).toMatchObject({ noReadyBackend: 0, backendRefused: 0 });
  });
});
