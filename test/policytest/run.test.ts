import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allErrors, renderTestText } from '../../src/policytest/render.js';
import { runTestPaths } from '../../src/policytest/suite.js';
import type { Rule } from '../../src/engine/types.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { CLASSIC_SIDECAR_JOB } from '../support/manifests.js';

const HEADER = 'apiVersion: podpatterns.io/v1alpha1\nkind: Test\n';

/** A Pod whose two containers both bind 8080 (port-conflict denies it); `image` decides unpinned-image. */
const clashingPod = (name: string, namespace = 'shop', image = 'registry.example.com/app:1.4.2', annotations = ''): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${namespace}${annotations}
spec:
  containers:
    - name: app
      image: ${image}
      ports: [{containerPort: 8080}]
    - name: sidecar
      image: registry.example.com/sidecar:0.9.0
      ports: [{containerPort: 8080}]
`;

describe('podpatterns test, run in process', () => {
  let dir: string;
  const write = async (path: string, text: string): Promise<void> => {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  };
  const run = (...paths: string[]) => runTestPaths(paths.map((path) => join(dir, path)), ALL_RULES);
  const rows = async (...paths: string[]) =>
    (await run(...paths)).runs.flatMap((r) => r.results).map((result) => [result.resource, result.rule, result.expected, result.actual, result.ok]);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'podpatterns-policytest-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('compares each listed rule and resource with what the engine reports, and checks nothing else', async () => {
    await write('manifests/pods.yaml', `${clashingPod('web')}---\n${clashingPod('edge', 'shop', 'nginx:latest')}`);
    await write(
      'podpatterns-test.yaml',
      `${HEADER}resources: [manifests]\nresults:\n  - {resources: [shop/Pod/web, Pod/edge], rule: port-conflict, result: deny}\n  - {resources: [Pod/web], rule: unpinned-image, result: pass}\n  - {resources: [Pod/edge], rule: unpinned-image, result: deny}\n`,
    );
    expect(await rows('.')).toEqual([
      ['shop/Pod/web', 'port-conflict', 'deny', 'deny', true],
      ['Pod/edge', 'port-conflict', 'deny', 'deny', true],
      ['Pod/web', 'unpinned-image', 'pass', 'pass', true],
      ['Pod/edge', 'unpinned-image', 'deny', 'warn', false],
    ]);
  });

  it('applies the policy file and the cluster version of the test', async () => {
    await write('policy.yaml', 'rules:\n  port-conflict: warn\n  unpinned-image: off\n');
    await write('job.yaml', CLASSIC_SIDECAR_JOB);
    await write('a/podpatterns-test.yaml', `${HEADER}policy: ../policy.yaml\ncluster: {kubernetesVersion: "1.33"}\nresources: [../job.yaml, ../pod.yaml]\nresults:\n  - {resources: [Job/export], rule: classic-sidecar-in-job, result: warn}\n  - {resources: [Pod/web], rule: port-conflict, result: warn}\n  - {resources: [Pod/web], rule: unpinned-image, result: pass}\n`);
    await write('b/podpatterns-test.yaml', `${HEADER}cluster: {kubernetesVersion: "1.28"}\nresources: [../job.yaml]\nresults:\n  - {resources: [Job/export], rule: classic-sidecar-in-job, result: pass}\n`);
    await write('pod.yaml', clashingPod('web', 'shop', 'nginx:latest'));
    expect(await rows('.')).toEqual([
      ['Job/export', 'classic-sidecar-in-job', 'warn', 'warn', true],
      ['Pod/web', 'port-conflict', 'warn', 'warn', true],
      ['Pod/web', 'unpinned-image', 'pass', 'pass', true],
      ['Job/export', 'classic-sidecar-in-job', 'pass', 'pass', true],
    ]);
  });

  it('reads inline manifests as manifest files are read', async () => {
    await write(
      'podpatterns-test.yaml',
      `${HEADER}resources:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: inline, namespace: shop}\n    spec:\n      containers:\n        - {name: a, image: "a:1", ports: [{containerPort: 80}]}\n        - {name: b, image: "b:1", ports: [{containerPort: 80}]}\nresults:\n  - {resources: [Pod/inline], rule: port-conflict, result: deny}\n`,
    );
    expect(await rows('.')).toEqual([['Pod/inline', 'port-conflict', 'deny', 'deny', true]]);
  });

  it('reports a rule the podpatterns.io/ignore annotation suppresses as exempt', async () => {
    const ignored = '\n  annotations:\n    podpatterns.io/ignore: port-conflict\n    podpatterns.io/ignore-reason: "ticket OPS-1234"';
    const everything = '\n  annotations:\n    podpatterns.io/ignore: "*"';
    await write('pods.yaml', `${clashingPod('legacy', 'old', undefined, ignored)}---\n${clashingPod('ancient', 'old', undefined, everything)}`);
    await write(
      'podpatterns-test.yaml',
      `${HEADER}resources: [pods.yaml]\nresults:\n  - {resources: [Pod/legacy, Pod/ancient], rule: port-conflict, result: exempt}\n  - {resources: [Pod/legacy], rule: unpinned-image, result: exempt}\n`,
    );
    const report = await run('.');
    const results = report.runs[0]!.results;
    expect(results.map((result) => [result.resource, result.rule, result.actual, result.ok])).toEqual([
      ['Pod/legacy', 'port-conflict', 'exempt', true],
      ['Pod/ancient', 'port-conflict', 'exempt', true],
      ['Pod/legacy', 'unpinned-image', 'pass', false],
    ]);
  });

  it("reports the policy's own exemptions as exempt, only where the rule fired, and says when one has expired", async () => {
    await write(
      'policy.yaml',
      `exemptions:
  annotations: false
  list:
    - {namespace: legacy, name: "billing-*", rules: [port-conflict], reason: "ticket OPS-1234"}
    - {namespace: legacy, kind: Pod, name: old-*, rules: ["*"], reason: "gone soon", expires: "2020-01-31"}
