/**
 * The engine alone, in process: CPU time of `evaluate` (every rule, default policy) per object, beside JSON.parse
 * of the same object measured in the same run, for the Deployments `bench:webhook` sends (1, 3 and 8
 * containers: the allow path, but for the 8-container one's too-many-sidecars warning), for a fleet of such
 * Deployments no two alike, and for every object of the real-world corpus (when ../shared/real-world is there).
 * What the webhook and audit benchmarks cannot separate from TLS, HTTP and parsing: how the cost of the rules
 * grows with the containers of a pod.
 *
 *   npx tsx test/bench/engine.ts [--rounds 7] [--cpu-prof]   (tsx's own --cpu-prof: node --cpu-prof --import tsx …)
 *
 * Each figure is the best of --rounds rounds over fresh copies of the objects (nothing kept on one object serves
 * the next; what the model remembers by value, parsed images and quantities and helper verdicts, does, as it
 * would for a fleet that reuses them), user + system CPU time, so other work on a shared machine lowers it least.
 * The varied-fleet row draws a new object every time, none alike, so nothing remembered by value serves; the
 * real-world row, every object of the corpus, shows the cost over real manifests of many kinds.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { evaluate } from '../../src/engine/engine.js';
import type { EvaluationContext } from '../../src/engine/types.js';
import { NEWEST_KNOWN_VERSION } from '../../src/model/version.js';
import { defaultPolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { realWorldCorpus as REAL_WORLD } from '../support/corpus.js';
import { review } from './reviews.js';

const { values: flags } = parseArgs({ options: { rounds: { type: 'string', default: '7' } } });
const ROUNDS = Number(flags.rounds);
/** Objects per round: enough for a few hundred milliseconds, few enough to stay out of the old generation. */
const BATCH = 2_000;

const policy = defaultPolicy(ALL_RULES);
const context: EvaluationContext = { kubernetesVersion: NEWEST_KNOWN_VERSION, minKubeletVersion: NEWEST_KNOWN_VERSION, namespace: 'shop' };

function cpuMicros(work: () => void): number {
  const start = process.cpuUsage();
  work();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

/** The text of the next object, at each call: a few objects over and over, or a fleet in which no two are alike. */
type Source = () => string;

function cycle(texts: readonly string[]): Source {
  let next = 0;
  return () => texts[next++ % texts.length]!;
}

/** Best CPU time per object, in µs, of `run` over fresh objects drawn from `source`. */
function perObject(source: Source, run: (text: string, object: unknown) => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const texts = Array.from({ length: BATCH }, source);
    const objects = texts.map((text) => JSON.parse(text) as unknown);
    const time = cpuMicros(() => {
      for (let index = 0; index < BATCH; index++) run(texts[index]!, objects[index]);
    });
    best = Math.min(best, time / BATCH);
  }
  return best;
}

function row(label: string, source: Source): { label: string; engine: number; parse: number } {
  const parse = perObject(source, (text) => JSON.parse(text));
  let findings = 0;
  const engine = perObject(source, (_, object) => {
    findings += evaluate(object, context, policy, ALL_RULES).findings.length;
  });
  if (findings < 0) throw new Error('unreachable');
  return { label, engine, parse };
}

interface BenchDeployment {
  metadata: { name: string };
  spec: { template: { spec: { containers: Array<{ name: string; image: string; args: string[]; ports: unknown[]; resources: unknown }> } } };
}

/**
 * The 3-container Deployment as a fleet sends it: each object with its own names, images, tags, ports and
 * quantities, so what the model remembers by value (parsed images and quantities, helper verdicts) never serves
 * twice, as in a cluster whose workloads rarely share them.
 */
function variedFleet(): Source {
  const template = (JSON.parse(review(3)) as { request: { object: BenchDeployment } }).request.object;
  let next = 0;
  return () => {
    const n = next++;
    const object = structuredClone(template);
    object.metadata.name = `web-${n}`;
    object.spec.template.spec.containers.forEach((container, index) => {
      const port = 8080 + index + (n % 1000) * 4;
      container.name = `${container.name}-${n}`;
      container.image = `registry.example.com/team-${n % 101}/service-${n}-${index}:2.${n}.${index}`;
      container.args = ['--listen', `:${port}`];
      container.ports = [{ name: `http-${index}`, containerPort: port, protocol: 'TCP' }];
      container.resources = { requests: { cpu: `${100 + n}m`, memory: `${128 + n}Mi` }, limits: { memory: `${256 + n}Mi` } };
    });
    return JSON.stringify(object);
  };
}

function realWorldObjects(): string[] {
  const texts: string[] = [];
  for (const file of readdirSync(REAL_WORLD.dir).filter((name) => /\.ya?ml$/.test(name)).sort()) {
    for (const document of parseAllDocuments(readFileSync(join(REAL_WORLD.dir, file), 'utf8'))) {
      const value: unknown = document.toJS();
      if (value !== null && typeof value === 'object') texts.push(JSON.stringify(value));
    }
  }
  return texts;
}

const cases = [1, 3, 8].map((count) => {
  const object = (JSON.parse(review(count)) as { request: { object: unknown } }).request.object;
  return { label: `Deployment, ${count} container${count > 1 ? 's' : ''}`, source: cycle([JSON.stringify(object)]) };
});
cases.push({ label: 'varied fleet, 3 containers', source: variedFleet() });
if (REAL_WORLD.available) {
  const texts = realWorldObjects();
  cases.push({ label: `real-world, ${texts.length} objects`, source: cycle(texts) });
} else {
  console.log(`real-world corpus not found at ${REAL_WORLD.dir} (set ${REAL_WORLD.variable}): its row is skipped`);
}
// Once through everything first, so no row pays for compiling what the others share.
for (const { label, source } of cases) row(label, source);
const rows = cases.map(({ label, source }) => row(label, source));

console.log(`evaluate() with every rule and the default policy, Node ${process.versions.node}; CPU µs per object, best of ${ROUNDS} rounds of ${BATCH}`);
for (const { label, engine, parse } of rows) {
  console.log(`${label.padEnd(32)} evaluate ${engine.toFixed(1).padStart(7)} µs (${Math.round(1e6 / engine).toLocaleString('en').padStart(9)}/s) | JSON.parse ${parse.toFixed(1).padStart(6)} µs | evaluate/parse ${(engine / parse).toFixed(2)}x`);
}
