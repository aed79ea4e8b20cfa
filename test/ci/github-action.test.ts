import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { auditStep, loadAction, resolveEnvironment, runAction, type Action } from '../support/ci-integrations.js';
import { FIXTURES, SOURCE_CLI } from './source-cli.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** Each run spawns the CLI through tsx once or twice, which takes seconds on a busy machine. */
const SLOW = 90_000;

interface Sarif {
  version: string;
  runs: { tool: { driver: { name: string } }; results: { ruleId: string; level: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }[] }[] }[];
}

describe('the GitHub Action (action.yml)', () => {
  let action: Action;
  let directory: string;
  /** A copy of the fixtures: the workspace the action runs in. */
  let workspace: string;

  beforeAll(async () => {
    action = await loadAction();
    directory = await mkdtemp(join(tmpdir(), 'podpatterns-action-test-'));
    workspace = join(directory, 'workspace');
    await cp(FIXTURES, workspace, { recursive: true });
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('is a composite action whose every input reaches a step', () => {
    expect(action.runs.using).toBe('composite');
    const steps = JSON.stringify(action.runs.steps);
    for (const input of Object.keys(action.inputs)) expect(steps, input).toContain(`inputs.${input}`);
    expect(Object.keys(action.inputs).sort()).toEqual(['fail-on', 'kubernetes-version', 'min-kubelet-version', 'node-version', 'output', 'paths', 'policy', 'version']);
  });

  it('runs the podpatterns release of this package by default', () => {
    expect(action.inputs.version!.default).toBe(version);
    expect(auditStep(action).run).toContain('npx --yes "podpatterns@$PODPATTERNS_VERSION" audit');
  });

  it('passes inputs to its script only through the environment, so no input can inject shell code', () => {
    const step = auditStep(action);
    expect(step.run).not.toContain('${{');
    expect(() => resolveEnvironment(action, {})).not.toThrow();
  });

  it('uses only flags that podpatterns audit knows', () => {
    const audit = buildProgram().commands.find((command) => command.name() === 'audit')!;
    const known = new Set(audit.options.map((option) => option.long));
    // `--yes` is npx's; everything after `audit` goes to podpatterns.
    const used = [...new Set(auditStep(action).run.match(/(?<![\w-])--[a-z][a-z-]+/g))].filter((flag) => flag !== '--yes');
    expect(used.sort()).toEqual(['--fail-on', '--kubernetes-version', '--min-kubelet-version', '--output', '--policy']);
    for (const flag of used) expect(known, flag).toContain(flag);
  });

  it('fails on a deny finding, prints the findings and writes SARIF that names the file and line', async () => {
    const run = await runAction({ paths: 'web.yaml worker.json\nworkflow.yml', output: 'reports/podpatterns.sarif' }, { cwd: workspace, cli: SOURCE_CLI });
    expect(run.code, run.stderr).toBe(1);
    expect(JSON.parse(await readFile(join(workspace, 'reports/podpatterns.sarif'), 'utf8'))).toMatchObject({ version: '2.1.0' });
    expect(run.outputs['exit-code']).toBe('1');
    expect(run.stdout).toContain('web.yaml:22  deny   port-conflict');
    expect(run.npxCalls).toHaveLength(2);
    for (const call of run.npxCalls) expect(call.slice(0, 3)).toEqual(['--yes', `podpatterns@${version}`, 'audit']);
    expect(run.npxCalls[0]).toEqual(['--yes', `podpatterns@${version}`, 'audit', '--output', 'sarif', '--fail-on', 'none', '--', 'web.yaml', 'worker.json', 'workflow.yml']);
  }, SLOW);

  it('writes a SARIF 2.1.0 report with repository-relative locations, for github/codeql-action/upload-sarif', async () => {
    const sarifPath = join(directory, 'podpatterns.sarif');
    const run = await runAction({ paths: '.', output: sarifPath, 'fail-on': 'none' }, { cwd: workspace, cli: SOURCE_CLI });
    expect(run.code, run.stderr).toBe(0);
    const sarif = JSON.parse(await readFile(sarifPath, 'utf8')) as Sarif;
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0]!.tool.driver.name).toBe('podpatterns');
    const conflict = sarif.runs[0]!.results.find((result) => result.ruleId === 'port-conflict')!;
    expect(conflict.level).toBe('error');
    expect(conflict.locations[0]!.physicalLocation).toMatchObject({ artifactLocation: { uri: 'web.yaml' }, region: { startLine: 22 } });
  }, SLOW);

  it('passes with a policy that lowers port-conflict to warn, and fails again with fail-on warn', async () => {
    const policy = join(directory, 'policy.yaml');
    await writeFile(policy, 'rules:\n  port-conflict: warn\n');
    const relaxed = await runAction({ paths: 'web.yaml', policy }, { cwd: workspace, cli: SOURCE_CLI });
    expect(relaxed.code, relaxed.stdout + relaxed.stderr).toBe(0);
    expect(relaxed.stdout).toContain('warn   port-conflict');
    const strict = await runAction({ paths: 'web.yaml', policy, 'fail-on': 'warn' }, { cwd: workspace, cli: SOURCE_CLI });
    expect(strict.code).toBe(1);
  }, SLOW);

  it('hands the cluster versions to podpatterns, which names a bad one', async () => {
    const run = await runAction({ paths: 'web.yaml', 'kubernetes-version': '1.x' }, { cwd: workspace, cli: SOURCE_CLI });
    expect(run.code).toBe(2);
    expect(run.outputs['exit-code']).toBe('2');
    expect(run.stderr).toContain('--kubernetes-version');
    const kubelet = await runAction({ paths: 'worker.json', 'kubernetes-version': '1.33', 'min-kubelet-version': '1.31' }, { cwd: workspace, cli: SOURCE_CLI });
    expect(kubelet.code, kubelet.stderr).toBe(0);
    expect(kubelet.npxCalls[0]).toEqual(['--yes', `podpatterns@${version}`, 'audit', '--fail-on', 'deny', '--kubernetes-version', '1.33', '--min-kubelet-version', '1.31', '--', 'worker.json']);
  }, SLOW);

  it('never expands a glob in paths: a pattern is a path that does not exist', async () => {
    const run = await runAction({ paths: '*.json' }, { cwd: workspace, cli: SOURCE_CLI });
    expect(run.code).toBe(2);
    expect(run.npxCalls[0]!.at(-1)).toBe('*.json');
  }, SLOW);
});
