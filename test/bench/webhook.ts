/**
 * Benchmark of `podpatterns serve` /validate against a bare node:https server that only parses the same
 * AdmissionReviews and answers allowed, both started as real processes over HTTPS on loopback and driven by
 * autocannon: maximum throughput, latency at a fixed 500 req/s, and the server's resident memory.
 *
 *   npx tsx test/bench/webhook.ts
 *
 * Goals: ≥ 0.8 of the bare server's throughput, p99 ≤ 5 ms at 500 req/s, RSS ≤ 100 MiB.
 *
 * A third server, podpatterns with every rule off, separates the cost of the server (TLS, routing, decoding,
 * answers, metrics) from the cost of the rules. Beside req/s, each server's own CPU time per request: on a small
 * machine autocannon shares the cores with the server, so req/s measures contention too, and CPU per request less so.
 *
 * Last, the hop as the API server makes it: Go's net/http client (api-server-client/main.go, built with the
 * `go` on PATH; skipped without one) calls podpatterns and a bare server over HTTP/1.1 and HTTP/2 at
 * API_SERVER_RATE calls a second, open loop. What bench:e2e measures through a real API server minus this is
 * the API server's own admission work.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { ALL_RULES } from '../../src/rules/index.js';
import { generateCertificates } from '../../src/tls/certificates.js';
import { SHIPPED_NODE_FLAGS } from '../support/shipped.js';
import { review } from './reviews.js';

const CONTAINER_COUNTS = [1, 3, 8];
/**
 * Before anything is measured, every server answers reviews of every size for this long: V8 optimizes a function
 * after some thousands of calls, and a webhook in a cluster answers warm. With 0.5 s at one size, the first size
 * measured caught podpatterns' rules half optimized: about 105 µs of CPU per 1-container review instead of about
 * 70 once warm, while bare's did not move.
 */
