import { connect, type ClientHttp2Session } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { admissionReview, post, startTestServer, webPod, type TestServer } from './support.js';

/** One POST over an HTTP/2 session: status, headers and the parsed body. */
function postH2(session: ClientHttp2Session, path: string, body: string): Promise<{ status: number; json: { response: { uid: string; allowed: boolean } } }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json' });
    let status = 0;
    const chunks: Buffer[] = [];
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ status, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    stream.on('error', reject);
    stream.end(body);
  });
}

function session(server: TestServer): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const client = connect(server.url, { ca: server.ca }, () => resolve(client));
    client.on('error', reject);
  });
}

describe('HTTP/2 and HTTP/1.1 on the webhook port', () => {
  let server: TestServer | undefined;
  afterEach(() => server?.stop());

  it('answers over HTTP/2 when the client asks for h2 by ALPN, many requests on one connection', async () => {
    server = await startTestServer();
    const client = await session(server);
    expect((client.socket as unknown as { alpnProtocol: string }).alpnProtocol).toBe('h2');
    const reviews = Array.from({ length: 8 }, (_, index) => admissionReview(webPod({ clash: index % 2 === 0 }), { uid: `h2-${index}` }));
    const answers = await Promise.all(reviews.map((review) => postH2(client, '/validate/enforce', JSON.stringify(review))));
    expect(answers.map((answer) => [answer.status, answer.json.response.uid, answer.json.response.allowed])).toEqual(
      reviews.map((review, index) => [200, review.request.uid, index % 2 !== 0]),
    );
    client.close();
  });

  it('answers over HTTP/1.1 a client that offers only http/1.1, as the API server does for a Service', async () => {
    server = await startTestServer();
    const answer = await post(`${server.url}/validate/enforce`, JSON.stringify(admissionReview(webPod(), { uid: 'h1' })), { ca: server.ca });
    expect(answer.status).toBe(200);
    expect(answer.json.response).toMatchObject({ uid: 'h1', allowed: false });
  });

  it('still answers an HTTP/2 request while draining, then closes the connection with a GOAWAY', async () => {
    // The delay outlasts the test: the GOAWAY comes from the answer, not from the server closing.
    server = await startTestServer({ shutdownDelay: '60s' });
    const client = await session(server);
    const goaway = new Promise<string>((resolve) => client.once('goaway', () => resolve('goaway')));
    void server.shutdown();
    const answer = await postH2(client, '/validate/enforce', JSON.stringify(admissionReview(webPod(), { uid: 'draining' })));
    expect(answer).toMatchObject({ status: 200, json: { response: { uid: 'draining', allowed: false } } });
    const noGoaway = new Promise<string>((resolve) => setTimeout(() => resolve('no goaway within 2 s'), 2000).unref());
    expect(await Promise.race([goaway, noGoaway])).toBe('goaway');
    client.destroy();
  });
});
