/**
 * Throughput, linearity and memory of `podpatterns audit -o json`, run as a user runs it (the built CLI, one
 * process per run), each figure beside its floor measured in the same run in a process of its own:
 *
 *   - a JSON List written on one line (as JSON.stringify writes it) and pretty-printed, beside JSON.parse;
 *   - a multi-document YAML stream, beside js-yaml's loadAll of the same text;
 *   - linearity: time per object at 10k, 20k and 50k objects for each layout;
 *   - 50 copies of the real-world corpus (when ../shared/real-world is there), beside js-yaml on every file;
 *   - start-up: audit of one small file beside `node -e 0`.
 *
 * Each audit row runs once per `--jobs` value (default: 1, the CLI's default, then 2 worker threads), and
 * says whether worker threads started (inputs under PARALLEL_FROM stay on the main thread whatever --jobs says).
 * `--jobs default` passes no --jobs flag at all, for a CLI that has none (an older build, to compare).
 *
 *   npm run bench:audit                     (builds first)
 *   npx tsx test/bench/audit.ts [--sizes 10000,20000,50000] [--repeat 3] [--jobs 1,2] [--cli dist/cli/bin.js] [--cpu-prof DIR]
 *
 * Every figure is the median of --repeat runs; CPU time (user + system, every thread of the process) is steadier
 * than wall time on a shared machine, and peak RSS is the audit's own process. With workers, wall time is what a
 * user waits and CPU time what the machine spends: a busy machine leaves the workers no free core to run on. Goals: ≥ 20k objects/s for both JSON layouts, 50k objects in
 * ≤ 2.8× the time of 20k, YAML ≥ 0.9× js-yaml's rate, 50× real-world in ≤ 10 s with RSS ≤ 2× its size.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { dump } from 'js-yaml';
import { PARALLEL_FROM } from '../../src/audit/files.js';
import { generatedWorkloads } from '../support/workloads.js';

const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));
const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,20000,50000' },
    repeat: { type: 'string', default: '3' },
    cli: { type: 'string', default: join(REPOSITORY, 'dist', 'cli', 'bin.js') },
    'cpu-prof': { type: 'string' },
    jobs: { type: 'string', default: '1,2' },
    'real-world': { type: 'string', default: process.env.PODPATTERNS_REAL_WORLD ?? join(REPOSITORY, '..', 'shared', 'real-world') },
  },
});
const SIZES = flags.sizes.split(',').map(Number);
const REPEAT = Number(flags.repeat);
/** `undefined`: no --jobs flag. */
const JOBS = flags.jobs.split(',').map((value) => (value === 'default' ? undefined : Number(value)));
const CLI = resolve(flags.cli);
const REAL_WORLD_COPIES = 50;

interface Layout {
  name: string;
  floor: string;
  /** A script run by `node --input-type=module -e`, with the file as process.argv[1]. */
  floorScript: string;
  write(objects: readonly Record<string, unknown>[]): string;
}

const JSON_FLOOR = "import { readFileSync } from 'node:fs'; JSON.parse(readFileSync(process.argv[1], 'utf8'));";
const YAML_FLOOR = "import { readFileSync } from 'node:fs'; import { loadAll } from 'js-yaml'; loadAll(readFileSync(process.argv[1], 'utf8'));";
/** js-yaml on every file of a directory tree. */
const YAML_TREE_FLOOR =
  "import { readFileSync, readdirSync } from 'node:fs'; import { join } from 'node:path'; import { loadAll } from 'js-yaml'; " +
  "for (const entry of readdirSync(process.argv[1], { recursive: true, withFileTypes: true })) if (entry.isFile() && /\\.ya?ml$/.test(entry.name)) " +
  // js-yaml rejects one upstream file (see src/input/lenient-yaml.ts): it still reads up to the error.
  "try { loadAll(readFileSync(join(entry.parentPath, entry.name), 'utf8')); } catch {}";

const LAYOUTS: readonly Layout[] = [
  { name: 'JSON List, one line', floor: 'JSON.parse', floorScript: JSON_FLOOR, write: (items) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) },
  { name: 'JSON List, pretty', floor: 'JSON.parse', floorScript: JSON_FLOOR, write: (items) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2) },
  {
    name: 'YAML stream',
    floor: 'js-yaml loadAll',
    floorScript: YAML_FLOOR,
    write: (items) => items.map((object, index) => `---\n# Source: shop/templates/workload-${index % 50}.yaml\n${dump(object)}`).join(''),
  },
];

