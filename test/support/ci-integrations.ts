import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './helm.js';
import { outputOf } from './process.js';

/**
 * Runs the repository's GitHub Action (action.yml) and pre-commit hook (.pre-commit-hooks.yaml) the way
 * GitHub and pre-commit do, with the podpatterns CLI the caller names in place of the one they would fetch
 * from npm (an unpublished version cannot be fetched): `npx --yes podpatterns@<version>` is answered by a
 * stand-in that checks those arguments and runs `cli`, and `podpatterns` on PATH is `cli` too.
 */

export interface ActionStep {
  id?: string;
  if?: string;
  uses?: string;
  shell?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}

export interface Action {
  name: string;
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string; value: string }>;
  runs: { using: string; steps: ActionStep[] };
}

export interface Hook {
  id: string;
  name: string;
  entry: string;
  language: string;
  files: string;
  args?: string[];
}

export async function loadAction(): Promise<Action> {
  return parse(await readFile(join(REPO_ROOT, 'action.yml'), 'utf8')) as Action;
}

export async function loadHooks(): Promise<Hook[]> {
  return parse(await readFile(join(REPO_ROOT, '.pre-commit-hooks.yaml'), 'utf8')) as Hook[];
}

/** The step that runs podpatterns. */
export function auditStep(action: Action): ActionStep & { run: string } {
  const step = action.runs.steps.find((candidate) => candidate.run !== undefined);
  if (!step?.run) throw new Error('action.yml: no step with a run script');
  return step as ActionStep & { run: string };
}

/** `${{ inputs.name }}`: the only expression the audit step's environment may hold. */
const INPUT_EXPRESSION = /^\$\{\{ inputs\.([a-z-]+) \}\}$/;

/** The step's environment as GitHub resolves it for `inputs` (defaults filled in, as GitHub does). */
export function resolveEnvironment(action: Action, inputs: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, expression] of Object.entries(auditStep(action).env ?? {})) {
    const input = INPUT_EXPRESSION.exec(expression)?.[1];
    if (input === undefined) throw new Error(`action.yml: env ${name} is ${JSON.stringify(expression)}, not an input`);
    if (!(input in action.inputs)) throw new Error(`action.yml: env ${name} names an undeclared input ${input}`);
    env[name] = inputs[input] ?? action.inputs[input]!.default ?? '';
  }
  return env;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ActionRun extends RunResult {
  /** What the step wrote to $GITHUB_OUTPUT. */
  outputs: Record<string, string>;
  /** The argument lists npx was called with. */
  npxCalls: string[][];
}

/**
 * Runs the audit step's script as a composite action's `shell: bash` step runs
 * (`bash --noprofile --norc -eo pipefail {0}`), in `cwd`.
 */
export async function runAction(inputs: Record<string, string>, options: { cwd: string; cli: readonly string[] }): Promise<ActionRun> {
  const action = await loadAction();
  const step = auditStep(action);
  if (step.shell !== 'bash') throw new Error(`action.yml: the audit step's shell is ${step.shell}, not bash`);
  const directory = await mkdtemp(join(tmpdir(), 'podpatterns-action-'));
  try {
    const calls = join(directory, 'npx-calls');
    await writeExecutable(
      join(directory, 'bin/npx'),
      [
        '#!/usr/bin/env bash',
        `printf '%s\\0' "$@" >>${quote(calls)}; printf '\\n' >>${quote(calls)}`,
        `if [[ "$1" != --yes || "$2" != ${quote(`podpatterns@${resolveEnvironment(action, inputs).PODPATTERNS_VERSION}`)} ]]; then echo "npx stand-in: unexpected arguments: $*" >&2; exit 97; fi`,
        'shift 2',
        `exec ${options.cli.map(quote).join(' ')} "$@"`,
      ].join('\n'),
    );
    const script = join(directory, 'step.sh');
    await writeFile(script, step.run);
    const githubOutput = join(directory, 'github-output');
    await writeFile(githubOutput, '');
    const result = await run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd: options.cwd,
      env: { ...baseEnvironment(join(directory, 'bin')), ...resolveEnvironment(action, inputs), GITHUB_OUTPUT: githubOutput },
    });
    const outputs = Object.fromEntries(
      (await readFile(githubOutput, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const npxCalls = (await readFile(calls, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\0').slice(0, -1));
    return { ...result, outputs, npxCalls };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

export interface HookRun extends RunResult {
  /** The files the hook was given, after its `files` pattern. */
  files: string[];
}

/**
 * Runs a pre-commit hook as pre-commit does for `language: node` once installed: the entry split like a
 * shell word list, then the hook's args, then the staged files its `files` pattern matches, relative to
 * the repository root (`cwd`), with the installed package's bin folder first on PATH.
 */
export async function runHook(hookId: string, stagedFiles: readonly string[], options: { cwd: string; bin: string; args?: readonly string[] }): Promise<HookRun> {
  const hook = (await loadHooks()).find((candidate) => candidate.id === hookId);
  if (!hook) throw new Error(`.pre-commit-hooks.yaml: no hook ${hookId}`);
  // pre-commit matches `files` with Python's re.search; these patterns mean the same in JavaScript.
  const pattern = new RegExp(hook.files);
  const files = stagedFiles.filter((file) => pattern.test(file));
  const [command, ...entryArgs] = hook.entry.split(/\s+/);
  const result = await run(command!, [...entryArgs, ...(options.args ?? hook.args ?? []), ...files], { cwd: options.cwd, env: baseEnvironment(options.bin) });
  return { ...result, files };
}

/** A bin folder whose `podpatterns` runs `cli`, for hooks run against a CLI that is not installed. */
export async function binFolderFor(cli: readonly string[]): Promise<{ bin: string; remove: () => Promise<void> }> {
  const directory = await mkdtemp(join(tmpdir(), 'podpatterns-bin-'));
  await writeExecutable(join(directory, 'podpatterns'), `#!/usr/bin/env bash\nexec ${cli.map(quote).join(' ')} "$@"\n`);
  return { bin: directory, remove: () => rm(directory, { recursive: true, force: true }) };
}

/** PATH with `bin` first; nothing else from the test's environment but HOME and the npm cache. */
function baseEnvironment(bin: string): NodeJS.ProcessEnv {
  return {
    PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`,
    HOME: process.env.HOME ?? tmpdir(),
    NO_COLOR: '1',
    ...(process.env.npm_config_cache && { npm_config_cache: process.env.npm_config_cache }),
  };
}

async function writeExecutable(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text.endsWith('\n') ? text : `${text}\n`);
  await chmod(path, 0o755);
}

/** Single-quotes a word for bash. */
function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function run(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<RunResult> {
  return outputOf(spawn(command, [...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] }));
}