`,
    );
    const annotated = '\n  annotations:\n    podpatterns.io/ignore: port-conflict';
    await write('pods.yaml', [clashingPod('billing-api', 'legacy'), clashingPod('old-api', 'legacy'), clashingPod('web', 'shop', undefined, annotated)].join('---\n'));
    await write(
      'podpatterns-test.yaml',
      `${HEADER}policy: policy.yaml\nresources: [pods.yaml]\nresults:
  - {resources: [Pod/billing-api, Pod/old-api, Pod/web], rule: port-conflict, result: exempt}
  - {resources: [Pod/billing-api], rule: unpinned-image, result: exempt}
`,
    );
    const results = (await run('.')).runs[0]!.results;
    expect(results.map((result) => [result.resource, result.rule, result.actual, result.ok])).toEqual([
      ['Pod/billing-api', 'port-conflict', 'exempt', true],
      ['Pod/old-api', 'port-conflict', 'deny', false],
      ['Pod/web', 'port-conflict', 'deny', false],
      ['Pod/billing-api', 'unpinned-image', 'pass', false],
    ]);
    expect(results[1]!.details.at(-1)).toBe('the policy exemption legacy/Pod/old-* (policy line 5) expired on 2020-01-31 and no longer applies');
    expect(results[3]!.details).toEqual([]);
  });

  it('in a strict test, fails every finding the results do not list', async () => {
    await write('pod.yaml', clashingPod('web', 'shop', 'nginx:latest'));
    const results = 'results:\n  - {resources: [Pod/web], rule: port-conflict, result: deny}\n';
    await write('strict/podpatterns-test.yaml', `${HEADER}strict: true\nresources: [../pod.yaml]\n${results}`);
    await write('lenient/podpatterns-test.yaml', `${HEADER}resources: [../pod.yaml]\n${results}`);
    const report = await run('strict', 'lenient');
    const [strict, lenient] = report.runs;
    expect(strict!.results.map((result) => [result.resource, result.rule, result.expected, result.actual, result.ok, result.unlisted])).toEqual([
      ['Pod/web', 'port-conflict', 'deny', 'deny', true, false],
      ['shop/Pod/web', 'unpinned-image', 'pass', 'warn', false, true],
      ['shop/Pod/web', 'sidecar-missing-resources', 'pass', 'warn', false, true],
    ]);
    expect(lenient!.results.every((result) => result.ok)).toBe(true);
    expect(renderTestText(report)).toContain('shop/Pod/web unpinned-image: warn, and the strict test does not list it');
  });

  it('fails a test on a rule that throws, where it is listed and where it is not', async () => {
    const broken: Rule = {
      id: 'broken-rule',
      defaultSeverity: 'warn',
      kinds: ['Pod'],
      summary: 'Throws on pods named web.',
      description: 'A rule with a bug.',
      example: { bad: '', fixed: '' },
      problem: () => 'throws',
      evaluate: ({ object }) => {
        if (object.metadata?.name === 'web') throw new Error('cannot read properties of undefined');
        return [];
      },
    };
    await write('pod.yaml', clashingPod('web'));
    await write('listed/podpatterns-test.yaml', `${HEADER}resources: [../pod.yaml]\nresults:\n  - {resources: [Pod/web], rule: broken-rule, result: pass}\n`);
    await write('unlisted/podpatterns-test.yaml', `${HEADER}resources: [../pod.yaml]\nresults:\n  - {resources: [Pod/web], rule: port-conflict, result: deny}\n`);
    const report = await runTestPaths([join(dir, 'listed'), join(dir, 'unlisted')], [...ALL_RULES, broken]);
    expect(report.runs.flatMap((r) => r.results).map((result) => [result.resource, result.rule, result.actual, result.ok, result.unlisted])).toEqual([
      ['Pod/web', 'broken-rule', 'error', false, false],
      ['Pod/web', 'port-conflict', 'deny', true, false],
      ['shop/Pod/web', 'broken-rule', 'error', false, true],
    ]);
    expect(report.runs[0]!.results[0]!.details).toEqual(['rule broken-rule failed: cannot read properties of undefined']);
    expect(renderTestText(report)).toContain('shop/Pod/web broken-rule: the rule failed here\n  rule broken-rule failed: cannot read properties of undefined\n');
  });

  it('compares the migrated object with the expected one as objects, and shows a diff when they differ', async () => {
    await write('job.yaml', CLASSIC_SIDECAR_JOB);
    const migrated = `# reordered keys and flow style do not matter
