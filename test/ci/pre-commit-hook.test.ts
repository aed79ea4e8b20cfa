import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binFolderFor, loadHooks, runHook, type Hook } from '../support/ci-integrations.js';
import { REPO_ROOT } from '../support/helm.js';
import { FIXTURES, SOURCE_CLI } from './source-cli.js';

/** Spawning the CLI through tsx takes seconds on a busy machine. */
const SLOW = 90_000;

/** What `git add` staged, relative to the repository root, as pre-commit passes them. */
const STAGED = ['web.yaml', 'worker.json', 'workflow.yml', 'NOTES.txt'];

describe('the pre-commit hook (.pre-commit-hooks.yaml)', () => {
  let hook: Hook;
  let bin: { bin: string; remove: () => Promise<void> };

  beforeAll(async () => {
    [hook] = (await loadHooks()) as [Hook];
    bin = await binFolderFor(SOURCE_CLI);
  });
  afterAll(() => bin?.remove());

  it('is one node hook whose entry is the bin this package installs', async () => {
    expect(await loadHooks()).toHaveLength(1);
    expect(hook).toMatchObject({ id: 'podpatterns-audit', language: 'node', entry: 'podpatterns audit' });
    const { bin: packageBin } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(Object.keys(packageBin)).toContain(hook.entry.split(' ')[0]);
  });

  it('fails a commit that stages a manifest with a deny finding, naming the file and line; it reads only YAML and JSON', async () => {
    const run = await runHook('podpatterns-audit', STAGED, { cwd: FIXTURES, bin: bin.bin });
    expect(run.files).toEqual(['web.yaml', 'worker.json', 'workflow.yml']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('web.yaml:22  deny   port-conflict');
    expect(run.stdout).toMatch(/in 3 resources \(3 documents, 3 files\)/);
  }, SLOW);

  it('passes a commit of clean manifests and YAML that is no Kubernetes object', async () => {
    const run = await runHook('podpatterns-audit', ['worker.json', 'workflow.yml'], { cwd: FIXTURES, bin: bin.bin });
    expect(run.code, run.stdout + run.stderr).toBe(0);
  }, SLOW);

  it('takes the args of the user\'s .pre-commit-config.yaml before the files', async () => {
    const run = await runHook('podpatterns-audit', ['web.yaml'], { cwd: FIXTURES, bin: bin.bin, args: ['--fail-on', 'none'] });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('port-conflict');
  }, SLOW);
});
