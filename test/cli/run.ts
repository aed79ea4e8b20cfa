import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { outputOf } from '../support/process.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
const TSX = pathToFileURL(`${REPO}node_modules/tsx/dist/loader.mjs`).href;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real entry point (`src/cli/bin.ts` through tsx) as a child process. */
export function runCli(args: readonly string[], options: { cwd?: string; input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const env = { ...process.env, ...options.env };
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], { cwd: options.cwd ?? REPO, env, stdio: 'pipe' });
  const output = outputOf(child);
  child.stdin.end(options.input ?? '');
  return output;
}
