import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2eHarness } from './harness.js';
import { startCreateStream, wrongVerdicts } from './support/create-stream.js';
import { waitFor } from './support/network.js';
import type { PodpatternsServer } from './support/podpatterns.js';
import type { ServiceProxy } from './support/proxy.js';
import { serialOf, servedSerial } from './support/serving-certificate.js';

const harness = await E2eHarness.start('certificate-rotation');
const namespace = harness.namespace('rotation');
const values = {
  webhook: { failurePolicy: 'Fail', timeoutSeconds: 5 },
  validation: { mode: 'audit', namespaces: { enforce: [namespace] } },
};
let server: PodpatternsServer;
let proxy: ServiceProxy;

beforeAll(async () => {
  await harness.createNamespaces(namespace);
  server = await harness.startServer('podpatterns', { values });
  // Only to count the API server's connections: new ones after the switch are handshakes with the new certificate.
  const started = await harness.startProxy();
  proxy = started.proxy;
  proxy.add({ name: server.name, port: server.port });
  await waitFor('podpatterns ready behind the proxy', async () => (proxy.isReady(server.name) ? true : undefined));
  await harness.install({ release: 'podpatterns-e2e-rotation', port: started.port, values });
  await harness.untilEnforced(namespace);
});

afterAll(() => harness.stop());

describe('a serving certificate renewed on disk (cert-manager, or the kubelet updating a Secret volume)', () => {
  it('fails no admission while the files change, and new connections get the new certificate', async () => {
    const stream = startCreateStream(harness.clients.core, namespace, { concurrency: 4, prefix: 'steady' });
    await stream.answered(20);
    const renewed = await harness.ca.issue();
    const connectionsBefore = proxy.connectionsTo(server.name);
    await harness.certificateVolume(server).write(renewed);
    await waitFor('the renewed certificate served', async () => ((await servedSerial(server.port, harness.ca.cert)) === serialOf(renewed.cert) ? true : undefined), { timeoutMs: 10_000 });
    // New connections get the new certificate: over HTTP/2 (a loopback URL) the server asks the API server to
    // reconnect after the change; over HTTP/1.1, more creates at once than it has connections open make it open more.
    const burst = startCreateStream(harness.clients.core, namespace, { concurrency: 24, prefix: 'burst' });
    await burst.answered(96);
    const results = [...(await burst.finish()), ...(await stream.finish(20))];

    expect(wrongVerdicts(results)).toEqual([]);
    expect(proxy.connectionsTo(server.name)).toBeGreaterThan(connectionsBefore);
    expect(await server.metric('podpatterns_certificate_reloads_total{result="success"}')).toBe(1);
    expect(await server.metric('podpatterns_certificate_reloads_total{result="failure"}')).toBe(0);
  });
});
