/**
 * Pod creation through a real kube-apiserver in five setups, in one run: no admission check, podpatterns over
 * HTTP/1.1 and over HTTP/2 (`podpatterns serve` in enforce mode, webhook configuration from the chart), an
 * in-tree ValidatingAdmissionPolicy doing the port-conflict check in CEL (written by hand), and the compiled
 * policies (`podpatterns compile` for the API server's version, enforce mode, no webhook).

 * The API server offers HTTP/2 to a webhook only when its URL is a loopback address, and HTTP/1.1 otherwise
 * (k8s.io/apiserver pkg/util/webhook/client.go, isLocalHost): the HTTP/1.1 server is called at this machine's
 * own non-loopback address (the calls never leave the machine), the HTTP/2 one at 127.0.0.1. The connections the
 * API server holds to each are counted at the end, which shows the protocol it chose. Each setup creates --pods pods in its own
 * namespace over --rounds rounds that take turns, so a burst of other work on a shared machine hits all three
 * alike. Prints creates/s and p50/p99 create latency per setup.
 *
 * Closed loop by default: --concurrency creates in flight, as fast as the machine goes (on a small machine the
 * API server, etcd and the webhook share the CPU, so latency is mostly queueing and the figures compare CPU
 * cost). --rate N sends N creates per second instead (open loop), which shows the latency a create gets when
 * the machine is not saturated.
 *
 *   npx tsx test/e2e/bench.ts [--pods 2000] [--concurrency 16] [--rate 0] [--rounds 4] [--warmup 100] [--time-limit 900] [--compiled-rules id,…]
 *
 * Goal: podpatterns p99 ≤ 1.2 × the CEL policy's p99. E2E_PODPATTERNS_ENTRY runs another CLI build; by default
 * the repository is compiled as `npm run build` does, so the server runs as shipped.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { compilePolicies, type Compilation } from '../../src/cel/compile.js';
import type { MigrationPolicyObject } from '../../src/cel/migration-policy.js';
import { DEFAULT_RELEASE_NAMESPACE } from '../../src/cli/compile.js';
import { parseVersion } from '../../src/model/version.js';
import { defaultPolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { createPolicies, scopedPolicies } from './support/admission-policies.js';
import { portConflictBinding, portConflictPolicy } from './support/cel-port-conflict.js';
import { clientsFor, kubeConfigFor, RUN_LABEL, type Clients, type E2eCluster } from './support/cluster.js';
import { ensureBinaries, kubeconfigYaml, startControlPlane, type ControlPlane } from './support/control-plane.js';
import { conflictingContainers, pod } from './support/manifests.js';
import { get, waitFor } from './support/network.js';
import { PodpatternsServer } from './support/podpatterns.js';
import { SecretVolume, WebhookCa } from './support/serving-certificate.js';
import { readSettings, REPO_ROOT } from './support/settings.js';
import { applyConfigurations, renderConfigurations, renderPolicy } from './support/webhooks.js';

const { values: flags } = parseArgs({
  options: {
    pods: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '100' },
    rate: { type: 'string', default: '0' },
    'time-limit': { type: 'string', default: '900' },
    'compiled-rules': { type: 'string' },
  },
});
/** --compiled-rules port-conflict compiles that rule alone, to set one compiled rule beside the one hand-written policy. */
const COMPILED_RULES = flags['compiled-rules']?.split(',').map((id) => id.trim());
const unknownRules = (COMPILED_RULES ?? []).filter((id) => !ALL_RULES.some((rule) => rule.id === id));
if (unknownRules.length > 0) throw new Error(`--compiled-rules: no rule ${unknownRules.join(', ')}`);
const PODS = Number(flags.pods);
const CONCURRENCY = Number(flags.concurrency);
const ROUNDS = Number(flags.rounds);
const WARMUP = Number(flags.warmup);
const RATE = Number(flags.rate);
const DEADLINE = Date.now() + Number(flags['time-limit']) * 1000;
const GOAL = 1.2;
const COMPILED_GOAL = 1.05;

type SetupName = 'no webhook' | 'webhook h1' | 'webhook h2' | 'CEL policy' | 'compiled';

interface Setup {
  name: SetupName;
  namespace: string;
  latencies: number[];
  /** The number of latencies recorded at the end of each round. */
  roundEnds: number[];
  seconds: number;
  errors: string[];
}