interface Usage {
  wall: number;
  cpu: number;
  /** Bytes. */
  rss: number;
}

/** Reports the process's own resource use on fd 3 when it exits, whatever it runs. */
const PROBE = `data:text/javascript,${encodeURIComponent(
  "import { writeSync } from 'node:fs'; process.on('exit', () => { const u = process.resourceUsage(); writeSync(3, JSON.stringify({ cpu: (u.userCPUTime + u.systemCPUTime) / 1e6, rss: u.maxRSS * 1024 })); });",
)}`;

/** One run of `node ...args`, its output thrown away. */
function measure(args: readonly string[]): Promise<Usage> {
  return new Promise((done, fail) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['--import', PROBE, ...args], { cwd: REPOSITORY, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let report = '';
    let stderr = '';
    child.stdio[3]!.on('data', (chunk: Buffer) => (report += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) return fail(new Error(`node ${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`));
      const usage = JSON.parse(report) as { cpu: number; rss: number };
      done({ wall: (performance.now() - start) / 1000, ...usage });
    });
  });
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function repeated(args: readonly string[], profile?: string): Promise<Usage> {
  const runs: Usage[] = [];
  for (let i = 0; i < REPEAT; i++) runs.push(await measure(i === 0 && profile && flags['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', join(flags['cpu-prof'], profile), ...args] : args));
  return { wall: median(runs.map((run) => run.wall)), cpu: median(runs.map((run) => run.cpu)), rss: median(runs.map((run) => run.rss)) };
}

const audit = (paths: readonly string[], jobs: number | undefined, profile?: string): Promise<Usage> =>
  repeated([CLI, 'audit', '-o', 'json', '--fail-on', 'none', ...(jobs !== undefined ? ['--jobs', String(jobs)] : []), ...paths], profile && `${profile}-jobs-${jobs ?? 'default'}`);

/** `jobs 2` when workers start on an input of `bytes`, else how many threads ran. */
function jobsLabel(jobs: number | undefined, bytes: number): string {
  if (jobs === undefined) return 'jobs default';
  return jobs > 1 && bytes < PARALLEL_FROM ? `jobs ${jobs}→1 (< ${mib(PARALLEL_FROM)})` : `jobs ${jobs}`;
}
const script = (code: string, path: string): Promise<Usage> => repeated(['--input-type=module', '-e', code, path]);

const int = (value: number): string => Math.round(value).toLocaleString('en-US');
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const pad = (text: string, width: number): string => text.padStart(width);

function row(label: string, objects: number, run: Usage, floor: Usage, extra = ''): string {
  return [
    label.padEnd(58),
    pad(`${run.wall.toFixed(2)} s`, 9),
    pad(`${int(objects / run.wall)}/s`, 10),
    pad(`cpu ${run.cpu.toFixed(2)} s`, 11),
    pad(`rss ${mib(run.rss)}`, 12),
    `| floor ${pad(`${floor.wall.toFixed(2)} s`, 8)} ${pad(`${int(objects / floor.wall)}/s`, 10)} cpu ${floor.cpu.toFixed(2)} s rss ${pad(mib(floor.rss), 8)}`,
    `| audit/floor rate ${(floor.wall / run.wall).toFixed(2)}x wall, ${(floor.cpu / run.cpu).toFixed(2)}x cpu`,
    extra,
  ].join(' ');
}