kind: Job
apiVersion: batch/v1
metadata: {name: export}
spec:
  template:
    metadata:
      annotations: {podpatterns.io/migrated-sidecars: cloud-sql-proxy}
    spec:
      restartPolicy: Never
      containers: [{name: export, image: "registry.example.com/export:1.8.0"}]
      initContainers:
        - {name: cloud-sql-proxy, image: "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0", restartPolicy: Always}
`;
    await write('expected/good.yaml', migrated);
    await write('expected/stale.yaml', migrated.replace('restartPolicy: Always', 'restartPolicy: OnFailure'));
    await write(
      'podpatterns-test.yaml',
      `${HEADER}cluster: {kubernetesVersion: "1.30"}\nresources: [job.yaml]\nmigrations:\n  - {resource: Job/export, expected: expected/good.yaml}\n---\n${HEADER}resources: [job.yaml]\nmigrations:\n  - {resource: Job/export, expected: expected/stale.yaml}\n`,
    );
    const report = await run('.');
    const [good, stale] = report.runs.map((r) => r.results[0]!);
    expect([good!.actual, good!.ok, good!.diff]).toEqual(['matches', true, undefined]);
    expect([stale!.actual, stale!.ok, stale!.expected]).toEqual(['differs', false, 'expected/stale.yaml']);
    expect(stale!.diff).toContain('-          restartPolicy: OnFailure\n+          restartPolicy: Always');
  });

  it('does not read the files a test names for itself as resources of a directory it lists', async () => {
    await write('t/policy.yaml', 'rules:\n  port-conflict: audit\n');
    await write('t/job.yaml', CLASSIC_SIDECAR_JOB);
    await write('t/job.migrated.yaml', CLASSIC_SIDECAR_JOB);
    await write('t/podpatterns-test.yaml', `${HEADER}policy: policy.yaml\ncluster: {kubernetesVersion: "1.28"}\nresources: [.]\nmigrations:\n  - {resource: Job/export, expected: job.migrated.yaml}\n`);
    const report = await run('t');
    expect(allErrors(report)).toEqual([]);
    expect(report.runs[0]!.results.map((result) => result.ok)).toEqual([true]);
  });

  it('reports what a test names wrongly, with the file, line and key, and still runs the other tests', async () => {
    await write('pods.yaml', `${clashingPod('web')}---\n${clashingPod('web', 'dev')}`);
    await write(
      'broken/podpatterns-test.yaml',
      `${HEADER}policy: missing-policy.yaml\nresources: [../pods.yaml, ../missing.yaml]\nresults:\n  - {resources: [Pod/web], rule: port-conflict, result: deny}\n`,
    );
    await write(
      'names/podpatterns-test.yaml',
      `${HEADER}resources: [../pods.yaml]\nresults:\n  - {resources: [Pod/web, Pod/wbe, shop/Pod/web], rule: port-conflict, result: deny}\n`,
    );
    await write('good/podpatterns-test.yaml', `${HEADER}resources: [../pods.yaml]\nresults:\n  - {resources: [dev/Pod/web], rule: port-conflict, result: deny}\n`);
    const report = await run('.');
    const errors = allErrors(report).map((error) => `${error.file.slice(dir.length + 1)}:${error.line}: ${error.message}`);
    expect(errors).toEqual([
      expect.stringMatching(/^broken\/podpatterns-test\.yaml:3: policy: policy file .*missing-policy\.yaml: cannot be read: ENOENT/),
      expect.stringMatching(/^broken\/podpatterns-test\.yaml:4: resources\[1\]: .*missing\.yaml: cannot be read: ENOENT/),
      expect.stringMatching(/^names\/podpatterns-test\.yaml:5: results\[0\]\.resources\[0\]: Pod\/web names 2 resources \(shop\/Pod\/web at .*pods\.yaml:1, dev\/Pod\/web at .*pods\.yaml:\d+\): add the namespace/),
      "names/podpatterns-test.yaml:5: results[0].resources[1]: no resource Pod/wbe among the test's resources (they are shop/Pod/web, dev/Pod/web)",
    ]);
    expect(report.runs.map((r) => [r.file.slice(dir.length + 1), r.results.map((result) => result.ok)])).toEqual([
      ['broken/podpatterns-test.yaml', []],
      ['good/podpatterns-test.yaml', [true]],
      ['names/podpatterns-test.yaml', []],
    ]);
  });

  it('reports a resource file that does not parse with its own file and line', async () => {
    await write('pods.yaml', `${clashingPod('web')}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\n    labels: {}\n`);
    await write('podpatterns-test.yaml', `${HEADER}resources: [pods.yaml]\nresults:\n  - {resources: [Pod/web], rule: port-conflict, result: deny}\n`);
    const errors = allErrors(await run('.'));
    expect(errors.map((error) => [error.file.slice(dir.length + 1), error.line, error.code])).toEqual([['pods.yaml', 19, 'PODPATTERNS_ERR_INPUT_SYNTAX']]);
    expect(errors[0]!.message).toMatch(/a resource of .*podpatterns-test\.yaml\)$/);
  });

  it('says when a directory holds no test file', async () => {
    await write('manifests/pod.yaml', clashingPod('web'));
    const report = await run('manifests');
    expect(allErrors(report).map((error) => error.message)).toEqual(['no podpatterns-test.yaml in this directory or below it']);
  });

  it('runs a test file named on the command line whatever its name', async () => {
    await write('pod.yaml', clashingPod('web'));
    await write('port-conflict.test.yaml', `${HEADER}resources: [pod.yaml]\nresults:\n  - {resources: [Pod/web], rule: port-conflict, result: deny}\n`);
    expect(await rows('port-conflict.test.yaml')).toEqual([['Pod/web', 'port-conflict', 'deny', 'deny', true]]);
  });
});
