/**
 * Throughput of `podpatterns audit` on a generated corpus of ≥ 50k workloads (~1.1 KB each), read once as
 * multi-document YAML files and once as one JSON List, next to the cost of the parsers alone on the same
 * input. Run: npx tsx test/bench/audit.ts [objects]   (profile: node --cpu-prof --import tsx test/bench/audit.ts)
 */
import { dump, loadAll } from 'js-yaml';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { NEWEST_KNOWN_VERSION } from '../../src/model/version.js';
import { defaultPolicy } from '../../src/policy/policy.js';
import { auditPaths, type AuditReport, type AuditSettings } from '../../src/report/audit.js';
import { renderJson } from '../../src/report/json.js';
import { ALL_RULES } from '../../src/rules/index.js';

const OBJECTS = Number(process.argv[2] ?? 50_000);
const FILES = 50;
/** yaml's Document API is an order of magnitude slower: it is timed on a slice and reported per object. */
const YAML_PACKAGE_SAMPLE = 0.1;

/** Deterministic, so runs compare. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const next = random(42);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;

const APPS = ['checkout', 'cart', 'catalog', 'payments', 'search', 'ledger', 'mailer', 'reports', 'billing', 'gateway'];
const SIDECARS = [
  { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.22.3', port: 15090 },
  { name: 'log-shipper', image: 'cr.fluentbit.io/fluent/fluent-bit:3.0.7', port: 2020 },
  { name: 'metrics', image: 'quay.io/prometheus/statsd-exporter:v0.26.1', port: 9102 },
  { name: 'config-reloader', image: 'ghcr.io/jimmidyson/configmap-reload:v0.13.1', port: 9533 },
];

function container(name: string, image: string, port: number, withResources: boolean, main: boolean): Record<string, unknown> {
  return {
    name,
    image,
    ports: [{ name: 'http', containerPort: port }],
    ...(main && { env: [{ name: 'LOG_LEVEL', value: 'info' }], readinessProbe: { httpGet: { path: '/ready', port } } }),
    ...(withResources && { resources: { requests: { cpu: '100m', memory: '128Mi' } } }),
  };
}

/** 1–4 containers; about a third of the objects carry something a rule reports. */
function podSpec(app: string, index: number, kind: string): Record<string, unknown> {
  const flawed = next() < 0.33;
  const tag = flawed && next() < 0.3 ? 'latest' : `1.${index % 40}.${index % 7}`;
  const containers = [container(app, `registry.example.com/shop/${app}:${tag}`, 8080, true, true)];
  const sidecars = Math.floor(next() * 4);
  for (let i = 0; i < sidecars; i++) {
    const sidecar = SIDECARS[i]!;
    const clash = flawed && i === 0 && next() < 0.2;
    containers.push(container(sidecar.name, sidecar.image, clash ? 8080 : sidecar.port, !flawed || next() < 0.5, false));
  }
  return {
    serviceAccountName: app,
    ...(kind === 'Job' ? { restartPolicy: 'Never' } : {}),
    containers,
    volumes: [{ name: 'tmp', emptyDir: flawed && next() < 0.3 ? { medium: 'Memory' } : {} }],
  };
}

function workload(index: number): Record<string, unknown> {
  const app = pick(APPS);
  const kind = pick(['Deployment', 'Deployment', 'Deployment', 'Job', 'Pod']);
  const metadata = {
    name: `${app}-${index}`,
    namespace: `team-${index % 25}`,
    labels: { 'app.kubernetes.io/name': app, 'app.kubernetes.io/instance': `${app}-${index}` },
  };
  const template = { metadata: { labels: { 'app.kubernetes.io/name': app } }, spec: podSpec(app, index, kind) };
  if (kind === 'Pod') return { apiVersion: 'v1', kind, metadata, spec: template.spec };
  if (kind === 'Job') return { apiVersion: 'batch/v1', kind, metadata, spec: { backoffLimit: 2, template } };
  return { apiVersion: 'apps/v1', kind, metadata, spec: { replicas: 3, selector: { matchLabels: { 'app.kubernetes.io/name': app } }, template } };
}

async function writeCorpus(directory: string): Promise<{ yamlDirectory: string; jsonFile: string; bytes: number }> {
  const objects = Array.from({ length: OBJECTS }, (_, index) => workload(index));
  const yamlDirectory = join(directory, 'yaml');
  await mkdir(yamlDirectory);
  const perFile = Math.ceil(OBJECTS / FILES);
  let bytes = 0;
  for (let file = 0; file < FILES; file++) {
    const slice = objects.slice(file * perFile, (file + 1) * perFile);
    const text = slice.map((object) => `---\n# Source: shop/templates/workload-${file}.yaml\n${dump(object)}`).join('');
    bytes += text.length;
    await writeFile(join(yamlDirectory, `chart-${String(file).padStart(2, '0')}.yaml`), text);
  }
  const jsonFile = join(directory, 'cluster.json');
  await writeFile(jsonFile, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2));
  return { yamlDirectory, jsonFile, bytes };
}

