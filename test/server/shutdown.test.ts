import { request, type Agent } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { admissionReview, get, keepAliveAgent, post, spawnServe, webPod, type ServeProcess } from './support.js';

/** A request whose body is sent in two halves `pauseMs` apart: it is in flight for that long. */
function slowRequest(server: ServeProcess, agent: Agent, pauseMs: number): Promise<{ status: number; allowed: boolean | undefined }> {
  const body = JSON.stringify(admissionReview(webPod()));
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${server.url}/validate`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, allowed: JSON.parse(Buffer.concat(chunks).toString('utf8')).response?.allowed }));
      },
    );
    outgoing.on('error', reject);
    outgoing.write(body.slice(0, body.length / 2));
    setTimeout(() => outgoing.end(body.slice(body.length / 2)), pauseMs);
  });
}

describe('podpatterns serve on SIGTERM', () => {
  let server: ServeProcess | undefined;

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('drains: not ready at once, answers every in-flight and new request during the delay, then exits 0', async () => {
    server = await spawnServe(['--shutdown-delay', '1500ms']);
    const running = server;
    const agent = keepAliveAgent(running.ca, { maxSockets: 32 });
    // Warm kept-alive connections, as the API server holds them.
    await Promise.all(Array.from({ length: 8 }, () => post(`${running.url}/validate`, JSON.stringify(admissionReview(webPod())), { ca: running.ca, agent })));

    // In flight across the signal: some finish during the delay, some only once the server stops accepting.
    const inFlight = [
      ...Array.from({ length: 6 }, () => slowRequest(running, agent, 500)),
      ...Array.from({ length: 6 }, () => slowRequest(running, agent, 2200)),
    ];
    await sleep(100);
    running.child.kill('SIGTERM');
    await sleep(200);

    const ready = await get(`${running.url}/readyz`, { ca: running.ca });
    expect(ready.status).toBe(503);
    expect(ready.json.reasons).toEqual(['shutting down']);
    const during = await Promise.all(Array.from({ length: 10 }, () => post(`${running.url}/validate`, JSON.stringify(admissionReview(webPod())), { ca: running.ca, agent })));
    expect(during.map((response) => response.status)).toEqual(Array(10).fill(200));

    const answers = await Promise.all(inFlight);
    expect(answers).toEqual(Array(12).fill({ status: 200, allowed: false }));
    agent.destroy();

    const exit = await running.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const messages = running.logs.map((line) => line.msg);
    expect(messages).toContain('shutting down: not ready, still answering until the delay is over');
    expect(messages.at(-1)).toBe('shut down');
  }, 30_000);

  it('skips the rest of the delay on a second signal', async () => {
    server = await spawnServe(['--shutdown-delay', '60s']);
    server.child.kill('SIGTERM');
    await sleep(300);
    server.child.kill('SIGINT');
    const started = Date.now();
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);

  it('exits 2 with a message naming the flag when the configuration is invalid', async () => {
    await expect(spawnServe(['--port', 'https'])).rejects.toThrow(/exited with 2 before serving: podpatterns: --port "https": must be a port number from 0 to 65535/);
  }, 30_000);
});
