import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../certs/generate.js';
import { REPO_ROOT, renderChart } from '../support/helm.js';

/** certs/generate.ts run as users run it: `npx tsx certs/generate.ts …`, writing real files. */

const execFileAsync = promisify(execFile);
const TSX = join(REPO_ROOT, 'node_modules/.bin/tsx');
const SCRIPT = join(REPO_ROOT, 'certs/generate.ts');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function generate(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(TSX, [SCRIPT, ...args], { cwd: REPO_ROOT, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'podpatterns-certs-'));
/** Where the invalid invocations would write if they failed to refuse. */
const unused = join(scratch, 'unused');
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('certs/generate.ts', () => {
  let out: string;
  let run: Run;
  let ca: X509Certificate;
  let serving: X509Certificate;

  beforeAll(async () => {
    out = join(scratch, 'service');
    run = await generate('--namespace', 'podpatterns-system', '--service', 'podpatterns', '--out', out, '--dns', 'webhook.example.com', '--ip', '10.96.0.42');
    ca = new X509Certificate(await readFile(join(out, 'ca.crt')));
    serving = new X509Certificate(await readFile(join(out, 'tls.crt')));
  });

  it('exits 0 and writes ca.crt, tls.crt and tls.key', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('issues the serving certificate for the Service names and the extra names asked for', () => {
    for (const name of ['podpatterns.podpatterns-system.svc', 'podpatterns.podpatterns-system.svc.cluster.local', 'webhook.example.com']) {
      expect(serving.checkHost(name, { wildcards: false })).toBe(name);
    }
    expect(serving.checkIP('10.96.0.42')).toBe('10.96.0.42');
    expect(serving.checkHost('localhost')).toBeUndefined();
    expect(serving.checkIP('127.0.0.1')).toBeUndefined();
  });

  it('signs it with the CA in ca.crt', () => {
    expect(ca.ca).toBe(true);
    expect(serving.ca).toBe(false);
    expect(serving.checkIssued(ca)).toBe(true);
    expect(serving.verify(ca.publicKey)).toBe(true);
  });

  it('writes the matching private key, readable by its owner only', async () => {
    const key = createPrivateKey(await readFile(join(out, 'tls.key')));
    expect(serving.checkPrivateKey(key)).toBe(true);
    expect((await stat(join(out, 'tls.key'))).mode & 0o777).toBe(0o600);
  });

  it('prints the kubectl command for the Secret and the caBundle for tls.source=existingSecret', async () => {
    expect(run.stdout).toContain(`kubectl create secret tls podpatterns-tls --namespace podpatterns-system --cert=${join(out, 'tls.crt')} --key=${join(out, 'tls.key')}`);
    expect(run.stdout).toContain('--set tls.source=existingSecret --set tls.existingSecret=podpatterns-tls');
    const caBundle = /caBundle \(base64 of ca\.crt\):\n(\S+)/.exec(run.stdout)?.[1];
    expect(caBundle && Buffer.from(caBundle, 'base64').toString()).toBe(await readFile(join(out, 'ca.crt'), 'utf8'));
  });

  it('produces a caBundle the chart accepts and hands to every webhook', async () => {
    const caBundle = /caBundle \(base64 of ca\.crt\):\n(\S+)/.exec(run.stdout)![1]!;
    const manifests = await renderChart([], { 'tls.source': 'existingSecret', 'tls.existingSecret': 'podpatterns-tls', 'tls.caBundle': caBundle });
    const bundles = manifests
      .filter((manifest) => manifest.kind.endsWith('WebhookConfiguration'))
      .flatMap((manifest) => (manifest.webhooks as { clientConfig: { caBundle?: string } }[]).map((webhook) => webhook.clientConfig.caBundle));
    expect(bundles.length).toBeGreaterThan(0);
    expect(new Set(bundles)).toEqual(new Set([caBundle]));
  });

  it('adds localhost and 127.0.0.1 with --local, for a server on a developer machine', async () => {
    const local = join(scratch, 'local');
    expect((await generate('--namespace', 'dev', '--service', 'podpatterns', '--out', local, '--local')).code).toBe(0);
    const certificate = new X509Certificate(await readFile(join(local, 'tls.crt')));
    expect(certificate.checkHost('localhost')).toBe('localhost');
    expect(certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(certificate.checkHost('podpatterns.dev.svc')).toBe('podpatterns.dev.svc');
  });

  it('refuses to overwrite existing files without --force, and replaces them with it', async () => {
    const before = await readFile(join(out, 'tls.key'), 'utf8');
    const refused = await generate('--namespace', 'podpatterns-system', '--service', 'podpatterns', '--out', out);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('pass --force');
    expect(await readFile(join(out, 'tls.key'), 'utf8')).toBe(before);
    const forced = await generate('--namespace', 'podpatterns-system', '--service', 'podpatterns', '--out', out, '--force');
    expect(forced.code).toBe(0);
    expect(await readFile(join(out, 'tls.key'), 'utf8')).not.toBe(before);
    expect((await stat(join(out, 'tls.key'))).mode & 0o777).toBe(0o600);
  });

  it('exits 2 from the command line on an unknown option, naming it', async () => {
    const result = await generate('--namespace', 'ns', '--service', 'podpatterns', '--out', unused, '--namespaces', 'y');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("'--namespaces'");
  });

  it.each([
    ['a missing --namespace', ['--service', 'podpatterns', '--out', unused], 'missing --namespace'],
    ['a namespace that is not a DNS label', ['--namespace', 'Podpatterns', '--service', 'podpatterns', '--out', unused], '--namespace "Podpatterns"'],
    ['a service that is not a DNS label', ['--namespace', 'ns', '--service', 'pod.patterns', '--out', unused], '--service "pod.patterns"'],
    ['an address that is not an IP', ['--namespace', 'ns', '--service', 'podpatterns', '--out', unused, '--ip', '10.0.0.300'], '--ip "10.0.0.300"'],
    ['a DNS name with an underscore', ['--namespace', 'ns', '--service', 'podpatterns', '--out', unused, '--dns', 'bad_name'], '--dns "bad_name"'],
    ['zero days of validity', ['--namespace', 'ns', '--service', 'podpatterns', '--out', unused, '--days', '0'], '--days 0'],
  ])('refuses %s with exit code 2, naming it, and writes nothing', async (_case, args, named) => {
    const stderr: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    try {
      expect(await main(args)).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(stderr.join('')).toContain(named);
    await expect(stat(unused)).rejects.toThrow();
  });
});
