import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TEXT_LENGTH } from '../../src/input/manifest.js';
import { generateCertificates } from '../../src/tls/certificates.js';
import { REPO, runCli, type CliResult } from './run.js';
import { outputOf } from '../support/process.js';
import { CLASSIC_SIDECAR_JOB } from '../support/manifests.js';

/** Spawning the CLI through tsx takes seconds on a busy machine. */
const SLOW = 120_000;

const clashingPod = (name: string): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
    - name: app
      image: registry.example.com/app:1.0.0
      ports: [{containerPort: 8080}]
    - name: sidecar
      image: registry.example.com/sidecar:1.0.0
      ports: [{containerPort: 8080}]
`;

/** Runs the CLI and kills it after `ms`: a run that blocks fails this test instead of hanging the suite. */
async function runWithin(ms: number, args: readonly string[]): Promise<CliResult & { timedOut: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  const run = runCli(args);
  const result = await Promise.race([run, timeout]);
  clearTimeout(timer);
  if (result !== 'timeout') return { ...result, timedOut: false };
  // The pipe is opened for writing once, so a run blocked on it returns and the suite can end.
  return { code: null, stdout: '', stderr: '', timedOut: true };
}

describe('the CLI on special files', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'podpatterns-special-'));
    await mkdir(join(root, 'repo', 'deploy'), { recursive: true });
    await mkdir(join(root, 'repo', '.git'), { recursive: true });
    await mkdir(join(root, 'repo', 'node_modules', 'chart'), { recursive: true });
    await writeFile(join(root, 'repo', 'deploy', 'pod.yaml'), clashingPod('web'));
    await writeFile(join(root, 'repo', 'deploy', 'job.yaml'), CLASSIC_SIDECAR_JOB);
    await writeFile(join(root, 'repo', '.git', 'job.yaml'), CLASSIC_SIDECAR_JOB);
    await writeFile(join(root, 'repo', 'node_modules', 'chart', 'job.yaml'), CLASSIC_SIDECAR_JOB);
    await symlink('..', join(root, 'repo', 'deploy', 'loop'));
    execFileSync('mkfifo', [join(root, 'repo', 'deploy', 'events.yaml')]);
  });

  afterAll(async () => {
    // Unblocks any reader left on the pipe by a failing run.
    const pipe = await open(join(root, 'repo', 'deploy', 'events.yaml'), 'r+').catch(() => undefined);
    await pipe?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('skips a named pipe inside an audited directory, says so, and still reports the good files', { timeout: SLOW }, async () => {
    const run = await runWithin(60_000, ['audit', '-o', 'json', join(root, 'repo')]);
    expect(run.timedOut).toBe(false);
    const output = JSON.parse(run.stdout) as { findings: Array<{ rule: string; file: string }>; errors: Array<{ file: string; message: string }> };
    expect(output.findings.map((finding) => finding.file)).toContain(join(root, 'repo', 'deploy', 'pod.yaml'));
    expect(output.findings.map((finding) => finding.file)).toContain(join(root, 'repo', 'deploy', 'job.yaml'));
    expect(output.errors).toEqual([
      expect.objectContaining({ file: join(root, 'repo', 'deploy', 'events.yaml'), message: expect.stringMatching(/^skipped: a named pipe, not a regular file/) as unknown }),
    ]);
    expect(run.stderr).toContain(`${join(root, 'repo', 'deploy', 'events.yaml')}: skipped: a named pipe`);
    expect(run.code).toBe(2);
  });

  it('migrate --write rewrites exactly the files audit reads: no pipe, hidden directory, node_modules or symlink loop', { timeout: SLOW }, async () => {
    const run = await runWithin(60_000, ['migrate', '--write', join(root, 'repo')]);
    expect(run.timedOut).toBe(false);
    expect(run.stderr).toContain(`wrote ${join(root, 'repo', 'deploy', 'job.yaml')}`);
    expect(run.stderr).toContain(`${join(root, 'repo', 'deploy', 'events.yaml')}: skipped: a named pipe`);
    expect(run.stderr.match(/^wrote /gm)).toHaveLength(1);
    expect(await readFile(join(root, 'repo', 'deploy', 'job.yaml'), 'utf8')).toContain('restartPolicy: Always');
    expect(await readFile(join(root, 'repo', '.git', 'job.yaml'), 'utf8')).toBe(CLASSIC_SIDECAR_JOB);
    expect(await readFile(join(root, 'repo', 'node_modules', 'chart', 'job.yaml'), 'utf8')).toBe(CLASSIC_SIDECAR_JOB);
  });
});

describe('the CLI on a file larger than a string can be', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'podpatterns-huge-'));
    // Sparse: the size is there, the disk blocks are not.
    const file = await open(join(root, 'cluster.json'), 'w');
    await file.write('{"apiVersion": "v1", "kind": "List", "items": [');
    await file.truncate(MAX_TEXT_LENGTH + 2 ** 20);
    await file.close();
    await writeFile(join(root, 'pod.yaml'), clashingPod('web'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('names the file, its size, the limit and what to do, and still checks the other files', { timeout: SLOW }, async () => {
    const run = await runCli(['audit', '-o', 'json', join(root, 'cluster.json'), join(root, 'pod.yaml')]);
    expect(run.code).toBe(2);
    expect(run.stderr).not.toContain('Invalid string length');
    expect(run.stderr).toContain(`${join(root, 'cluster.json')}: cannot be read: it is 513.0 MiB of JSON, and a JavaScript string holds at most 512.0 MiB (V8's limit): split it into smaller files`);
    const output = JSON.parse(run.stdout) as { findings: Array<{ file: string }> };
    expect(output.findings.length).toBeGreaterThan(0);
    expect(new Set(output.findings.map((finding) => finding.file))).toEqual(new Set([join(root, 'pod.yaml')]));
  });

  it('says the same in migrate', { timeout: SLOW }, async () => {
    const run = await runCli(['migrate', join(root, 'cluster.json')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: ${join(root, 'cluster.json')}: cannot be read: it is 513.0 MiB, and a JavaScript string holds at most 512.0 MiB (V8's limit)`);
  });
});

/** Every module a process loads, printed as `LOADED [urls]` on stderr when it exits, and Node's own as `BUILTIN [names]`. */
const MODULE_HOOKS = `data:text/javascript,${encodeURIComponent(
  "import { registerHooks } from 'node:module'; const seen = []; registerHooks({ load(url, context, next) { seen.push(url); return next(url, context); } }); process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify(seen) + '\\nBUILTIN ' + JSON.stringify(process.moduleLoadList) + '\\n'));",
)}`;

/** Node's copy of undici, behind fetch and WebSocket: several MiB that a webhook answering AdmissionReviews never uses. */
const BUNDLED_UNDICI = 'NativeModule internal/deps/undici/undici';

describe('the modules audit loads', () => {
  it('reads files without loading the webhook server, node:http, the Kubernetes client, the CEL compiler, the policy test runner or the yaml package', { timeout: SLOW }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'podpatterns-modules-'));
    try {
      await writeFile(join(root, 'pod.yaml'), clashingPod('web'));
      const run = await outputOf(
        spawn(process.execPath, ['--import', MODULE_HOOKS, '--import', join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs'), join(REPO, 'src', 'cli', 'bin.ts'), 'audit', '-o', 'json', join(root, 'pod.yaml')], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] }),
      );
      expect(run.code).toBe(1);
      const loaded = JSON.parse(/^LOADED (.*)$/m.exec(run.stderr)![1]!) as string[];
      expect(loaded.some((url) => url.includes('/src/audit/files.ts'))).toBe(true);
      expect(loaded.filter((url) => /fastify|@kubernetes|undici|\/src\/server\/|\/src\/kube\/|\/src\/audit\/cluster|^node:https?$/.test(url))).toEqual([]);
      // Commands that are not running stay unloaded: compile's CEL compiler, test's schema validator and the migration it checks.
      // The yaml package (policy files, manifests js-yaml refuses, YAML reports) is loaded on first use only.
      expect(loaded.filter((url) => /\/node_modules\/yaml\//.test(url))).toEqual([]);
      expect(loaded.filter((url) => /\/node_modules\/(ajv|diff|fast-json-patch)\/|\/src\/cel\/(compile|migration-policy)\.ts|\/src\/policytest\/(suite|schema|run)\.ts|\/src\/migration\//.test(url))).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('the modules serve loads', () => {
  it('serves with its own certificate without the dev certificate maker, the yaml package, a web framework or Node\'s bundled undici', { timeout: SLOW }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'podpatterns-modules-'));
    try {
      const bundle = await generateCertificates({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
      await writeFile(join(root, 'tls.crt'), bundle.cert);
      await writeFile(join(root, 'tls.key'), bundle.key);
      const child = spawn(
        process.execPath,
        ['--import', MODULE_HOOKS, '--import', join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs'), join(REPO, 'src', 'cli', 'bin.ts'), 'serve', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0',
          '--tls-cert', join(root, 'tls.crt'), '--tls-key', join(root, 'tls.key'), '--kubernetes-version', '1.35'],
        { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        if (chunk.includes('podpatterns webhook serving')) child.kill('SIGTERM');
      });
      const run = await outputOf(child);
      expect(run.stdout).toContain('podpatterns webhook serving');
      const loaded = JSON.parse(/^LOADED (.*)$/m.exec(run.stderr)![1]!) as string[];
      expect(loaded.some((url) => url.includes('/node_modules/prom-client/'))).toBe(true);
      expect(loaded.filter((url) => /\/node_modules\/(yaml|ajv|fastify|@fastify\/[^/]+|@peculiar\/x509)\//.test(url))).toEqual([]);
      // The metrics port's node:http, imported as an ES module, would load it (src/node-http.ts).
      expect(JSON.parse(/^BUILTIN (.*)$/m.exec(run.stderr)![1]!)).not.toContain(BUNDLED_UNDICI);
      const esmImport = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', "import 'node:http'; console.log(JSON.stringify(process.moduleLoadList))"]);
      expect(JSON.parse(esmImport.stdout)).toContain(BUNDLED_UNDICI);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

/** The first `node` on PATH (or /usr/bin/node) older than the project's minimum, if the machine has one. */
function olderNode(minimumMajor: number): { path: string; version: string } | undefined {
  const candidates = [...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'node')), '/usr/bin/node', '/usr/local/bin/node'];
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim().replace(/^v/, '');
    if (Number(version.split('.')[0]) < minimumMajor) return { path, version };
  }
  return undefined;
}

describe('the built CLI on an older Node.js', () => {
  const { engines } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } };
  const minimum = engines.node.replace(/^>=\s*/, '');
  const old = olderNode(Number(minimum.split('.')[0]));
  let build: string;

  beforeAll(async () => {
    if (!old) {
      console.log(`no Node.js older than ${minimum} on this machine: the version check is not run against one`);
      return;
    }
    // A real build of the package, inside the checkout so that its node_modules resolve.
    await mkdir(join(REPO, '.cache'), { recursive: true });
    build = await mkdtemp(join(REPO, '.cache', 'bin-'));
    await copyFile(join(REPO, 'package.json'), join(build, 'package.json'));
    await promisify(execFile)(join(REPO, 'node_modules', '.bin', 'tsc'), ['-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(build, 'dist')]);
  }, 300_000);

  afterAll(async () => {
    if (build) await rm(build, { recursive: true, force: true });
  });

  const runBuilt = (node: string, args: readonly string[]): Promise<CliResult> =>
    outputOf(spawn(node, [join(build, 'dist', 'cli', 'bin.js'), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] }));

  it.runIf(old !== undefined)('refuses an older Node.js with one line naming both versions and exit 2, before any dependency loads', { timeout: SLOW }, async () => {
    for (const args of [['audit', '--cluster', '--kubeconfig', '/nonexistent'], ['serve', '--kubeconfig', '/nonexistent'], ['--version']]) {
      const run = await runBuilt(old!.path, args);
      expect(run.stderr).toBe(`podpatterns: Node.js ${old!.version} is too old: podpatterns needs Node.js ${minimum} or newer\n`);
      expect(run.code).toBe(2);
    }
  });

  it.runIf(old !== undefined)('runs the command on the Node.js the project requires', { timeout: SLOW }, async () => {
    const run = await runBuilt(process.execPath, ['audit', join(REPO, 'test', 'fixtures', 'none.yaml')]);
    expect(run.stderr).toContain('none.yaml: cannot be read: ENOENT');
    expect(run.code).toBe(2);
  });
});
