import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { allowedResult, type AdmissionHandler } from '../../src/admission/handler.js';
import { allowed, denied, reviewResponse, withWarnings } from '../../src/admission/response.js';
import { admissionRoutes, serializeReview } from '../../src/server/admission-routes.js';
import { createLogger } from '../../src/server/logger.js';
import { createMetrics } from '../../src/server/metrics.js';
import { ServingState } from '../../src/server/state.js';
import { settings } from '../admission/support.js';
import { admissionReview, LogLines, webPod } from './support.js';

describe('serializeReview', () => {
  const uids = ['705ab4f5-6393-11e8-b7cc-42010a800002', 'a"quote', 'back\\slash', 'line\nbreak', '\u2028\u2029', 'tab\t\u0000', 'ü'];

  it.each(uids)('writes the plain allowance for uid %j exactly as JSON.stringify of the review would', (uid) => {
    for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const) {
      const text = serializeReview(apiVersion, uid, allowed());
      expect(text).toBe(JSON.stringify(reviewResponse(apiVersion, uid, allowed())));
      expect(JSON.parse(text)).toEqual({ apiVersion, kind: 'AdmissionReview', response: { uid, allowed: true } });
    }
  });

  it('writes every other answer in full', () => {
    for (const response of [allowed('fine'), denied('no'), withWarnings(allowed(), 'careful')]) {
      expect(JSON.parse(serializeReview('admission.k8s.io/v1', 'u', response))).toEqual(reviewResponse('admission.k8s.io/v1', 'u', response));
    }
  });
});

describe('admissionRoutes', () => {
  /** The routes on a plain node:http server (TLS is the server's part, tested with it): what each handler shape gets back. */
  async function serve(validate: AdmissionHandler) {
    const lines = new LogLines();
    const routes = admissionRoutes({
      handlers: { validate, mutate: () => allowedResult() },
      settings: (mode) => settings({ mode }),
      metrics: createMetrics(),
      logger: createLogger('info', lines),
      state: new ServingState(),
      bodyLimit: 1024 * 1024,
    });
    const server = createServer((request, response) => {
      if (!routes(request, response)) response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const validateOnce = async () => {
      const answer = await fetch(`http://127.0.0.1:${port}/validate`, { method: 'POST', body: JSON.stringify(admissionReview(webPod(), { uid: 'u-7' })) });
      return { status: answer.status, body: (await answer.json()) as { code?: string; message?: string; response?: { uid: string; allowed: boolean } } };
    };
    return { validateOnce, lines, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  it('answers a handler that answers at once and one that answers with a promise alike', async () => {
    for (const validate of [() => allowedResult(), async () => allowedResult()]) {
      const server = await serve(validate);
      try {
        expect(await server.validateOnce()).toEqual({ status: 200, body: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-7', allowed: true } } });
      } finally {
        await server.close();
      }
    }
  });

  it('admits with the failure named, and keeps serving, whether the handler throws or rejects (fail open)', async () => {
    const failures: AdmissionHandler[] = [
      () => {
        throw new Error('broken at once');
      },
      () => Promise.reject(new Error('broken later')),
    ];
    for (const validate of failures) {
      let calls = 0;
      const server = await serve((request, options) => (++calls === 1 ? validate(request, options) : allowedResult()));
      try {
        const first = await server.validateOnce();
        expect(first.status).toBe(200);
        expect(first.body.response).toMatchObject({ uid: 'u-7', allowed: true, warnings: [expect.stringMatching(/admitted it unchecked: unexpected error: broken (at once|later)$/)] });
        expect((await server.validateOnce()).body.response).toEqual({ uid: 'u-7', allowed: true });
      } finally {
        await server.close();
      }
    }
  });

  it('answers 500 naming the error when an answer cannot be written, and keeps serving', async () => {
    let calls = 0;
    const unwritable = () => ({ ...allowedResult(), response: { allowed: true, auditAnnotations: { size: 1n as unknown as string } } });
    const server = await serve(() => (++calls === 1 ? unwritable() : allowedResult()));
    try {
      const first = await server.validateOnce();
      expect(first.status).toBe(500);
      expect(first.body).toEqual({ code: 'PODPATTERNS_ERR_UNEXPECTED', message: expect.stringContaining('BigInt') });
      expect(server.lines.find((line) => line.msg === 'unexpected error')).toMatchObject({ err: first.body.message, url: '/validate' });
      expect((await server.validateOnce()).body.response).toEqual({ uid: 'u-7', allowed: true });
    } finally {
      await server.close();
    }
  });
});
