import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/server/logger.js';
import { getRoutes, type RouteAnswer } from '../../src/server/routes.js';
import { ServingState } from '../../src/server/state.js';
import { LogLines } from './support.js';

/** The GET routes on a plain node:http server: what each kind of request gets back. */
async function serving(routes: Array<[string, () => RouteAnswer | Promise<RouteAnswer>]>, state = new ServingState()) {
  const lines = new LogLines();
  const server = createServer(getRoutes(new Map(routes), { state, logger: createLogger('info', lines) }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, lines, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('getRoutes', () => {
  it('answers GET as JSON or as the text and content type a route gives, and HEAD with the same headers and no body', async () => {
    const server = await serving([
      ['/livez', () => ({ status: 200, json: { status: 'ok' } })],
      ['/metrics', async () => ({ status: 200, text: 'up 1\n', contentType: 'text/plain; version=0.0.4' })],
    ]);
    try {
      const live = await fetch(`${server.base}/livez?verbose`);
      expect([live.status, live.headers.get('content-type'), await live.json()]).toEqual([200, 'application/json; charset=utf-8', { status: 'ok' }]);
      const metrics = await fetch(`${server.base}/metrics`);
      expect([metrics.headers.get('content-type'), await metrics.text()]).toEqual(['text/plain; version=0.0.4', 'up 1\n']);
      const head = await fetch(`${server.base}/metrics`, { method: 'HEAD' });
      expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([200, '5', '']);
    } finally {
      await server.close();
    }
  });

  it('answers any other method or path with a 404 that names it and lists what is served', async () => {
    const server = await serving([['/livez', () => ({ status: 200, json: { status: 'ok' } })]]);
    try {
      for (const [method, path] of [['POST', '/livez'], ['GET', '/nope'], ['DELETE', '/readyz']]) {
        const answer = await fetch(`${server.base}${path}?x=1`, { method, ...(method === 'POST' && { body: '{}' }) });
        expect(answer.status).toBe(404);
        expect(await answer.json()).toEqual({ code: 'PODPATTERNS_ERR_NOT_FOUND', message: `no route ${method} ${path}: podpatterns serves POST /validate, POST /mutate, GET /livez, GET /readyz and, on the metrics port, GET /metrics` });
      }
    } finally {
      await server.close();
    }
  });

  it('answers a route that fails with a 500 naming the error, logs it, and keeps serving', async () => {
    let calls = 0;
    const server = await serving([
      [
        '/metrics',
        async () => {
          if (++calls === 1) throw new Error('registry broke');
          return { status: 200, text: 'ok', contentType: 'text/plain' };
        },
      ],
    ]);
    try {
      const failed = await fetch(`${server.base}/metrics`);
      expect([failed.status, await failed.json()]).toEqual([500, { code: 'PODPATTERNS_ERR_UNEXPECTED', message: 'registry broke' }]);
      expect(server.lines.find((line) => line.msg === 'unexpected error')).toMatchObject({ err: 'registry broke', url: '/metrics' });
      expect(await (await fetch(`${server.base}/metrics`)).text()).toBe('ok');
    } finally {
      await server.close();
    }
  });

  it('asks an HTTP/1.1 client to close its connection while the server drains', async () => {
    const state = new ServingState();
    const server = await serving([['/livez', () => ({ status: 200, json: { status: 'ok' } })]], state);
    try {
      expect((await fetch(`${server.base}/livez`)).headers.get('connection')).toBe('keep-alive');
      state.draining = true;
      expect((await fetch(`${server.base}/livez`)).headers.get('connection')).toBe('close');
    } finally {
      await server.close();
    }
  });
});
