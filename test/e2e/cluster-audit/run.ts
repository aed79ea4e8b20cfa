import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import type { E2eCluster } from '../support/cluster.js';
import { REPO_ROOT } from '../support/settings.js';
import { outputOf } from '../../support/process.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `podpatterns <args>` as a user runs it: the run's CLI entry point in a child process, no KUBECONFIG inherited
 * (`env` adds variables).
 */
export function runPodpatterns(cluster: E2eCluster, args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return outputOf(spawnPodpatterns(cluster, args, env));
}

function spawnPodpatterns(cluster: E2eCluster, args: readonly string[], extra: Record<string, string>): ChildProcessByStdio<null, Readable, Readable> {
  const entry = cluster.podpatternsEntry;
  const runner = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const env = { ...process.env };
  for (const name of ['KUBECONFIG', 'NO_COLOR', 'FORCE_COLOR', 'KUBERNETES_SERVICE_HOST']) delete env[name];
  return spawn(process.execPath, [...runner, entry, ...args], { cwd: REPO_ROOT, env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A log line of `podpatterns serve`. */
export interface LogLine {
  msg: string;
  level: string;
  [field: string]: unknown;
}

/**
 * Starts `podpatterns serve` on free loopback ports with no version flags, so it reads the cluster's versions,
 * and stops it (SIGTERM) once it has logged what it found; returns its log lines up to then.
 */
export async function serveUntilVersionsRead(cluster: E2eCluster, directory: string, env: Record<string, string>): Promise<LogLine[]> {
  const args = ['serve', '--host=127.0.0.1', '--port=0', '--metrics-port=0', `--dev-ca-file=${directory}/dev-ca.pem`, '--shutdown-delay=0s'];
  const child = spawnPodpatterns(cluster, args, env);
  const lines: LogLine[] = [];
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let buffered = '';
  const found = new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, end)) as LogLine;
        buffered = buffered.slice(end + 1);
        lines.push(line);
        if (/cluster versions|no cluster configured/.test(line.msg)) resolve();
      }
    });
    void closed.then((code) => reject(new Error(`podpatterns serve exited (${code}) before reading versions: ${stderr}`)));
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`podpatterns serve logged nothing about cluster versions within 30s: ${JSON.stringify(lines)}`)), 30_000);
  });
  try {
    await Promise.race([found, timeout]);
  } finally {
    clearTimeout(timer);
    child.kill('SIGTERM');
    await closed;
  }
  return lines;
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
