import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { asArray, isObject, type KubeObject } from '../../src/model/kube.js';
import { EXPECTED_SIDECARS, names, podSpecOf, podSpecViolations, REAL_WORLD } from '../migration/support.js';
import { realWorldCorpus } from '../support/corpus.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'node_modules', '.bin');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real entry point, as a user would (Node from node_modules/.bin first on PATH, as npx does). */
function podpatterns(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      join(BIN, 'tsx'),
      [join(ROOT, 'src/cli/bin.ts'), ...args],
      { cwd: ROOT, env: { ...process.env, PATH: `${BIN}${delimiter}${process.env.PATH ?? ''}` }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

const JOB = `# nightly export, owned by the data team
apiVersion: batch/v1
kind: Job
metadata:
  name: export # keep this name
  labels:
    team: data
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: export
          image: registry.example.com/export:1.8.0
        - name: cloud-sql-proxy # talks to the database
          image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0
          args: ["--port=5432", "project:region:main"]
`;
const CONFIG_MAP = `---
# settings, not touched
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data:
  long: "a value   with  odd   spacing that a re-dump would normalise"
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podpatterns-migrate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

// Each run starts a Node process that loads the whole CLI; on a busy machine that takes seconds.
describe('podpatterns migrate', { timeout: 120_000 }, () => {
  it('prints every document, migrated or not, and reports what moved on stderr', async () => {
    const path = await file('print.yaml', JOB + CONFIG_MAP);
    const run = await podpatterns(['migrate', path]);
    expect(run.code).toBe(0);
    const [job, configMap] = parseAllDocuments(run.stdout).map((document) => document.toJS() as KubeObject);
    expect(names(podSpecOf(job!).initContainers)).toEqual(['cloud-sql-proxy']);
    expect(names(podSpecOf(job!).containers)).toEqual(['export']);
    expect(configMap).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'settings' } });
    expect(run.stderr).toBe(`${path}, document 1 (Job/export): moved cloud-sql-proxy to initContainers as a native sidecar\n`);
  });

  it('prints JSON with --output json', async () => {
    const path = await file('json.yaml', JOB + CONFIG_MAP);
    const run = await podpatterns(['migrate', '--output', 'json', path]);
    const list = JSON.parse(run.stdout) as { kind: string; items: KubeObject[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((item) => item.kind)).toEqual(['Job', 'ConfigMap']);
    expect(podSpecOf(list.items[0]!).initContainers).toEqual([
      { name: 'cloud-sql-proxy', image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0', restartPolicy: 'Always', args: ['--port=5432', 'project:region:main'] },
    ]);
  });

  it('prints a unified diff with --diff, and nothing for files that do not change', async () => {
    const path = await file('diff.yaml', JOB);
    const unchanged = await file('unchanged.yaml', CONFIG_MAP);
    const run = await podpatterns(['migrate', '--diff', path, unchanged]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`--- ${path}\toriginal\n+++ ${path}\tmigrated\n`);
    expect(run.stdout).toContain('+      initContainers:\n         - name: cloud-sql-proxy # talks to the database\n');
    expect(run.stdout).toContain('+          restartPolicy: Always\n');
    expect(run.stdout).toContain('+        podpatterns.io/migrated-sidecars: cloud-sql-proxy\n');
    expect(run.stdout).not.toContain(unchanged);
  });

  it('rewrites files in place with --write, keeping comments, key order and the other documents byte for byte', async () => {
    const path = await file('write.yaml', JOB + CONFIG_MAP);
    const run = await podpatterns(['migrate', '--write', path]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    const written = await readFile(path, 'utf8');
    expect(written.endsWith(CONFIG_MAP)).toBe(true);
    expect(written).toBe(`# nightly export, owned by the data team
apiVersion: batch/v1
kind: Job
metadata:
  name: export # keep this name
  labels:
    team: data
spec:
  backoffLimit: 2
  template:
    metadata:
      annotations:
        podpatterns.io/migrated-sidecars: cloud-sql-proxy
    spec:
      restartPolicy: Never
      initContainers:
        - name: cloud-sql-proxy # talks to the database
          image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0
          restartPolicy: Always
          args: ["--port=5432", "project:region:main"]
      containers:
        - name: export
          image: registry.example.com/export:1.8.0
${CONFIG_MAP}`);
    const again = await podpatterns(['migrate', '--write', path]);
    expect(again.stderr).toBe('');
    expect(await readFile(path, 'utf8')).toBe(written);
  });

  it('reads standard input with -', async () => {
    const run = await podpatterns(['migrate', '-'], JOB);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('restartPolicy: Always');
    expect(run.stderr).toContain('stdin, document 1 (Job/export): moved cloud-sql-proxy');
  });

  it('reports a broken document with its file and line, still migrates the others and exits 2', async () => {
    const path = await file('broken.yaml', `${JOB}---\nkind: Job\nmetadata:\n  name: [unclosed\n---\n${JOB.replace('name: export #', 'name: export-2 #')}`);
    const run = await podpatterns(['migrate', path]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`error: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, line 2[0-9]: `));
    expect(run.stderr).toContain('document 1 (Job/export): moved cloud-sql-proxy');
    expect(run.stderr).toContain('document 3 (Job/export-2): moved cloud-sql-proxy');
    expect(run.stdout.match(/restartPolicy: Always/g)).toHaveLength(2);
  });

  it('writes the good documents of a file with a broken one and keeps the broken text as it was', async () => {
    const broken = '---\nkind: Job\nmetadata:\n  name: [unclosed\n';
    const path = await file('broken-write.yaml', JOB + broken);
    const run = await podpatterns(['migrate', '--write', path]);
    expect(run.code).toBe(2);
    const written = await readFile(path, 'utf8');
    expect(written).toContain('restartPolicy: Always');
    expect(written.endsWith(broken)).toBe(true);
  });

  it('leaves manifests unchanged and says why when the cluster is too old for native sidecars', async () => {
    const path = await file('old.yaml', JOB);
    const run = await podpatterns(['migrate', '--kubernetes-version', '1.30', '--min-kubelet-version', '1.27', path]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(JOB);
    expect(run.stderr).toContain('native sidecars need Kubernetes 1.29+ (oldest kubelet 1.27): cloud-sql-proxy not migrated');
  });

  it('follows the migration settings of a policy file, and applies when the file sets no mode', async () => {
    const path = await file('policy-target.yaml', JOB);
    const dryRun = await file('dry-run-policy.yaml', 'migration:\n  mode: dry-run\n');
    const noMode = await file('no-mode-policy.yaml', 'migration:\n  cronJobs: true\n');
    const reported = await podpatterns(['migrate', '--policy', dryRun, path]);
    expect(reported.stdout).toBe(JOB);
    expect(reported.stderr).toContain('dry-run: would move cloud-sql-proxy to initContainers as a native sidecar');
    const applied = await podpatterns(['migrate', '--policy', noMode, path]);
    expect(applied.stdout).toContain('restartPolicy: Always');
  });

  it('exits 2 on usage errors and says what is wrong', async () => {
    const cases: Array<[string[], string]> = [
      [['migrate'], 'missing required argument'],
      [['migrate', '--kubernetes-version', 'latest', 'x.yaml'], '--kubernetes-version latest: expected a version such as 1.30'],
      [['migrate', '--write', '-'], '--write cannot rewrite standard input (-)'],
      [['migrate', '--output', 'xml', 'x.yaml'], "argument 'xml' is invalid"],
      [['migrate', '--policy', '/nonexistent/policy.yaml', 'x.yaml'], 'policy file /nonexistent/policy.yaml: cannot be read'],
    ];
    const runs = await Promise.all(cases.map(([args]) => podpatterns(args)));
    runs.forEach((run, index) => {
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(cases[index]![1]);
    });
  });

  it('exits 2 for a file it cannot read and still migrates the others', async () => {
    const path = await file('readable.yaml', JOB);
    const run = await podpatterns(['migrate', join(dir, 'missing.yaml'), path]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: ${join(dir, 'missing.yaml')}: cannot be read`);
    expect(run.stdout).toContain('restartPolicy: Always');
  });

  it.skipIf(!realWorldCorpus.available)('migrates exactly the classic sidecars INDEX.md names across the whole real-world corpus', async () => {
    const corpus = fileURLToPath(REAL_WORLD);
    const files = (await readdir(corpus)).filter((name) => name.endsWith('.yaml')).sort().map((name) => join(corpus, name));
    const run = await podpatterns(['migrate', '--cronjobs', '--output', 'json', ...files]);
    expect(run.code).toBe(0);
    const items = (JSON.parse(run.stdout) as { items: KubeObject[] }).items;
    expect(items).toHaveLength(1030);
    const moved: Record<string, string[]> = {};
    for (const item of items.filter((object) => object.kind === 'Job' || object.kind === 'CronJob' || object.kind === 'Pod')) {
      const spec = podSpecOf(item);
      const template = item.kind === 'Pod' ? item : item.kind === 'Job' ? (item.spec as KubeObject).template : ((item.spec as KubeObject).jobTemplate as { spec: KubeObject }).spec.template;
      const annotation = isObject(template) && isObject(template.metadata) && isObject(template.metadata.annotations) ? template.metadata.annotations['podpatterns.io/migrated-sidecars'] : undefined;
      if (typeof annotation === 'string') {
        const sidecars = annotation.split(',');
        expect(podSpecViolations(spec)).toEqual([]);
        expect(asArray(spec.initContainers).filter(isObject).filter((c) => sidecars.includes(String(c.name))).every((c) => c.restartPolicy === 'Always')).toBe(true);
        moved[`${item.kind}/${String((item.metadata as KubeObject).name)}`] = sidecars;
      }
    }
    expect(moved).toEqual(Object.fromEntries(Object.entries(EXPECTED_SIDECARS).map(([key, value]) => [key.split(' ')[1], value])));
  });
});