async function realWorldCopies(directory: string): Promise<{ path: string; bytes: number; files: number } | undefined> {
  if (!existsSync(flags['real-world'])) return undefined;
  const files = (await readdir(flags['real-world'])).filter((name) => /\.(ya?ml|json)$/.test(name));
  let bytes = 0;
  for (const name of files) bytes += (await stat(join(flags['real-world'], name))).size;
  const path = join(directory, 'real-world-x50');
  for (let copy = 0; copy < REAL_WORLD_COPIES; copy++) {
    const target = join(path, `copy-${String(copy).padStart(2, '0')}`);
    await mkdir(target, { recursive: true });
    for (const name of files) await cp(join(flags['real-world'], name), join(target, name));
  }
  return { path, bytes: bytes * REAL_WORLD_COPIES, files: files.length * REAL_WORLD_COPIES };
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm run bench:audit does)`);
  const directory = await mkdtemp(join(tmpdir(), 'podpatterns-bench-'));
  try {
    const largest = Math.max(...SIZES);
    const objects = generatedWorkloads(largest);
    console.log(`podpatterns audit -o json (${CLI.replace(REPOSITORY, '')}), Node ${process.versions.node}, median of ${REPEAT} runs; objects: generated workloads, 1–4 containers, a third with findings`);
    console.log(`jobs: ${JOBS.map((jobs) => jobs ?? 'default').join(', ')} (workers start from ${mib(PARALLEL_FROM)} of input); ${availableParallelism()} cores, load average ${loadavg().map((load) => load.toFixed(2)).join(' ')}`);
    console.log('');

    const perObject = new Map<string, Array<{ wall: number; cpu: number }>>();
    for (const layout of LAYOUTS) {
      for (const size of SIZES) {
        const file = join(directory, `${layout.name.replace(/\W+/g, '-')}-${size}.${layout.name.startsWith('JSON') ? 'json' : 'yaml'}`);
        await writeFile(file, layout.write(objects.slice(0, size)));
        const { size: bytes } = await stat(file);
        const floor = await script(layout.floorScript, file);
        for (const jobs of JOBS) {
          const run = await audit([file], jobs, `${layout.name.replace(/\W+/g, '-')}-${size}`);
          const key = `${layout.name}, ${jobs === undefined ? 'jobs default' : `jobs ${jobs}`}`;
          perObject.set(key, [...(perObject.get(key) ?? []), { wall: run.wall / size, cpu: run.cpu / size }]);
          console.log(row(`${layout.name}, ${int(size / 1000)}k (${mib(bytes)}), ${jobsLabel(jobs, bytes)}`, size, run, floor, `(${layout.floor})`));
        }
        await rm(file);
      }
    }
    if (SIZES.length > 1) {
      console.log('');
      console.log(`linearity, time per object at ${SIZES.map((size) => `${int(size / 1000)}k`).join(' / ')} objects:`);
      for (const [name, times] of perObject) {
        for (const clock of ['wall', 'cpu'] as const) {
          const at = (size: number): number => times[SIZES.indexOf(size)]![clock] * size;
          const ratio = SIZES.includes(20_000) && SIZES.includes(50_000) ? `; 50k took ${(at(50_000) / at(20_000)).toFixed(2)}x the ${clock} time of 20k (linear: 2.5x, goal ≤ 2.8x)` : '';
          console.log(`  ${`${name}, ${clock}`.padEnd(36)} ${times.map((time) => `${(time[clock] * 1e6).toFixed(1)} µs`).join(' / ')}${ratio}`);
        }
      }
    }

    console.log('');
    const corpus = await realWorldCopies(directory);
    if (!corpus) console.log(`real-world corpus not found at ${flags['real-world']} (set PODPATTERNS_REAL_WORLD): its rows are skipped`);
    else {
      const floorOne = await script(YAML_TREE_FLOOR, flags['real-world']);
      for (const jobs of JOBS) {
        const single = await audit([flags['real-world']], jobs, 'real-world');
        console.log(row(`real-world, ${corpus.files / REAL_WORLD_COPIES} files, ${jobsLabel(jobs, corpus.bytes / REAL_WORLD_COPIES)}`, 1034, single, floorOne, '(js-yaml loadAll per file)'));
      }
      const floor = await script(YAML_TREE_FLOOR, corpus.path);
      for (const jobs of JOBS) {
        const run = await audit([corpus.path], jobs, 'real-world-x50');
        console.log(
          row(`real-world x${REAL_WORLD_COPIES} (${mib(corpus.bytes)}), ${jobsLabel(jobs, corpus.bytes)}`, 1034 * REAL_WORLD_COPIES, run, floor, `(js-yaml loadAll per file); rss/input ${(run.rss / corpus.bytes).toFixed(2)}x (goal ≤ 2x), goal ≤ 10 s`),
        );
      }
    }

    console.log('');
    const small = join(directory, 'small.yaml');
    await writeFile(small, dump(objects[0]));
    // As users run it: no --jobs flag.
    const startup = await audit([small], undefined);
    const bare = await repeated(['-e', '0']);
    console.log(`start-up: audit of one small file ${int(startup.wall * 1000)} ms (cpu ${int(startup.cpu * 1000)} ms, rss ${mib(startup.rss)}) | node -e 0 ${int(bare.wall * 1000)} ms (cpu ${int(bare.cpu * 1000)} ms, rss ${mib(bare.rss)})`);
    console.log(`load average at the end: ${loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

await main();
