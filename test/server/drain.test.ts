import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admissionReview, keepAliveAgent, post, startTestServer, webPod, type TestServer } from './support.js';

describe('draining after SIGTERM', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ shutdownDelay: '3s' });
  });
  afterAll(() => server?.stop());

  it('keeps connections alive while serving, and asks clients to close them once draining', async () => {
    const agent = keepAliveAgent(server.ca);
    const body = JSON.stringify(admissionReview(webPod()));
    const serving = await post(`${server.url}/validate/enforce`, body, { ca: server.ca, agent });
    expect(serving.status).toBe(200);
    expect(serving.headers.connection).not.toBe('close');

    const closed = server.shutdown();
    const draining = await post(`${server.url}/validate/enforce`, body, { ca: server.ca, agent });
    expect(draining.status).toBe(200);
    expect(draining.json.response.allowed).toBe(false);
    expect(draining.headers.connection).toBe('close');
    agent.destroy();
    await closed;
  });
});