interface Timed<T> {
  result: T;
  seconds: number;
  /** CPU time of the process (all threads): steadier than wall time on a shared machine. */
  cpuSeconds: number;
}

function time<T>(run: () => T): Timed<T> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const result = run();
  const used = process.cpuUsage(cpu);
  return { result, seconds: (performance.now() - start) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

async function timeAsync<T>(run: () => Promise<T>): Promise<Timed<T>> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const result = await run();
  const used = process.cpuUsage(cpu);
  return { result, seconds: (performance.now() - start) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

const perSecond = (objects: number, seconds: number): string => Math.round(objects / seconds).toLocaleString('en-US').padStart(9);
const rate = (objects: number, timed: Timed<unknown>): string =>
  `${perSecond(objects, timed.seconds)} objects/s wall ${perSecond(objects, timed.cpuSeconds)} objects/CPU-s`;

async function main(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'podpatterns-bench-'));
  try {
    const { yamlDirectory, jsonFile, bytes } = await writeCorpus(directory);
    const settings: AuditSettings = {
      context: { kubernetesVersion: NEWEST_KNOWN_VERSION, minKubeletVersion: NEWEST_KNOWN_VERSION },
      policy: defaultPolicy(ALL_RULES),
      rules: ALL_RULES,
    };
    const noStdin = (): Promise<string> => Promise.reject(new Error('no standard input in the benchmark'));
    const audit = async (path: string): Promise<AuditReport> => {
      const report = await auditPaths([path], settings, noStdin);
      renderJson(report);
      return report;
    };
    console.log(`corpus: ${OBJECTS.toLocaleString('en-US')} objects, ${(bytes / OBJECTS / 1024).toFixed(2)} KB each as YAML, ${ALL_RULES.length} rules`);

    // Warm-up on a slice, so the figures below are steady-state JIT code.
    await audit(join(yamlDirectory, 'chart-00.yaml'));

    const yamlTexts = await Promise.all((await readdir(yamlDirectory)).sort().map((name) => readFile(join(yamlDirectory, name), 'utf8')));
    const jsonText = await readFile(jsonFile, 'utf8');

    const fromJson = await timeAsync(() => audit(jsonFile));
    const fromYaml = await timeAsync(() => audit(yamlDirectory));
    const jsonParse = time(() => JSON.parse(jsonText) as unknown);
    const jsYaml = time(() => yamlTexts.map((text) => loadAll(text)));
    const sampleFiles = Math.max(1, Math.round(FILES * YAML_PACKAGE_SAMPLE));
    const yamlPackage = time(() => yamlTexts.slice(0, sampleFiles).map((text) => parseAllDocuments(text)));
    const sampleObjects = Math.min(OBJECTS, sampleFiles * Math.ceil(OBJECTS / FILES));

    const withFindings = new Set(fromYaml.result.findings.map((finding) => `${finding.file}:${finding.resource.namespace}/${finding.resource.name}`)).size;
    console.log(`findings: ${fromYaml.result.findings.length.toLocaleString('en-US')} on ${withFindings.toLocaleString('en-US')} objects (${Math.round((100 * withFindings) / OBJECTS)}%), errors: ${fromYaml.result.errors.length + fromJson.result.errors.length}`);
    console.log('');
    console.log(`audit, JSON List            ${rate(OBJECTS, fromJson)}   (${fromJson.seconds.toFixed(2)} s)`);
    console.log(`audit, multi-document YAML  ${rate(OBJECTS, fromYaml)}   (${fromYaml.seconds.toFixed(2)} s)`);
    console.log(`JSON.parse alone            ${rate(OBJECTS, jsonParse)}`);
    console.log(`js-yaml loadAll alone       ${rate(OBJECTS, jsYaml)}`);
    console.log(`yaml parseAllDocuments      ${rate(sampleObjects, yamlPackage)}   (on ${sampleObjects.toLocaleString('en-US')} objects)`);
    console.log('');
    console.log(`audit JSON / JSON.parse:        ${(fromJson.cpuSeconds / jsonParse.cpuSeconds).toFixed(1)}x the CPU time`);
    console.log(`audit YAML / js-yaml loadAll:   ${(fromYaml.cpuSeconds / jsYaml.cpuSeconds).toFixed(2)}x the CPU time`);
    console.log(`yaml parseAllDocuments / js-yaml loadAll: ${(yamlPackage.cpuSeconds / sampleObjects / (jsYaml.cpuSeconds / OBJECTS)).toFixed(1)}x the CPU time per object`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

await main();
