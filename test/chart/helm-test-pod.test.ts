import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { generateCertificates, type CertificateBundle } from '../../src/tls/certificates.js';
import { ruleFindings } from '../support/engine.js';
import { renderChart } from '../support/helm.js';
import { single } from './chart.js';

/**
 * The `helm test` pod's script, run as the pod runs it (node -e) against a local HTTPS server standing
 * in for the webhook, so its verdicts are checked without a cluster.
 */

interface TestPod {
  spec: { containers: { command: string[]; args: string[] }[] };
}

interface Exchange {
  method?: string;
  url?: string;
  contentType?: string;
  review: { request: { uid: string; object: unknown; operation: string } };
}

type Answer = (review: Exchange['review']) => { status: number; body: unknown };

const execFileAsync = promisify(execFile);
let script: string;
let trusted: CertificateBundle;
let server: Server | undefined;

beforeAll(async () => {
  const pod = single<TestPod>(await renderChart([]), 'Pod');
  const [container] = pod.spec.containers;
  expect(container!.command).toEqual(['/nodejs/bin/node', '-e']);
  script = container!.args[0]!;
  trusted = await generateCertificates({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
});

afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function serve(answer: Answer, certificates: CertificateBundle = trusted): Promise<{ url: string; exchanges: Exchange[] }> {
  const exchanges: Exchange[] = [];
  server = createServer({ cert: certificates.cert, key: certificates.key }, (request, response) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => {
      const review = JSON.parse(text) as Exchange['review'];
      exchanges.push({ method: request.method, url: request.url, contentType: request.headers['content-type'], review });
      const { status, body } = answer(review);
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `https://127.0.0.1:${port}/validate/enforce`, exchanges };
}

async function runScript(url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH, WEBHOOK_URL: url, WEBHOOK_CA_BUNDLE: Buffer.from(trusted.caCert).toString('base64') };
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['-e', script], { env, timeout: 15_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const verdict = (allowed: boolean, uid?: string): Answer => (review) => ({
  status: 200,
  body: {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: uid ?? review.request.uid, allowed, ...(allowed ? {} : { status: { code: 403, message: 'port-conflict: app and proxy both bind 8080' } }) },
  },
});

describe('the helm test pod', () => {
  it('passes when the webhook denies the pod with two containers on 8080 that it sends', async () => {
    const { url, exchanges } = await serve(verdict(false));
    const result = await runScript(url);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('denied as expected: port-conflict');
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]).toMatchObject({ method: 'POST', url: '/validate/enforce', contentType: 'application/json' });
    expect(exchanges[0]!.review.request.operation).toBe('CREATE');
  });

  it('sends a pod that the port-conflict rule denies, so a working webhook must deny it', async () => {
    const { url, exchanges } = await serve(verdict(false));
    await runScript(url);
    const pod = exchanges[0]!.review.request.object;
    const findings = ruleFindings('port-conflict', stringify(pod));
    expect(findings.map((finding) => finding.severity)).toContain('deny');
  });

  it('fails when the webhook allows the pod', async () => {
    const { url } = await serve(verdict(true));
    const result = await runScript(url);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('was allowed');
  });

  it('fails when the response does not echo the request uid', async () => {
    const { url } = await serve(verdict(false, 'someone-else'));
    const result = await runScript(url);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('does not echo the request');
  });

  it('fails on an HTTP error, showing the body', async () => {
    const { url } = await serve(() => ({ status: 500, body: { message: 'policy not loaded' } }));
    const result = await runScript(url);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('HTTP 500');
    expect(result.stderr).toContain('policy not loaded');
  });

  it('fails when the server presents a certificate from another CA', async () => {
    const impostor = await generateCertificates({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const { url, exchanges } = await serve(verdict(false), impostor);
    const result = await runScript(url);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/certificate/i);
    expect(exchanges).toHaveLength(0);
  });
});
