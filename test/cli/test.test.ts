import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_RULES } from '../../src/rules/index.js';
import { README } from '../support/readme.js';
import { runCli } from './run.js';

/** Spawning the CLI through tsx takes seconds on a busy machine. */
const SLOW = 90_000;

const HEADER = 'apiVersion: podpatterns.io/v1alpha1\nkind: Test\n';
const pod = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - {name: app, image: "registry.example.com/app:1.4.2", ports: [{containerPort: 8080}]}
    - {name: proxy, image: "registry.example.com/proxy:0.9.0", ports: [{containerPort: 8080}]}
`;
const expecting = (result: string) => `${HEADER}resources: [../pod.yaml]\nresults:\n  - resources: [shop/Pod/web]\n    rule: port-conflict\n    result: ${result}\n`;

interface JsonOutput {
  results: Array<{ file: string; test: string; line: number; resource: string; rule: string; expected: string; actual: string; ok: boolean; details: string[] }>;
  errors: Array<{ file: string; line: number | null; code: string | null; message: string }>;
  summary: Record<string, number>;
}

describe('podpatterns test', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'podpatterns-test-cli-'));
    for (const sub of ['failing/right', 'failing/wrong', 'malformed/good', 'malformed/typo']) await mkdir(join(dir, sub), { recursive: true });
    for (const sub of ['failing', 'malformed']) await writeFile(join(dir, sub, 'pod.yaml'), pod);
    await writeFile(join(dir, 'failing/right/podpatterns-test.yaml'), expecting('deny'));
    await writeFile(join(dir, 'failing/wrong/podpatterns-test.yaml'), expecting('warn'));
    await writeFile(join(dir, 'malformed/good/podpatterns-test.yaml'), expecting('deny'));
    await writeFile(join(dir, 'malformed/typo/podpatterns-test.yaml'), expecting('deny').replace('    result:', '    reslt:'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("passes the repository's own policy tests: every rule's README examples, a tuned policy and a migration", { timeout: SLOW }, async () => {
    const { code, stdout, stderr } = await runCli(['test', 'test/policy-tests']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    for (const rule of ALL_RULES) {
      expect(stdout).toMatch(new RegExp(`rules/${rule.id}/podpatterns-test\\.yaml +\\S+ +${rule.id} +(deny|warn|audit) +(deny|warn|audit) +ok\\n`));
      expect(stdout).toMatch(new RegExp(`rules/${rule.id}/podpatterns-test\\.yaml +\\S+ +${rule.id} +pass +pass +ok\\n`));
    }
    expect(stdout).toMatch(/tuning\/podpatterns-test\.yaml +legacy\/Deployment\/billing-api +port-conflict +exempt +exempt +ok/);
    expect(stdout).toMatch(/migration\/podpatterns-test\.yaml +data\/Job\/nightly-export +migration +migrated\.yaml +matches +ok/);
    expect(stdout).toMatch(/, \d+ expectations: (\d+) passed, 0 failed\n$/);
  });

  it('exits 1 and shows the failing row when an expectation does not hold', { timeout: SLOW }, async () => {
    const { code, stdout, stderr } = await runCli(['test', join(dir, 'failing')]);
    expect(stderr).toBe('');
    expect(code).toBe(1);
    expect(stdout).toMatch(/right\/podpatterns-test\.yaml +shop\/Pod\/web +port-conflict +deny +deny +ok\n/);
    expect(stdout).toMatch(/wrong\/podpatterns-test\.yaml +shop\/Pod\/web +port-conflict +warn +deny +FAIL\n/);
    expect(stdout).toContain('wrong/podpatterns-test.yaml:5 (document 1): shop/Pod/web port-conflict: expected warn, got deny\n  deny at ');
    expect(stdout).toMatch(/2 tests in 2 files, 2 expectations: 1 passed, 1 failed\n$/);
  });

  it('reports the same run as JSON', { timeout: SLOW }, async () => {
    const { code, stdout } = await runCli(['test', '-o', 'json', join(dir, 'failing')]);
    expect(code).toBe(1);
    const output = JSON.parse(stdout) as JsonOutput;
    expect(output.results.map((result) => [result.file.slice(dir.length + 1), result.line, result.expected, result.actual, result.ok])).toEqual([
      ['failing/right/podpatterns-test.yaml', 5, 'deny', 'deny', true],
      ['failing/wrong/podpatterns-test.yaml', 5, 'warn', 'deny', false],
    ]);
    expect(output.results[1]!.details[0]).toMatch(/^deny at .*pod\.yaml:9: /);
    expect(output.summary).toEqual({ files: 2, tests: 2, expectations: 2, passed: 1, failed: 1, errors: 0 });
    expect(output.errors).toEqual([]);
  });

  it('exits 2 naming the file, line and key of a malformed test file, and still runs the others', { timeout: SLOW }, async () => {
    const { code, stdout, stderr } = await runCli(['test', join(dir, 'malformed')]);
    expect(code).toBe(2);
    const typo = join(dir, 'malformed/typo/podpatterns-test.yaml');
    expect(stderr).toContain(`error ${typo}:5: results[0]: missing required key 'result' [PODPATTERNS_ERR_TEST_INVALID]\n`);
    expect(stderr).toContain(`error ${typo}:7: results[0].reslt: unknown key (did you mean 'result'?) [PODPATTERNS_ERR_TEST_INVALID]\n`);
    expect(stdout).toMatch(/good\/podpatterns-test\.yaml +shop\/Pod\/web +port-conflict +deny +deny +ok\n/);
    expect(stdout).toMatch(/1 test in 2 files, 1 expectation: 1 passed, 0 failed, 2 errors\n$/);
  });

  it("runs the README's example as the README shows it", { timeout: SLOW }, async () => {
    const readme = await readFile(README, 'utf8');
    const section = readme.slice(readme.indexOf('### `podpatterns test`'), readme.indexOf('### `podpatterns rules`'));
    const files = [...section.matchAll(/```yaml\n# (\S+)\n([\s\S]*?)```/g)].map(([, path, body]) => [path!, `# ${path}\n${body}`] as const);
    expect(files.map(([path]) => path)).toEqual(['policy.yaml', 'policy-tests/podpatterns-test.yaml', 'policy-tests/nightly-export.migrated.yaml']);
    const example = join(dir, 'readme');
    for (const [path, text] of files) {
      await mkdir(dirname(join(example, path)), { recursive: true });
      await writeFile(join(example, path), text);
    }
    const shown = /```text\n([\s\S]*?)```/.exec(section)![1];
    const { code, stdout, stderr } = await runCli(['test', 'policy-tests/'], { cwd: example });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(shown);
  });

  it('exits 2 without a path, as for any usage error', { timeout: SLOW }, async () => {
    const { code, stderr } = await runCli(['test']);
    expect(code).toBe(2);
    expect(stderr).toContain("missing required argument 'paths'");
  });
});
