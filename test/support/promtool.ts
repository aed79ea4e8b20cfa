import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './helm.js';

const BUILD_SCRIPT = join(REPO_ROOT, 'test/support/build-promtool.sh');

export type Promtool = { path: string } | { unavailable: string };

/**
 * promtool, built from Go modules on first use by build-promtool.sh (minutes on a cold machine; its progress
 * goes to stderr) and cached outside the clone. Where it cannot be built the answer says why, so a test can
 * skip with that reason; under CI it must build, and a failure throws.
 */
export function promtool(): Promise<Promtool> {
  return new Promise((resolve, reject) => {
    const build = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    build.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    build.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      process.stderr.write(chunk);
    });
    const fail = (reason: string) => (process.env.CI ? reject(new Error(`${BUILD_SCRIPT}: ${reason}`)) : resolve({ unavailable: reason }));
    build.once('error', (error) => fail(`cannot run: ${error.message}`));
    build.once('exit', (code) => {
      const path = stdout.trimEnd().split('\n').pop();
      if (code === 0 && path) resolve({ path });
      else fail(stderr.trimEnd().split('\n').findLast((line) => line.includes('ERROR: '))?.replace(/^.*ERROR: /, '') ?? `exited ${code}`);
    });
  });
}

export interface PromtoolResult {
  code: number;
  output: string;
}

const execFileAsync = promisify(execFile);

/** Runs promtool; never throws for a non-zero exit, so tests can show what it printed. */
export async function runPromtool(path: string, args: readonly string[]): Promise<PromtoolResult> {
  try {
    const { stdout, stderr } = await execFileAsync(path, [...args], { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}
