import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface ProcessOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** What a child process wrote to stdout and stderr, and its exit code, once it has closed; rejects when it cannot start. */
export function outputOf(child: Pick<ChildProcess, 'on'> & { stdout: Readable; stderr: Readable }): Promise<ProcessOutput> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code: number | null) => resolve({ code, stdout, stderr }));
  });
}