/** A pod as a chart would write it: an app, a metrics sidecar and a log shipper, pinned images, requests. */
function benchPod(name: string): V1Pod {
  const resources = { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'shop' } },
    spec: {
      containers: [
        { name: 'app', image: 'registry.example.com/shop/app:2.3.1', ports: [{ name: 'http', containerPort: 8080 }], resources, readinessProbe: { httpGet: { path: '/ready', port: 8080 } } },
        { name: 'metrics', image: 'registry.example.com/shop/metrics:0.4.0', args: ['--listen=:9090'], ports: [{ name: 'metrics', containerPort: 9090 }], resources },
        { name: 'logs', image: 'fluent/fluent-bit:3.1.4', resources, volumeMounts: [{ name: 'logs', mountPath: '/var/log/app' }] },
      ],
      volumes: [{ name: 'logs', emptyDir: {} }],
    },
  };
}

/** POSTs pods with a keep-alive connection pool: the lightest client, so the API server and webhooks get the CPU. */
class PodPoster {
  private readonly agent: Agent;

  constructor(private readonly controlPlane: ControlPlane) {
    this.agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: controlPlane.ca });
  }

  post(namespace: string, body: V1Pod): Promise<{ status: number; text: string }> {
    const payload = JSON.stringify(body);
    const url = `${this.controlPlane.server}/api/v1/namespaces/${namespace}/pods`;
    const headers = { authorization: `Bearer ${this.controlPlane.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
    return new Promise((resolve, reject) => {
      const outgoing = request(url, { method: 'POST', agent: this.agent, headers }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        response.on('error', reject);
      });
      outgoing.on('error', reject);
      outgoing.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** One create; its latency counts from `due`, when it was meant to start, so a client-side backlog is not hidden. */
async function createOne(poster: PodPoster, setup: Setup, index: number, due: number, record: boolean): Promise<void> {
  if (Date.now() > DEADLINE) throw new Error(`time limit of ${flags['time-limit']} s reached`);
  const name = `pod-${index}`;
  const { status, text } = await poster.post(setup.namespace, benchPod(name));
  const latency = performance.now() - due;
  if (status !== 201) setup.errors.push(`${name}: HTTP ${status} ${text.slice(0, 300)}`);
  else if (record) setup.latencies.push(latency);
}

/** Closed loop: CONCURRENCY creates in flight, each starting when one ends. */
async function createPods(poster: PodPoster, setup: Setup, first: number, count: number, record: boolean): Promise<void> {
  const started = performance.now();
  if (RATE > 0) await createPaced(poster, setup, first, count, record);
  else {
    let next = first;
    const worker = async () => {
      while (next < first + count) await createOne(poster, setup, next++, performance.now(), record);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }
  if (record) setup.seconds += (performance.now() - started) / 1000;
}

/** Open loop: RATE creates per second whatever the answers take, at most CONCURRENCY in flight. */
async function createPaced(poster: PodPoster, setup: Setup, first: number, count: number, record: boolean): Promise<void> {
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let offset = 0; offset < count; offset++) {
    const due = started + (offset * 1000) / RATE;
    if (due > performance.now()) await sleep(due - performance.now());
    if (inFlight.size >= CONCURRENCY) await Promise.race(inFlight);
    const create: Promise<void> = createOne(poster, setup, first + offset, due, record).finally(() => inFlight.delete(create));
    inFlight.add(create);
  }
  await Promise.all(inFlight);
}

/** Compiles podpatterns as `npm run build` does, under .cache so its imports resolve to the repository's node_modules. */
async function buildPodpatterns(): Promise<string> {
  const root = join(REPO_ROOT, '.cache', 'e2e', 'build');
  await rm(join(root, 'dist'), { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  // dist/cli/main.js reads its version from ../../package.json.
  await copyFile(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
  const tsc = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', join(root, 'dist')], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.build.json exited ${tsc.status}`);
  return join(root, 'dist', 'cli', 'main.js');
}

/** Waits until a conflicting pod gets the setup's verdict (admission configuration is read through informers). */
async function untilVerdict(clients: Clients, setup: Setup, denied: boolean): Promise<void> {
  await waitFor(`${setup.name} ${denied ? 'denies' : 'admits'} a port conflict`, async () => {
    try {
      await clients.core.createNamespacedPod({ namespace: setup.namespace, body: pod('probe', conflictingContainers()), dryRun: 'All' });
      return denied ? undefined : true;
    } catch (error) {
      if (!denied) throw error;
      return true;
    }
  });
}

