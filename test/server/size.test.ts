import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SERVER_REQUEST_LIMIT, LARGE_PODS, reviewBody } from '../support/large-pods.js';
import { admissionReview, post, startTestServer, webPod, type TestServer } from './support.js';

/**
 * Size never buys an unchecked admission: every object the API server accepts gets a full verdict from the
 * real server over HTTPS, in enforce mode. (vitest's timeout only keeps a regression from hanging the run.)
 */
describe('objects of any size the API server accepts', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ logLevel: 'info' });
  });

  afterAll(async () => {
    await server.stop();
  });

  it('denies a port-conflict pod padded with 4,097 env entries on /validate/enforce', async () => {
    const pod = webPod();
    pod.spec.containers[0].env = Array.from({ length: 4097 }, (_, index) => ({ name: `V${index}`, value: 'x' }));
    const response = await post(`${server.url}/validate/enforce`, JSON.stringify(admissionReview(pod)), { ca: server.ca });
    expect(response.status).toBe(200);
    expect(response.json.response.allowed).toBe(false);
    expect(response.json.response.status.message).toMatch(/^port-conflict: /);
    expect(response.json.response.auditAnnotations?.['evaluation-error']).toBeUndefined();
  });

  it.each(LARGE_PODS.map(({ name, build }) => ({ name, build })))('gives a full verdict on $name, under the 3 MiB request limit', async ({ build }) => {
    const body = reviewBody(build());
    expect(body.length).toBeLessThanOrEqual(API_SERVER_REQUEST_LIMIT);
    const response = await post(`${server.url}/validate/enforce`, body, { ca: server.ca });
    expect(response.status).toBe(200);
    expect(response.json.response.auditAnnotations?.['evaluation-error']).toBeUndefined();
    expect(response.json.response.allowed).toBe(false);
    expect(response.json.response.status.message).toMatch(/port-conflict: /);
  }, 120_000);
});
