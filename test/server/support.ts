import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request, type AgentOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { MutationStep } from '../../src/admission/mutation-handler.js';
import { admissionWebhooks } from '../../src/admission/webhooks.js';
import { resolveServerConfig, type ServeFlags } from '../../src/config/server-config.js';
import type { Rule } from '../../src/engine/types.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { createLogger } from '../../src/server/logger.js';
import { startWebhookServer, type WebhookServer } from '../../src/server/webhook-server.js';

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** POSTs a body over real HTTPS, trusting `ca` only. */
export function post(
  url: string,
  body: string | Buffer,
  options: { ca: string | string[]; headers?: Record<string, string>; agent?: Agent } = { ca: [] },
): Promise<HttpsResponse> {
  return send(url, 'POST', body, options);
}

export function get(url: string, options: { ca: string | string[]; agent?: Agent }): Promise<HttpsResponse> {
  return send(url, 'GET', undefined, options);
}

function send(
  url: string,
  method: string,
  body: string | Buffer | undefined,
  options: { ca: string | string[]; headers?: Record<string, string>; agent?: Agent },
): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...(body !== undefined && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }), ...options.headers };
    let answered = false;
    const outgoing = request(url, { method, ca: options.ca, headers, ...(options.agent && { agent: options.agent }) }, (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
      });
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      // A server may answer (413) and close before the whole body is written: the answer still counts.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') setTimeout(() => (answered ? undefined : reject(error)), 200);
      else reject(error);
    });
    outgoing.end(body);
  });
}

export function keepAliveAgent(ca: string | string[], options: AgentOptions = {}): Agent {
  return new Agent({ keepAlive: true, ca, ...options });
}

/** Log lines a test can read back. */
export class LogLines extends Writable {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly lines: any[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') this.lines.push(JSON.parse(line));
    callback();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  find(predicate: (line: any) => boolean): any {
    return this.lines.find(predicate);
  }
}

export interface TestServer extends WebhookServer {
  ca: string;
  logs: LogLines;
  directory: string;
  stop(): Promise<void>;
}

/**
 * The real server in this process on free loopback ports, with a development certificate unless flags say
 * otherwise, fixed cluster versions and no drain delay; every rule and no mutation unless options say otherwise.
 */
export async function startTestServer(
  flags: ServeFlags = {},
  options: { rules?: readonly Rule[]; mutation?: MutationStep; ca?: string } = {},
): Promise<TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 'podpatterns-test-'));
  const config = resolveServerConfig(
    {
      host: '127.0.0.1',
      port: '0',
      metricsPort: '0',
      devCaFile: join(directory, 'dev-ca.pem'),
      kubernetesVersion: '1.35',
      minKubeletVersion: '1.35',
      shutdownDelay: '0s',
      logLevel: 'debug',
      ...flags,
    },
    {},
  );
  const logs = new LogLines();
  let server: WebhookServer;
  try {
    const webhooks = admissionWebhooks({ rules: options.rules ?? ALL_RULES, skipOnValidate: config.skipRules, ...(options.mutation && { mutation: options.mutation }) });
    server = await startWebhookServer({ config, logger: createLogger(config.logLevel, logs), webhooks });
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const ca = options.ca ?? server.developmentCa;
  if (ca === undefined) throw new Error('test server: give the CA of --tls-cert');
  return Object.assign(Object.create(null) as object, server, {
    ca,
    logs,
    directory,
    stop: async () => {
      await server.shutdown({ immediate: true });
      await rm(directory, { recursive: true, force: true });
    },
  }) as TestServer;
}

