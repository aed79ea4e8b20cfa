import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admissionReview, get, post, startTestServer, webPod, type HttpsResponse, type TestServer } from './support.js';

describe('podpatterns serve on bad input', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  const send = (body: string | Buffer, headers?: Record<string, string>) => post(`${server.url}/validate`, body, { ca: server.ca, ...(headers && { headers }) });
  const valid = () => admissionReview(webPod({ clash: false }));

  const cases: Array<[string, () => string, RegExp]> = [
    ['a body that is not JSON', () => 'apiVersion: admission.k8s.io/v1', /the body is not valid JSON/],
    ['a truncated body', () => JSON.stringify(valid()).slice(0, 150), /the body is not valid JSON/],
    ['an empty body', () => '', /the body must be a JSON object \(an AdmissionReview\), not missing/],
    ['a JSON array', () => '[{"kind":"AdmissionReview"}]', /the body must be a JSON object \(an AdmissionReview\), not an array/],
    ['a JSON string', () => '"AdmissionReview"', /not string "AdmissionReview"/],
    ['a review without request', () => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), /request is missing/],
    ['a request without uid', () => JSON.stringify({ ...valid(), request: { ...valid().request, uid: undefined } }), /request\.uid must be a non-empty string/],
    ['a uid that is a number', () => JSON.stringify({ ...valid(), request: { ...valid().request, uid: 42 } }), /request\.uid must be a non-empty string.*not number 42/],
    ['a wrong apiVersion', () => JSON.stringify({ ...valid(), apiVersion: 'admission.k8s.io/v2' }), /apiVersion must be admission\.k8s\.io\/v1 or admission\.k8s\.io\/v1beta1, not string "admission\.k8s\.io\/v2"/],
    ['a wrong kind', () => JSON.stringify({ ...valid(), kind: 'TokenReview' }), /kind must be AdmissionReview, not string "TokenReview"/],
    ['an unknown operation', () => JSON.stringify({ ...valid(), request: { ...valid().request, operation: 'PATCH' } }), /request\.operation must be one of CREATE, UPDATE, DELETE, CONNECT, not string "PATCH"/],
    ['an object that is a string', () => JSON.stringify({ ...valid(), request: { ...valid().request, object: 'Pod' } }), /request\.object must be a Kubernetes object, not string "Pod"/],
    ['a dryRun that is a string', () => JSON.stringify({ ...valid(), request: { ...valid().request, dryRun: 'true' } }), /request\.dryRun must be true or false/],
  ];

  it.each(cases)('answers %s with a 400 that names the problem', async (_name, body, message) => {
    const response = await send(body());
    expect(response.status).toBe(400);
    expect(response.json.code).toBe('PODPATTERNS_ERR_REVIEW_INVALID');
    expect(response.json.message).toMatch(message);
  });

  it('names the uid in a 400 once the uid is known', async () => {
    const review = { ...valid(), apiVersion: 'v1' };
    const response = await send(JSON.stringify(review));
    expect(response.status).toBe(400);
    expect(response.json.uid).toBe(review.request.uid);
    expect(response.json.message).toContain(`AdmissionReview uid "${review.request.uid}"`);
  });

  it('parses the body as JSON whatever the content type says', async () => {
    for (const type of ['text/plain', 'application/octet-stream', 'application/json; charset=utf-8', 'multipart/form-data; boundary=x', 'nonsense']) {
      const response = await send(JSON.stringify(valid()), { 'content-type': type });
      expect(response.status, type).toBe(200);
      expect(response.json.response.allowed, type).toBe(true);
    }
  });

  it('parses a body sent without any content type', async () => {
    const response = await rawPost(server, JSON.stringify(valid()), {});
    expect(response.status).toBe(200);
    expect(response.json.response.allowed).toBe(true);
  });

  it('answers a body over 10 MiB with a 413, with or without a content length', async () => {
    const big = JSON.stringify({ ...valid(), padding: 'x'.repeat(10 * 1024 * 1024) });
    const declared = await send(big);
    expect(declared.status).toBe(413);
    expect(declared.json.message).toBe('the body is larger than 10 MiB');
    const chunked = await rawPost(server, big, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    expect(chunked.status).toBe(413);
  });

  it('answers binary garbage and invalid UTF-8 with a 400', async () => {
    const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1]);
    expect((await send(garbage)).status).toBe(400);
  });

  it('answers deeply nested JSON without crashing', async () => {
    const depth = 50_000;
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const review = JSON.stringify(valid()).replace('"spec":{', `"deep":${nested},"spec":{`);
    const response = await send(review);
    expect(response.status).toBe(200);
    const deepSpec = `{"containers":[{"name":"app","command":${nested}}],"volumes":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    const deepReview = JSON.stringify(valid()).replace(/"spec":\{"containers":.*?\}\]\}/, `"spec":${deepSpec}`);
    expect(deepReview).toContain('"volumes":{"a":{"a":');
    const inObject = await send(deepReview);
    expect(inObject.status).toBe(200);
    expect(inObject.json.response.allowed).toBe(true);
  });

  it('answers a route it does not serve with a 404 that lists the routes it does', async () => {
    const response = await get(`${server.url}/validate`, { ca: server.ca });
    expect(response.status).toBe(404);
    expect(response.json.message).toContain('POST /validate');
  });

  it('is still live and answering after all of that', async () => {
    expect((await get(`${server.url}/livez`, { ca: server.ca })).status).toBe(200);
    expect((await send(JSON.stringify(admissionReview(webPod())))).json.response.allowed).toBe(false);
  });
});

/** A POST with exactly the headers given (none added), to send what a client library never would. */
function rawPost(server: TestServer, body: string, headers: Record<string, string>): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${server.url}/validate`, { method: 'POST', ca: server.ca, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json: JSON.parse(text) });
      });
    });
    // A 413 may be sent before the whole body is read; the server then closes the connection.
    outgoing.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    if (headers['transfer-encoding'] === 'chunked') {
      for (let offset = 0; offset < body.length; offset += 1024 * 1024) outgoing.write(body.slice(offset, offset + 1024 * 1024));
      outgoing.end();
    } else {
      outgoing.end(body);
    }
  });
}