const STEADY_STATE_SECONDS = 3;
/** Before each size's rounds: the connections are opened again, and the body's size is new to the server. */
const WARMUP_SECONDS = 0.5;
const THROUGHPUT_ROUNDS = 3;
const THROUGHPUT_SECONDS = 1;
const LATENCY_SECONDS = 2;
const FIXED_RATE = 500;
const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The comparison point: TLS, HTTP, JSON in and out, nothing else. Plain JavaScript, run by node itself, with its
 * file as argument 1: `https` (node:https, HTTP/1.1) or `http2` (node:http2 with HTTP/1.1 too, as podpatterns
 * serves; Nagle's algorithm off, as podpatterns sets it), for the Go client's HTTP/2 calls.
 */
const BARE_SERVER = `
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { createSecureServer } from 'node:http2';
const [protocol, certFile, keyFile] = process.argv.slice(2);
const options = { cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' };
const answer = (request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const body = JSON.stringify({ apiVersion: review.apiVersion, kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });
};
const server = protocol === 'http2' ? createSecureServer({ ...options, allowHTTP1: true }, answer) : createServer(options, answer);
if (protocol === 'http2') server.on('secureConnection', (socket) => socket.setNoDelay(true));
server.keepAliveTimeout = 120000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'bare server listening', port: server.address().port })));
process.on('SIGTERM', () => process.exit(0));
`;

/** Calls a second from the Go client: bench:e2e's open-loop rate. */
const API_SERVER_RATE = 200;
const API_SERVER_SECONDS = 5;

/**
 * Compiles podpatterns as \`npm run build\` does, so the server runs as shipped (no TypeScript loader in
 * its memory or on its hot path). Under .cache/ so its imports resolve to the repository's node_modules.
 */
async function build(): Promise<string> {
  const root = join(REPOSITORY, '.cache', 'bench');
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  await copyFile(join(REPOSITORY, 'package.json'), join(root, 'package.json'));
  const tsc = spawnSync(process.execPath, [join(REPOSITORY, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', join(root, 'dist')], {
    cwd: REPOSITORY,
    stdio: 'inherit',
  });
  const main = join(root, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`tsc did not produce ${main} (exit ${tsc.status})`);
  return main;
}

interface Started {
  name: string;
  child: ChildProcess;
  url: string;
}

function start(name: string, args: string[], ready: (line: Record<string, unknown>) => string | undefined): Promise<Started> {
  const child = spawn(process.execPath, args, { cwd: REPOSITORY, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code} before listening`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      const url = ready(parsed);
      if (url !== undefined) resolve({ name, child, url });
    });
  });
}

/** CPU time (user + system) a process has used so far, in µs (Linux /proc; clock ticks of 10 ms). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** Resident memory of a process now and at its peak, in MiB (Linux /proc). */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

function load(url: string, body: string, options: Partial<autocannon.Options>): Promise<autocannon.Result> {
  return autocannon({ url: `${url}/validate`, method: 'POST', body, headers: { 'content-type': 'application/json' }, ...options });
}

interface Row {
  containers: number;
  server: string;
  throughput: number;
  /** The server's own CPU time per request over the throughput rounds, in µs: steadier than req/s on a shared machine. */
  cpuPerRequest: number;
  p50: number;
  p99: number;
  peakRss: number;
  errors: number;
}

/**
 * Throughput is the best of short rounds that alternate between the servers, so a burst of other work on a
 * shared machine lowers one round, not one server's figure.
 */
async function measure(servers: Started[], containers: number): Promise<Row[]> {
  const body = review(containers);
  const best = new Map<Started, number>();
  const errors = new Map<Started, number>(servers.map((server) => [server, 0]));
  const cpu = new Map<Started, { micros: number; requests: number }>(servers.map((server) => [server, { micros: 0, requests: 0 }]));
  for (const server of servers) await load(server.url, body, { connections: 8, duration: WARMUP_SECONDS });
  for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
    for (const server of servers) {
      const before = cpuMicros(server.child.pid!);
      const result = await load(server.url, body, { connections: 16, duration: THROUGHPUT_SECONDS });
      const used = cpu.get(server)!;
      used.micros += cpuMicros(server.child.pid!) - before;
      used.requests += result.requests.total;
      best.set(server, Math.max(best.get(server) ?? 0, result.requests.average));
      errors.set(server, errors.get(server)! + result.errors + result.non2xx);
    }
  }
  const rows: Row[] = [];
  for (const server of servers) {
    const fixed = await load(server.url, body, { connections: 8, duration: LATENCY_SECONDS, overallRate: FIXED_RATE });
    rows.push({
      containers,
      server: server.name,
      throughput: best.get(server)!,
      cpuPerRequest: cpu.get(server)!.micros / cpu.get(server)!.requests,
      p50: fixed.latency.p50,
      p99: fixed.latency.p99,
      peakRss: memory(server.child.pid!).peak,
      errors: errors.get(server)! + fixed.errors + fixed.non2xx,
    });
  }
  return rows;
}

/** The Go client built into `directory`, or why not. */
function buildApiServerClient(directory: string): { path: string } | { skipped: string } {
  const source = join(REPOSITORY, 'test', 'bench', 'api-server-client');
  const path = join(directory, 'api-server-client');
  const go = spawnSync('go', ['build', '-o', path, '.'], { cwd: source, encoding: 'utf8', env: { ...process.env, GOTOOLCHAIN: 'local' } });
  if (go.error) return { skipped: `no go on PATH (${go.error.message})` };
  if (go.status !== 0) return { skipped: `go build failed: ${go.stderr.trim().slice(0, 300)}` };
  return { path };
}

interface HopRow {
  containers: number;
  protocol: string;
  server: string;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  failures: number;
}

/** One run of the Go client against `url`. */
function hop(client: string, url: string, caFile: string, bodyFile: string, http2: boolean): Omit<HopRow, 'containers' | 'server'> {
  const run = spawnSync(client, ['-url', `${url}/validate`, '-ca', caFile, '-body', bodyFile, '-rate', String(API_SERVER_RATE), '-seconds', String(API_SERVER_SECONDS), `-http2=${http2}`], {
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`api-server-client against ${url} exited ${run.status}: ${run.stderr}`);
  const result = JSON.parse(run.stdout) as { protocol: string; p50: number; p90: number; p99: number; max: number; failures: number };
  return { protocol: result.protocol, p50: result.p50, p90: result.p90, p99: result.p99, max: result.max, failures: result.failures };
}

async function main(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'podpatterns-bench-'));
  const certFile = join(directory, 'tls.crt');
  const keyFile = join(directory, 'tls.key');
  const bundle = await generateCertificates({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  await writeFile(certFile, bundle.cert);
  await writeFile(keyFile, bundle.key);
  const caFile = join(directory, 'ca.crt');
  await writeFile(caFile, bundle.caCert);

  const bareFile = join(directory, 'bare-server.mjs');
  await writeFile(bareFile, BARE_SERVER);
  const main = await build();
  const noRules = join(directory, 'no-rules.yaml');
  await writeFile(noRules, `rules:\n${ALL_RULES.map((rule) => `  ${rule.id}: off\n`).join('')}`);
  const serve = (name: string, extra: string[]) =>
    start(
      name,
      [...SHIPPED_NODE_FLAGS, main, 'serve', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--tls-cert', certFile, '--tls-key', keyFile,
        '--kubernetes-version', '1.35', '--min-kubelet-version', '1.35', ...extra],
      (line) => (line.msg === 'podpatterns webhook serving' ? (line.url as string) : undefined),
    );
  const podpatterns = await serve('podpatterns', []);
  const serverOnly = await serve('podpatterns, rules off', ['--policy', noRules]);
  const bareListening = (line: Record<string, unknown>) => (line.msg === 'bare server listening' ? `https://127.0.0.1:${line.port as number}` : undefined);
  const bare = await start('bare node:https', [bareFile, 'https', certFile, keyFile], bareListening);
  const bareHttp2 = await start('bare node:http2', [bareFile, 'http2', certFile, keyFile], bareListening);

  const rows: Row[] = [];
  const hops: HopRow[] = [];
  const client = buildApiServerClient(directory);
  try {
    for (const server of [bare, serverOnly, podpatterns]) {
      for (const containers of CONTAINER_COUNTS) await load(server.url, review(containers), { connections: 8, duration: STEADY_STATE_SECONDS / CONTAINER_COUNTS.length });
    }
    for (const containers of CONTAINER_COUNTS) {
      rows.push(...(await measure([bare, serverOnly, podpatterns], containers)));
    }
    if ('path' in client) {
      for (const containers of CONTAINER_COUNTS) {
        const bodyFile = join(directory, `review-${containers}.json`);
        await writeFile(bodyFile, review(containers));
        for (const http2 of [false, true]) {
          for (const server of [http2 ? bareHttp2 : bare, podpatterns]) hops.push({ containers, server: server.name, ...hop(client.path, server.url, caFile, bodyFile, http2) });
        }
      }
    }
  } finally {
    for (const { child } of [podpatterns, serverOnly, bare, bareHttp2]) child.kill('SIGTERM');
    await rm(directory, { recursive: true, force: true });
    await rm(join(REPOSITORY, '.cache', 'bench'), { recursive: true, force: true });
  }

  const table = rows.map((row) => {
    const baseline = rows.find((other) => other.containers === row.containers && other.server === bare.name)!;
    return {
      containers: row.containers,
      server: row.server,
      'max req/s': Math.round(row.throughput),
      'vs bare': (row.throughput / baseline.throughput).toFixed(2),
      'CPU µs/req': Math.round(row.cpuPerRequest),
      'CPU vs bare': (baseline.cpuPerRequest / row.cpuPerRequest).toFixed(2),
      [`p50 ms @${FIXED_RATE}/s`]: row.p50,
      [`p99 ms @${FIXED_RATE}/s`]: row.p99,
      'peak RSS MiB': row.peakRss.toFixed(1),
      errors: row.errors,
    };
  });
  console.table(table);
  const serverLayer = rows.filter((row) => row.server === serverOnly.name);
  const ratioOf = (row: Row) => row.throughput / rows.find((other) => other.containers === row.containers && other.server === bare.name)!.throughput;
  console.log(`server alone (rules off) vs bare: worst ${Math.min(...serverLayer.map(ratioOf)).toFixed(2)}, p99 worst ${Math.max(...serverLayer.map((row) => row.p99))} ms`);
  const ours = rows.filter((row) => row.server === podpatterns.name);
  const worstRatio = Math.min(...ours.map((row) => row.throughput / rows.find((other) => other.containers === row.containers && other.server === bare.name)!.throughput));
  const worstP99 = Math.max(...ours.map((row) => row.p99));
  const peak = Math.max(...ours.map((row) => row.peakRss));
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  console.log(`throughput vs bare: worst ${worstRatio.toFixed(2)} (goal ≥ 0.80): ${verdict(worstRatio >= 0.8)}`);
  console.log(`p99 at ${FIXED_RATE} req/s: worst ${worstP99} ms (goal ≤ 5 ms): ${verdict(worstP99 <= 5)}`);
  console.log(`peak RSS: ${peak.toFixed(1)} MiB (goal ≤ 100 MiB): ${verdict(peak <= 100)}`);

  console.log('');
  if ('skipped' in client) {
    console.log(`the hop as the API server makes it (Go net/http client): skipped, ${client.skipped}`);
    return;
  }
  console.log(`the hop as the API server makes it: Go net/http client, ${API_SERVER_RATE} calls/s for ${API_SERVER_SECONDS} s, open loop (ms)`);
  console.table(
    hops.map((row) => {
      const baseline = hops.find((other) => other.containers === row.containers && other.protocol === row.protocol && other.server !== podpatterns.name)!;
      return {
        containers: row.containers,
        protocol: row.protocol,
        server: row.server,
        p50: row.p50.toFixed(2),
        p90: row.p90.toFixed(2),
        p99: row.p99.toFixed(2),
        max: row.max.toFixed(2),
        'p50 − bare': (row.p50 - baseline.p50).toFixed(2),
        'p99 − bare': (row.p99 - baseline.p99).toFixed(2),
        failures: row.failures,
      };
    }),
  );
}

await main();