/**
 * What `podpatterns compile --kubernetes-version <the API server's>` prints: the default policy in enforce mode
 * (with --compiled-rules, every other rule turned off).
 */
function compiledPolicies(gitVersion: string): Compilation {
  const version = parseVersion(gitVersion);
  if (!version) throw new Error(`cannot read the API server version ${gitVersion}`);
  const policy = defaultPolicy(ALL_RULES);
  const rules = COMPILED_RULES
    ? Object.fromEntries(Object.entries(policy.rules).map(([id, settings]) => [id, { ...settings, enabled: COMPILED_RULES.includes(id) }]))
    : policy.rules;
  return compilePolicies(ALL_RULES, { ...policy, rules }, {
    kubernetesVersion: version,
    minKubeletVersion: version,
    mode: 'enforce',
    releaseNamespace: DEFAULT_RELEASE_NAMESPACE,
    excludedNamespaces: [],
  });
}

/** This machine's first non-loopback IPv4 address: a webhook URL the API server calls over HTTP/1.1 only. */
function ownAddress(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((candidate) => candidate !== undefined && candidate.family === 'IPv4' && !candidate.internal);
  if (address === undefined) throw new Error('no non-loopback IPv4 address: the HTTP/1.1 setup needs one (the API server uses HTTP/2 for loopback URLs)');
  return address.address;
}

/** Established TCP connections to a local port (Linux /proc/net/tcp): one for HTTP/2, a pool for HTTP/1.1. */
function establishedTo(port: number): number {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => {
      const [, localAddress, , state] = line.trim().split(/\s+/);
      return localAddress?.endsWith(local) === true && state === '01';
    }).length;
}

/** The p99 of each round of `setup`. */
function roundP99s(setup: Setup): number[] {
  return setup.roundEnds.map((end, round) => percentile(setup.latencies.slice(setup.roundEnds[round - 1] ?? 0, end).sort((a, b) => a - b), 0.99));
}

/** The p99 ratio of `setup` to `cel` in each round: the rounds alternate the setups, so each pair ran close together. */
function roundRatios(setup: Setup, cel: Setup): number[] {
  const theirs = roundP99s(cel);
  return roundP99s(setup).map((p99, round) => p99 / theirs[round]!);
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? Number.NaN;
}

/**
 * The smallest bucket bounds of a Prometheus histogram that hold 50% and 99% of the observations, summed over
 * the series whose labels contain every `labels` pair.
 */
function histogramQuantiles(metrics: string, name: string, labels: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`) || !labels.every((label) => line.includes(label))) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le !== undefined) counts.set(le, (counts.get(le) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  const buckets = [...counts].sort(([a], [b]) => Number(a) - Number(b));
  const total = buckets.at(-1)?.[1] ?? 0;
  const bound = (fraction: number) => buckets.find(([, count]) => count >= fraction * total)?.[0] ?? '?';
  return `${total} observed, p50 ≤ ${bound(0.5)} s, p99 ≤ ${bound(0.99)} s`;
}

/**
 * prom-client's event loop figures are the intervals of a 10 ms timer (monitorEventLoopDelay, its default
 * eventLoopMonitoringPrecision), each recorded whole: an idle process shows a p99 of about 10.3 ms. How late the
 * timer ran is the interval less its 10 ms.
 */
const EVENT_LOOP_SAMPLING_SECONDS = 0.01;

function lateBy(intervalSeconds: number): string {
  return Math.max(0, (intervalSeconds - EVENT_LOOP_SAMPLING_SECONDS) * 1000).toFixed(1);
}

/** Where the time goes: podpatterns' own handling, and the API server's view of the webhook call and of its CEL plugin. */
async function timeBreakdown(server: PodpatternsServer, controlPlane: ControlPlane): Promise<string[]> {
  const own = (await get(`http://${server.host}:${server.metricsPort}/metrics`)).body;
  const apiserver = (await get(`${controlPlane.server}/metrics`, { ca: controlPlane.ca, headers: { authorization: `Bearer ${controlPlane.token}` }, timeoutMs: 10_000 })).body;
  const sample = (name: string) => Number(own.split('\n').find((line) => line.startsWith(`${name} `))?.split(' ')[1] ?? Number.NaN);
  return [
    `${server.name}:`,
    `podpatterns handling a review:        ${histogramQuantiles(own, 'podpatterns_admission_duration_seconds', ['webhook="validate"'])}`,
    `podpatterns event loop (since start): late by p99 ${lateBy(sample('nodejs_eventloop_lag_p99_seconds'))} ms, max ${lateBy(sample('nodejs_eventloop_lag_max_seconds'))} ms; GC ${histogramQuantiles(own, 'nodejs_gc_duration_seconds', [])}`,
    `API server calling the webhooks:      ${histogramQuantiles(apiserver, 'apiserver_admission_webhook_admission_duration_seconds', ['name="enforce.validate.podpatterns.io"'])} (both servers)`,
    // The whole admission plugin, every pod create of the run included (the policy binds only one namespace).
    `ValidatingAdmissionPolicy plugin:     ${histogramQuantiles(apiserver, 'apiserver_admission_controller_admission_duration_seconds', ['name="ValidatingAdmissionPolicy"', 'operation="CREATE"'])}`,
  ];
}

