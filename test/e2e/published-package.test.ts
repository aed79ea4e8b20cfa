/**
 * The package as npm publishes it: `npm pack` (which runs `prepack`, the build) of a copy of the project,
 * installed with `--omit=dev` into an empty folder, then run as users run it: `npx podpatterns audit`,
 * `podpatterns rules`, the GitHub Action's command line and the pre-commit hook's entry. It needs no
 * cluster; it sits in the end-to-end suite because packing and installing take a minute or more.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { dump } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARALLEL_FROM } from '../../src/audit/files.js';
import { runAction, runHook } from '../support/ci-integrations.js';
import { REPO_ROOT } from '../support/helm.js';
import { FIXTURES } from '../ci/source-cli.js';
import { post, spawnServe } from '../server/support.js';
import { outputOf } from '../support/process.js';
import { generatedWorkloads } from '../support/workloads.js';

interface PackageJson {
  name: string;
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** npm pack plus npm install take 30–60 s on a busy machine; each test below runs the CLI once or twice. */
const PACK_AND_INSTALL = 5 * 60_000;
const SLOW = 90_000;

/** Node 24 (the runtime of this test) first on PATH, so `npx` and the bin's `#!/usr/bin/env node` use it. */
function environment(extraBin?: string): NodeJS.ProcessEnv {
  const bins = [...(extraBin ? [extraBin] : []), dirname(process.execPath), process.env.PATH ?? ''];
  return {
    PATH: bins.join(delimiter),
    HOME: process.env.HOME ?? tmpdir(),
    NO_COLOR: '1',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = environment()): Promise<Run> {
  return outputOf(spawn(command, [...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

function succeeded(what: string, result: Run): Run {
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

describe('the npm package', () => {
  let directory: string;
  /** The empty folder the tarball is installed into. */
  let project: string;
  let packageJson: PackageJson;
  let packed: string[];
  let packStdout: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'podpatterns-package-'));
    // Packing a copy leaves this checkout's dist/ alone and proves the package builds from sources alone.
    const source = join(directory, 'source');
    await mkdir(source);
    for (const entry of ['package.json', 'package-lock.json', '.npmrc', 'README.md', 'LICENSE', 'tsconfig.json', 'tsconfig.build.json', 'src']) {
      await cp(join(REPO_ROOT, entry), join(source, entry), { recursive: true });
    }
    await symlink(join(REPO_ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
    packageJson = JSON.parse(await readFile(join(source, 'package.json'), 'utf8')) as PackageJson;

    // pre-commit installs a node hook the same way, and takes the tarball's name from this stdout.
    packStdout = succeeded('npm pack', await run('npm', ['pack', '--pack-destination', directory], source)).stdout;
    const filename = `${packageJson.name}-${packageJson.version}.tgz`;
    packed = (await run('tar', ['-tzf', join(directory, filename)], directory)).stdout.split('\n').filter(Boolean).map((path) => path.replace(/^package\//, '')).sort();

    project = join(directory, 'project');
    await mkdir(project);
    succeeded('npm install', await run('npm', ['install', join(directory, filename), '--omit=dev', '--prefer-offline'], project));
  }, PACK_AND_INSTALL);

  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('prints only the tarball\'s name on standard output when packed, which pre-commit reads to install the hook', () => {
    expect(packStdout).toBe(`${packageJson.name}-${packageJson.version}.tgz\n`);
  });

  it('holds the built CLI, package.json and README, and no sources, tests or source maps', () => {
    expect(packed).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', ...Object.values(packageJson.bin).map((path) => path.replace(/^\.\//, ''))]));
    expect(packed.filter((path) => !path.startsWith('dist/') && path !== 'package.json' && path !== 'README.md' && path !== 'LICENSE')).toEqual([]);
    expect(packed.filter((path) => !path.endsWith('.js') && path.startsWith('dist/'))).toEqual([]);
    expect(packed).toContain('dist/cli/main.js');
  });

  it('ships the CLI as one bundle: its entry points and their shared chunks, no module tree', () => {
    const dist = packed.filter((path) => path.startsWith('dist/'));
    expect(dist.filter((path) => !/^dist\/cli\/(bin|main|audit-worker|chunk-[A-Z0-9]+)\.js$/.test(path))).toEqual([]);
    expect(dist).toEqual(expect.arrayContaining(['dist/cli/bin.js', 'dist/cli/main.js', 'dist/cli/audit-worker.js']));
  });

  it('installs without devDependencies', async () => {
    const installed = new Set(await readdir(join(project, 'node_modules')));
    expect(installed).toContain('podpatterns');
    for (const dependency of Object.keys(packageJson.dependencies)) expect(installed, dependency).toContain(dependency.split('/')[0]);
    for (const dependency of ['typescript', 'vitest', 'tsx', '@aws-cdk', 'eslint', 'node']) expect(installed, dependency).not.toContain(dependency);
  });

  it('runs npx podpatterns audit from the install, with the findings and exit code of the CLI', async () => {
    await cp(FIXTURES, join(project, 'k8s'), { recursive: true });
    const audit = await run('npx', ['podpatterns', 'audit', 'k8s/'], project);
    expect(audit.code, audit.stderr).toBe(1);
    expect(audit.stdout).toContain('k8s/web.yaml:22  deny   port-conflict');
    expect(audit.stdout).toContain('in 3 resources (3 documents, 3 files)');
    const version = await run('npx', ['podpatterns', '--version'], project);
    expect(version.stdout.trim()).toBe(packageJson.version);
  }, SLOW);

  it('checks a large input with the worker threads of the installed build, printing what --jobs 1 prints', async () => {
    const stream = generatedWorkloads(7500).map((object) => `---\n${dump(object)}`).join('');
    expect(Buffer.byteLength(stream)).toBeGreaterThan(PARALLEL_FROM);
    await writeFile(join(project, 'large.yaml'), stream);
    const inThread = await run('npx', ['podpatterns', 'audit', '-o', 'json', '--jobs', '1', 'large.yaml'], project);
    const parallel = await run('npx', ['podpatterns', 'audit', '-o', 'json', '--jobs', '2', 'large.yaml'], project);
    expect(inThread.code, inThread.stderr).toBe(1);
    expect(parallel.stderr).toBe('');
    expect(parallel.code).toBe(1);
    expect(parallel.stdout).toBe(inThread.stdout);
  }, SLOW);

  it('puts podpatterns on PATH: podpatterns rules lists every rule', async () => {
    const rules = succeeded('podpatterns rules', await run('podpatterns', ['rules'], project, environment(join(project, 'node_modules/.bin'))));
    const { ALL_RULES } = await import('../../src/rules/index.js');
    expect(rules.stdout.trim().split('\n').map((line) => line.split(/\s+/)[0])).toEqual(ALL_RULES.map((rule) => rule.id));
  }, SLOW);

  it('runs the GitHub Action\'s command line against the installed CLI', async () => {
    const action = await runAction({ paths: 'web.yaml worker.json', output: join(directory, 'action.sarif') }, { cwd: FIXTURES, cli: [join(project, 'node_modules/.bin/podpatterns')] });
    expect(action.code, action.stderr).toBe(1);
    expect(action.stdout).toContain('web.yaml:22  deny   port-conflict');
    expect(JSON.parse(await readFile(join(directory, 'action.sarif'), 'utf8'))).toMatchObject({ version: '2.1.0' });
  }, SLOW);

  it('serves /validate from the install: the webhook server and the dev certificate maker load from the bundle\'s chunks', async () => {
    const server = await spawnServe([], { cli: [join(project, 'node_modules/.bin/podpatterns')], cwd: project, env: environment() });
    try {
      const review = await readFile(join(FIXTURES, '..', 'review-port-conflict.json'), 'utf8');
      const answer = await post(`${server.url}/validate`, review, { ca: server.ca });
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ kind: 'AdmissionReview', response: { allowed: false } });
    } finally {
      await server.stop();
    }
  }, SLOW);

  it('runs the pre-commit hook\'s entry against the installed CLI, as pre-commit does after installing the package', async () => {
    const hook = await runHook('podpatterns-audit', ['web.yaml', 'worker.json', 'NOTES.txt'], { cwd: FIXTURES, bin: join(project, 'node_modules/.bin') });
    expect(hook.files).toEqual(['web.yaml', 'worker.json']);
    expect(hook.code, hook.stderr).toBe(1);
    expect(hook.stdout).toContain('web.yaml:22  deny   port-conflict');
  }, SLOW);
});