/** A policy that turns every rule off except the ones named (at their default severity unless given). */
export async function writePolicy(directory: string, enabled: Record<string, string | true>, rules: readonly Rule[] = ALL_RULES): Promise<string> {
  const lines = ['rules:'];
  for (const rule of rules) {
    const setting = enabled[rule.id];
    lines.push(`  ${rule.id}: ${setting === undefined ? 'off' : setting === true ? rule.defaultSeverity : setting}`);
  }
  const file = join(directory, `policy-${Date.now()}-${Math.random().toString(16).slice(2)}.yaml`);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

let uidCounter = 0;

export interface ReviewOptions {
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  oldObject?: unknown;
  dryRun?: boolean;
  uid?: string;
  apiVersion?: string;
  subResource?: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function admissionReview(object: any, options: ReviewOptions = {}): any {
  return {
    apiVersion: options.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: options.uid ?? `uid-${++uidCounter}`,
      kind: { group: object?.apiVersion?.includes('/') ? object.apiVersion.split('/')[0] : '', version: 'v1', kind: object?.kind ?? 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      ...(options.subResource !== undefined && { subResource: options.subResource }),
      namespace: 'default',
      name: object?.metadata?.name,
      operation: options.operation ?? 'CREATE',
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters'] },
      object,
      oldObject: options.oldObject ?? null,
      dryRun: options.dryRun ?? false,
    },
  };
}

/** A pod whose two containers both declare `port` (a port-conflict), or distinct ports when `clash` is false. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function webPod(options: { clash?: boolean; labels?: Record<string, string>; containers?: number } = {}): any {
  const clash = options.clash ?? true;
  const containers = [
    { name: 'app', image: 'registry.example.com/web:1.4.2', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '100m', memory: '64Mi' } } },
    {
      name: 'metrics-proxy',
      image: 'registry.example.com/metrics-proxy:0.9.0',
      ports: [{ containerPort: clash ? 8080 : 9090 }],
      resources: { requests: { cpu: '10m', memory: '16Mi' } },
    },
  ];
  for (let index = 2; index < (options.containers ?? 2); index++) {
    containers.push({
      name: `helper-${index}`,
      image: `registry.example.com/helper-${index}:1.0.${index}`,
      ports: [{ containerPort: 10_000 + index }],
      resources: { requests: { cpu: '10m', memory: '16Mi' } },
    });
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', ...(options.labels && { labels: options.labels }) },
    spec: { containers },
  };
}

export interface ServeProcess {
  url: string;
  metricsUrl: string;
  ca: string;
  child: ChildProcess;
  /** Every JSON log line the process wrote so far. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  logs: any[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));

/** How spawnServe runs the CLI: by default the entry point of the sources, through tsx, from the repository. */
export interface ServeCommand {
  /** The command line before `serve` (an installed `podpatterns` bin, say). */
  cli?: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** `podpatterns serve` as a real process, on free loopback ports; needs log level info or lower (the "serving" line names the ports). */
export async function spawnServe(args: string[] = [], command: ServeCommand = {}): Promise<ServeProcess> {
  const directory = await mkdtemp(join(tmpdir(), 'podpatterns-serve-'));
  const caFile = join(directory, 'dev-ca.pem');
  const [executable, ...before] = command.cli ?? [process.execPath, '--import', 'tsx', 'src/cli/main.ts'];
  const child = spawn(
    executable!,
    [...before, 'serve', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--dev-ca-file', caFile, '--kubernetes-version', '1.35', ...args],
    { cwd: command.cwd ?? REPOSITORY, stdio: ['ignore', 'pipe', 'pipe'], env: command.env ?? { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } },
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const logs: any[] = [];
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line));
    } catch {
      logs.push({ msg: line });
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const serving = new Promise<{ url: string; metricsUrl: string }>((resolve, reject) => {
    const poll = setInterval(() => {
      const line = logs.find((entry) => entry.msg === 'podpatterns webhook serving');
      if (line) {
        clearInterval(poll);
        resolve(line);
      }
    }, 20);
    void exited.then(({ code }) => {
      clearInterval(poll);
      reject(new Error(`podpatterns serve exited with ${code} before serving: ${stderr}`));
    });
  });
  let listening: { url: string; metricsUrl: string };
  try {
    listening = await serving;
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  return {
    url: listening.url,
    metricsUrl: listening.metricsUrl,
    ca: await readFile(caFile, 'utf8'),
    child,
    logs,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await rm(directory, { recursive: true, force: true });
    },
  };
}
