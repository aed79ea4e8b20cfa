import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { E2eCluster } from '../support/cluster.js';
import { REPO_ROOT } from '../support/settings.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `podpatterns <args>` as a user runs it: the run's CLI entry point in a child process, no KUBECONFIG inherited. */
export function runPodpatterns(cluster: E2eCluster, args: readonly string[]): Promise<CliRun> {
  const entry = cluster.podpatternsEntry;
  const runner = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const env = { ...process.env };
  for (const name of ['KUBECONFIG', 'NO_COLOR', 'FORCE_COLOR', 'KUBERNETES_SERVICE_HOST']) delete env[name];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...runner, entry, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The fields of an audit.k8s.io/v1 Event that show how a client listed. */
export interface RequestRecord {
  stage: string;
  requestReceivedTimestamp: string;
  verb: string;
  requestURI: string;
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string };
}

/** The requests the API server's audit log recorded as received at or after `since`. */
export async function recordedRequests(auditLog: string, since: Date): Promise<RequestRecord[]> {
  const text = await readFile(auditLog, 'utf8');
  return text
    .split('\n')
    .flatMap((line) => (line.trim() === '' ? [] : [JSON.parse(line) as RequestRecord]))
    .filter((event) => event.stage === 'ResponseComplete' && new Date(event.requestReceivedTimestamp) >= since);
}
