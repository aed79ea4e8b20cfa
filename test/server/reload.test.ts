import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectHttp2, type ClientHttp2Session } from 'node:http2';
import { connect, type PeerCertificate } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateCertificates, type CertificateBundle } from '../../src/tls/certificates.js';
import { admissionReview, keepAliveAgent, post, startTestServer, webPod, writePolicy, type TestServer } from './support.js';

/** The serial number of the certificate a new TLS connection to the server is given. */
async function servedSerial(server: TestServer, cas: string[]): Promise<string> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), ca: cas, servername: 'localhost' }, () => {
      const certificate: PeerCertificate = socket.getPeerCertificate();
      socket.end();
      resolve(certificate.serialNumber);
    });
    socket.on('error', reject);
  });
}

function serialOf(bundle: CertificateBundle): string {
  return new X509Certificate(bundle.cert).serialNumber;
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const request = () => JSON.stringify(admissionReview(webPod()));

describe('podpatterns serve reloading files', () => {
  let directory: string;
  let first: CertificateBundle;
  let second: CertificateBundle;
  let server: TestServer | undefined;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'podpatterns-reload-'));
    first = await generateCertificates({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    second = await generateCertificates({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
    await rm(directory, { recursive: true, force: true });
  });

  async function serveFrom(certFile: string, keyFile: string, extra: Record<string, string> = {}): Promise<TestServer> {
    server = await startTestServer({ tlsCert: certFile, tlsKey: keyFile, reloadInterval: '60s', ...extra }, { ca: first.caCert });
    return server;
  }

  it('gives new connections a rotated certificate while established ones keep theirs', async () => {
    const certFile = join(directory, 'tls.crt');
    const keyFile = join(directory, 'tls.key');
    await writeFile(certFile, first.cert);
    await writeFile(keyFile, first.key);
    const running = await serveFrom(certFile, keyFile);
    const both = [first.caCert, second.caCert];
    const established = keepAliveAgent(both, { maxSockets: 1 });
    expect((await post(`${running.url}/validate`, request(), { ca: both, agent: established })).status).toBe(200);
    const [socket] = Object.values(established.freeSockets).flat();
    expect(socket).toBeDefined();

    await writeFile(keyFile, second.key);
    await writeFile(certFile, second.cert);
    await eventually(async () => (await servedSerial(running, both)) === serialOf(second));

    // The kept-alive connection still works and still has the certificate it was opened with.
    const again = await post(`${running.url}/validate`, request(), { ca: both, agent: established });
    expect(again.status).toBe(200);
    const [reused] = Object.values(established.freeSockets).flat();
    expect(reused).toBe(socket);
    expect((reused as unknown as { getPeerCertificate(): PeerCertificate }).getPeerCertificate().serialNumber).toBe(serialOf(first));
    established.destroy();
    expect(counterValue(await (await fetch(`${running.metricsUrl}/metrics`)).text(), 'podpatterns_certificate_reloads_total{result="success"}')).toBeGreaterThanOrEqual(1);
  });

  it('asks an HTTP/2 client to reconnect after a rotation, so its next connection gets the new certificate', async () => {
    const certFile = join(directory, 'tls.crt');
    const keyFile = join(directory, 'tls.key');
    await writeFile(certFile, first.cert);
    await writeFile(keyFile, first.key);
    const running = await serveFrom(certFile, keyFile);
    const both = [first.caCert, second.caCert];
    const session = await new Promise<ClientHttp2Session>((resolve, reject) => {
      const client = connectHttp2(running.url, { ca: both, servername: 'localhost' }, () => resolve(client));
      client.on('error', reject);
    });
    expect((session.socket as unknown as { getPeerCertificate(): PeerCertificate }).getPeerCertificate().serialNumber).toBe(serialOf(first));
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));

    await writeFile(keyFile, second.key);
    await writeFile(certFile, second.cert);
    await eventually(async () => (await servedSerial(running, both)) === serialOf(second));
    await goaway;
    session.destroy();
  });

  it('follows a Kubernetes Secret volume update (the ..data symlink swap)', async () => {
    // A Secret volume: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>/, swapped by a rename.
    const version1 = join(directory, '..2026_07_01_00_00_00.1');
    const version2 = join(directory, '..2026_07_01_00_10_00.2');
    await mkdir(version1);
    await mkdir(version2);
    await writeFile(join(version1, 'tls.crt'), first.cert);
    await writeFile(join(version1, 'tls.key'), first.key);
    await writeFile(join(version2, 'tls.crt'), second.cert);
    await writeFile(join(version2, 'tls.key'), second.key);
    await symlink('..2026_07_01_00_00_00.1', join(directory, '..data'));
    await symlink('..data/tls.crt', join(directory, 'tls.crt'));
    await symlink('..data/tls.key', join(directory, 'tls.key'));
    const running = await serveFrom(join(directory, 'tls.crt'), join(directory, 'tls.key'));
    const both = [first.caCert, second.caCert];
    expect(await servedSerial(running, both)).toBe(serialOf(first));

    await symlink('..2026_07_01_00_10_00.2', join(directory, '..data_tmp'));
    await rename(join(directory, '..data_tmp'), join(directory, '..data'));
    await eventually(async () => (await servedSerial(running, both)) === serialOf(second));
  });

  it('keeps the last good certificate when the files change to something invalid', async () => {
    const certFile = join(directory, 'tls.crt');
    const keyFile = join(directory, 'tls.key');
    await writeFile(certFile, first.cert);
    await writeFile(keyFile, first.key);
    const running = await serveFrom(certFile, keyFile);
    const both = [first.caCert, second.caCert];

    await writeFile(certFile, second.cert); // the key no longer matches
    await eventually(async () => running.logs.find((line: { msg: string }) => line.msg === 'invalid serving certificate change: keeping the last good one') !== undefined);
    await writeFile(certFile, '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n');
    await eventually(async () => running.logs.lines.filter((line: { msg: string }) => line.msg === 'invalid serving certificate change: keeping the last good one').length >= 2);

    expect(await servedSerial(running, both)).toBe(serialOf(first));
    expect((await post(`${running.url}/validate`, request(), { ca: first.caCert })).status).toBe(200);
    expect(running.logs.find((line: { msg: string }) => line.msg.startsWith('invalid serving certificate'))?.err).toMatch(/is not the key of the certificate/);
    expect(running.state.ready).toBe(true);
  });

  it('applies a valid policy change and keeps the last good policy on an invalid one', async () => {
    const policyFile = join(directory, 'policy.yaml');
    const strict = await writePolicy(directory, { 'port-conflict': true });
    const lenient = await writePolicy(directory, { 'port-conflict': 'warn' });
    await writeFile(policyFile, await readFile(strict, 'utf8'));
    const running = await startTestServer({ policy: policyFile, reloadInterval: '60s' });
    server = running;
    const verdict = async () => (await post(`${running.url}/validate`, request(), { ca: running.ca })).json.response.allowed;
    expect(await verdict()).toBe(false);

    await replaceFile(policyFile, await readFile(lenient, 'utf8'));
    await eventually(async () => (await verdict()) === true);

    await replaceFile(policyFile, 'rules:\n  port-conflcit: off\n');
    await eventually(async () => running.logs.lines.some((line: { msg: string }) => line.msg === 'invalid policy change: keeping the last good one'));
    expect(await verdict()).toBe(true);
    const error = running.logs.find((line: { msg: string }) => line.msg === 'invalid policy change: keeping the last good one');
    expect(error.err).toMatch(/policy\.yaml, line 2: rules\.port-conflcit: unknown rule 'port-conflcit' \(did you mean 'port-conflict'\?\)/);
    const metrics = await (await fetch(`${running.metricsUrl}/metrics`)).text();
    expect(counterValue(metrics, 'podpatterns_policy_reloads_total{result="success"}')).toBe(1);
    expect(counterValue(metrics, 'podpatterns_policy_reloads_total{result="failure"}')).toBe(1);
  });

  it('refuses to start on an invalid policy, naming the file and line', async () => {
    const policyFile = join(directory, 'policy.yaml');
    await writeFile(policyFile, 'rules:\n  port-conflict:\n    severity: fatal\n');
    await expect(startTestServer({ policy: policyFile })).rejects.toThrow(`policy file ${policyFile}, line 3: rules.port-conflict.severity: must be one of deny, warn, audit, not string "fatal"`);
  });

  it('refuses to start on a certificate that does not match its key, naming both flags', async () => {
    const certFile = join(directory, 'tls.crt');
    const keyFile = join(directory, 'tls.key');
    await writeFile(certFile, first.cert);
    await writeFile(keyFile, second.key);
    await expect(serveFrom(certFile, keyFile)).rejects.toThrow(`--tls-key ${keyFile} is not the key of the certificate in --tls-cert ${certFile}`);
    await expect(serveFrom(join(directory, 'missing.crt'), keyFile)).rejects.toThrow(/--tls-cert .*missing\.crt \/ --tls-key .*: cannot be read: ENOENT/);
  });
});

/** Replaces a file in one step, as ConfigMap volumes do, so no reader sees it half written. */
async function replaceFile(path: string, content: string): Promise<void> {
  await writeFile(`${path}.tmp`, content);
  await rename(`${path}.tmp`, path);
}

function counterValue(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}