function report(setups: Setup[]): void {
  const rows = setups.map((setup) => {
    const sorted = [...setup.latencies].sort((a, b) => a - b);
    return { setup, rate: setup.latencies.length / setup.seconds, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
  });
  const base = rows[0]!;
  const load = RATE > 0 ? `${RATE} creates/s (at most ${CONCURRENCY} in flight)` : `${CONCURRENCY} in flight`;
  console.log(`\n${PODS} pods per setup, ${load}, ${ROUNDS} rounds; latency of one create in ms\n`);
  console.log(`${'setup'.padEnd(12)} ${'creates/s'.padStart(10)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'rate/none'.padStart(10)} ${'p99/none'.padStart(9)} errors`);
  for (const { setup, rate, p50, p99 } of rows) {
    console.log(
      `${setup.name.padEnd(12)} ${rate.toFixed(0).padStart(10)} ${p50.toFixed(1).padStart(8)} ${p99.toFixed(1).padStart(8)} ${(rate / base.rate).toFixed(2).padStart(10)} ${(p99 / base.p99).toFixed(2).padStart(9)} ${setup.errors.length}`,
    );
  }
  const cel = rows.find((row) => row.setup.name === 'CEL policy')!;
  console.log('');
  for (const row of rows.filter((entry) => entry.setup.name.startsWith('webhook') || entry.setup.name === 'compiled')) {
    const goal = row.setup.name === 'compiled' ? COMPILED_GOAL : GOAL;
    const ratio = row.p99 / cel.p99;
    console.log(`${row.setup.name}: p99 / CEL p99 = ${ratio.toFixed(2)} (goal ≤ ${goal}): ${ratio <= goal ? 'met' : 'NOT met'}; p50 / CEL p50 = ${(row.p50 / cel.p50).toFixed(2)}; creates/s / CEL = ${(row.rate / cel.rate).toFixed(2)}`);
    const rounds = roundRatios(row.setup, cel.setup);
    if (rounds.length > 1) console.log(`  round by round (each setup's round ran next to the others'): p99 / CEL p99 ${rounds.map((value) => value.toFixed(2)).join(' ')}; ${rounds.filter((value) => value <= goal).length} of ${rounds.length} within the goal`);
  }
  const noneRounds = roundP99s(rows[0]!.setup);
  if (noneRounds.length > 1) console.log(`no webhook, p99 by round: ${noneRounds.map((value) => value.toFixed(1)).join(' ')} ms: how much the machine alone moves a p99`);
  for (const setup of setups) for (const error of setup.errors.slice(0, 3)) console.log(`  ${setup.name}: ${error}`);
}

async function main(): Promise<void> {
  const settings = readSettings();
  const runId = randomBytes(3).toString('hex');
  const directory = await mkdtemp(join(tmpdir(), 'podpatterns-bench-e2e-'));
  let controlPlane: ControlPlane | undefined;
  const servers: PodpatternsServer[] = [];
  let poster: PodPoster | undefined;
  try {
    const entry = settings.podpatternsEntryGiven ? settings.podpatternsEntry : await buildPodpatterns();
    controlPlane = await startControlPlane({ binaries: await ensureBinaries(), directory: join(directory, 'control-plane') });
    const kubeconfigFile = join(directory, 'kubeconfig');
    await writeFile(kubeconfigFile, kubeconfigYaml(controlPlane), { mode: 0o600 });
    await mkdir(join(directory, 'pids'));
    const cluster: E2eCluster = {
      runId,
      runDirectory: directory,
      pidDirectory: join(directory, 'pids'),
      local: true,
      kubeconfigFile,
      access: { server: controlPlane.server, ca: controlPlane.ca, token: controlPlane.token },
      kubernetesVersion: controlPlane.version,
      webhookHost: '127.0.0.1',
      listenHost: '127.0.0.1',
      podpatternsEntry: entry,
    };
    const clients = clientsFor(kubeConfigFor(cluster));
    const setup = (name: SetupName, namespace: string): Setup => ({ name, namespace, latencies: [], roundEnds: [], seconds: 0, errors: [] });
    const none = setup('no webhook', 'bench-none');
    const cel = setup('CEL policy', 'bench-cel');
    const compiled = setup('compiled', 'bench-compiled');
    const webhooks = [
      { setup: setup('webhook h1', 'bench-h1'), host: ownAddress(), release: 'podpatterns-h1' },
      { setup: setup('webhook h2', 'bench-h2'), host: '127.0.0.1', release: 'podpatterns-h2' },
    ];
    const setups = [none, ...webhooks.map((webhook) => webhook.setup), cel, compiled];
    for (const [index, { setup: { namespace }, release }] of webhooks.entries()) {
      // The chart's webhooks are scoped to namespaces with the run label: each release's run id labels its namespace.
      const webhookCluster: E2eCluster = { ...cluster, runId: `${runId}-${index}`, webhookHost: webhooks[index]!.host, listenHost: webhooks[index]!.host };
      await clients.core.createNamespace({ body: { metadata: { name: namespace, labels: { [RUN_LABEL]: webhookCluster.runId } } } });
      const ca = await WebhookCa.create(webhookCluster.webhookHost);
      const tls = new SecretVolume(join(directory, `${release}-tls`));
      await tls.write(await ca.issue());
      const values = { webhook: { failurePolicy: 'Fail', timeoutSeconds: 10 }, validation: { mode: 'audit', namespaces: { enforce: [namespace] } } };
      const policyFile = join(directory, `${release}-policy.yaml`);
      await writeFile(policyFile, await renderPolicy(webhookCluster, directory, release, values));
      const server = await PodpatternsServer.start({ name: release, cluster: webhookCluster, directory, tls, ca: ca.cert, policyFile });
      servers.push(server);
      const url = `https://${webhookCluster.webhookHost}:${server.port}`;
      await applyConfigurations(clients, webhookCluster, await renderConfigurations(webhookCluster, directory, { release, url, caBundle: ca.caBundle, values }));
    }
    for (const { namespace } of [none, cel, compiled]) await clients.core.createNamespace({ body: { metadata: { name: namespace } } });
    await clients.admission.createValidatingAdmissionPolicy({ body: portConflictPolicy('port-conflict', runId) });
    await clients.admission.createValidatingAdmissionPolicyBinding({ body: portConflictBinding('port-conflict', runId, cel.namespace) });
    const compilation = compiledPolicies(controlPlane.version);
    await createPolicies(clients, scopedPolicies(compilation.objects as MigrationPolicyObject[], { suffix: '', namespaces: [compiled.namespace], runId }));
    console.log(`compiled policies: ${compilation.objects.filter((object) => object.kind === 'ValidatingAdmissionPolicy').length} ValidatingAdmissionPolicies for ${compilation.compiled.length} rules (${compilation.compiled.join(', ')})`);
    await untilVerdict(clients, none, false);
    for (const checked of setups.slice(1)) await untilVerdict(clients, checked, true);

    poster = new PodPoster(controlPlane);
    for (const setup of setups) await createPods(poster, setup, 0, WARMUP, false);
    const perRound = Math.ceil(PODS / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      const count = Math.min(perRound, PODS - round * perRound);
      for (let turn = 0; turn < setups.length; turn++) {
        const setup = setups[(round + turn) % setups.length]!;
        await createPods(poster, setup, WARMUP + round * perRound, count, true);
        setup.roundEnds.push(setup.latencies.length);
      }
    }
    report(setups);
    for (const server of servers) console.log(`${server.name}: the API server holds ${establishedTo(server.port)} connections to it`);
    for (const server of servers) for (const line of await timeBreakdown(server, controlPlane)) console.log(line);
  } finally {
    poster?.close();
    for (const server of servers) await server.stop();
    await controlPlane?.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

await main();
