import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dump } from 'js-yaml';
import { PARALLEL_FROM } from '../../src/audit/files.js';
import { colorEnabled } from '../../src/cli/audit.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { generatedWorkloads } from '../support/workloads.js';
import { runCli } from './run.js';

/** Spawning the CLI through tsx takes seconds on a busy machine. */
const SLOW = 90_000;

/** A Pod whose two containers both bind 8080: port-conflict denies it on the line of the second port. */
const clashingPod = (name: string): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: shop
spec:
  containers:
    - name: app
      image: registry.example.com/shop/app:1.4.2
      ports:
        - containerPort: 8080
    - name: sidecar
      image: registry.example.com/shop/sidecar:0.9.0
      ports:
        - containerPort: 8080
`;
const CLASH_LINE = 15;
const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: "on"\n';
const broken = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\n    labels: {}\n';

interface JsonOutput {
  findings: Array<{ rule: string; severity: string; resource: { name: string }; container: string | null; file: string; line: number }>;
  summary: Record<string, number>;
  errors: Array<{ file: string; line: number | null; code: string | null; message: string }>;
}

const denials = (output: JsonOutput): Array<[string, number]> =>
  output.findings.filter((finding) => finding.severity === 'deny').map((finding) => [finding.resource.name, finding.line]);

describe('podpatterns audit', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'podpatterns-cli-'));
    await mkdir(join(dir, 'clean', 'nested'), { recursive: true });
    await writeFile(join(dir, 'clean', 'settings.yaml'), configMap);
    await writeFile(join(dir, 'clean', 'nested', 'list.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [JSON.parse('{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"}}')] }));
    await writeFile(join(dir, 'conflict.yaml'), clashingPod('web'));
    await writeFile(join(dir, 'mixed.yaml'), `${clashingPod('first')}---\n${broken}---\n${configMap}---\n${clashingPod('last')}`);
    await writeFile(join(dir, 'unknown-rule.yaml'), 'rules:\n  port-conflict: warn\n  port-conflcit: off\n');
    await writeFile(join(dir, 'relaxed.yaml'), 'rules:\n  port-conflict: warn\n');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 0 when no finding reaches --fail-on, reading a directory recursively', { timeout: SLOW }, async () => {
    const result = await runCli(['audit', '-o', 'json', join(dir, 'clean')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as JsonOutput;
    expect(output.summary).toMatchObject({ deny: 0, errors: 0, files: 2, documents: 2, resources: 2 });
  });

  it('exits 1 on a deny finding and prints it on one line with file:line, rule, container, problem and resource, the fix below', { timeout: SLOW }, async () => {
    const result = await runCli(['audit', join(dir, 'conflict.yaml')]);
    expect(result.code).toBe(1);
    const lines = result.stdout.split('\n');
    const finding = lines.findIndex((line) => line.includes('port-conflict'));
    expect(lines[finding]).toBe(`${join(dir, 'conflict.yaml')}:${CLASH_LINE}  deny   port-conflict  'sidecar' shares port 8080/TCP with 'app': one fails to bind  (Pod shop/web)`);
    expect(lines[finding + 1]).toMatch(/^ {4}fix: Move 'sidecar' to another port/);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}port-conflict +1 {2}Two containers that run at the same time declare the same port and protocol\.$/));
    expect(lines.at(-2)).toMatch(/^\d+ findings? \(1 deny, \d+ warn, \d+ audit\) in 1 resource \(1 document, 1 file\)\.$/);
    expect(result.stdout).not.toContain('\u001b[');
  });

  it('exits 0 on the same findings with --fail-on none, and with a policy that lowers the rule to warn', { timeout: SLOW }, async () => {
    const [none, relaxed] = await Promise.all([
      runCli(['audit', '--fail-on', 'none', join(dir, 'conflict.yaml')]),
      runCli(['audit', '--policy', join(dir, 'relaxed.yaml'), '-o', 'json', join(dir, 'conflict.yaml')]),
    ]);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('port-conflict');
    expect(relaxed.code).toBe(0);
    const output = JSON.parse(relaxed.stdout) as JsonOutput;
    expect(output.findings.find((finding) => finding.rule === 'port-conflict')).toMatchObject({ severity: 'warn', line: CLASH_LINE });
  });

  it('reads helm template output from standard input with -', { timeout: SLOW }, async () => {
    const rendered = `---\n# Source: shop/templates/settings.yaml\n${configMap}---\n# Source: shop/templates/pod.yaml\n${clashingPod('from-helm')}`;
    const result = await runCli(['audit', '-o', 'json', '-'], { input: rendered });
    expect(result.code).toBe(1);
    const output = JSON.parse(result.stdout) as JsonOutput;
    expect(denials(output)).toEqual([['from-helm', 10 + CLASH_LINE]]);
    expect(output.findings.every((finding) => finding.file === 'stdin')).toBe(true);
  });

  it('prints SARIF 2.1.0 with paths relative to the working directory', { timeout: SLOW }, async () => {
    const result = await runCli(['audit', '--output', 'sarif', 'conflict.yaml'], { cwd: dir });
    expect(result.code).toBe(1);
    const log = JSON.parse(result.stdout) as {
      version: string;
      runs: Array<{ tool: { driver: { name: string; rules: Array<{ id: string }> } }; results: Array<{ ruleId: string; level: string; locations: Array<{ physicalLocation: unknown }> }> }>;
    };
    expect(log.version).toBe('2.1.0');
    const [run] = log.runs;
    expect(run!.tool.driver.name).toBe('podpatterns');
    expect(run!.tool.driver.rules.map((rule) => rule.id)).toEqual(ALL_RULES.map((rule) => rule.id));
    const clash = run!.results.find((result) => result.ruleId === 'port-conflict');
    expect(clash).toMatchObject({ level: 'error', locations: [{ physicalLocation: { artifactLocation: { uri: 'conflict.yaml' }, region: { startLine: CLASH_LINE } } }] });
  });

  it('reports a broken document with its line, still reports the other documents of the file, and exits 2', { timeout: SLOW }, async () => {
    const file = join(dir, 'mixed.yaml');
    const [json, text] = await Promise.all([runCli(['audit', '-o', 'json', file]), runCli(['audit', file])]);
    expect(json.code).toBe(2);
    const output = JSON.parse(json.stdout) as JsonOutput;
    const brokenStart = clashingPod('first').split('\n').length + 1;
    expect(output.errors).toEqual([{ file, line: brokenStart + 4, code: 'PODPATTERNS_ERR_INPUT_SYNTAX', rule: null, message: expect.stringMatching(/^document 2 is not valid YAML: /) as unknown }]);
    const lastStart = brokenStart + broken.split('\n').length + configMap.split('\n').length;
    expect(denials(output)).toEqual([
      ['first', CLASH_LINE],
      ['last', lastStart - 1 + CLASH_LINE],
    ]);
    expect(output.summary).toMatchObject({ documents: 3, errors: 1 });
    expect(json.stderr).toContain(`${file}:${brokenStart + 4}: document 2 is not valid YAML`);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain(`${file}:${CLASH_LINE}  deny`);
    expect(text.stdout).toContain('(Pod shop/first)');
    expect(text.stdout).toContain(`${file}:${lastStart - 1 + CLASH_LINE}  deny`);
    expect(text.stdout).toContain('(Pod shop/last)');
    expect(text.stderr).toMatch(new RegExp(`^error ${file}:${brokenStart + 4}: document 2 is not valid YAML: .+ \\[PODPATTERNS_ERR_INPUT_SYNTAX\\]\\n$`));
  });

  it('exits 2 on an unreadable path and still checks the others', { timeout: SLOW }, async () => {
    const result = await runCli(['audit', join(dir, 'missing.yaml'), join(dir, 'conflict.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('port-conflict');
    expect(result.stderr).toContain(`${join(dir, 'missing.yaml')}: cannot be read: ENOENT`);
  });

  it('rejects bad flags with exit 2 and a message that names the flag', { timeout: SLOW }, async () => {
    const target = join(dir, 'conflict.yaml');
    const [version, kubelet, skew, output, failOn, policy, missingPolicy, noPaths] = await Promise.all([
      runCli(['audit', '--kubernetes-version', '1.x', target]),
      runCli(['audit', '--min-kubelet-version', 'latest', target]),
      runCli(['audit', '--kubernetes-version', '1.30', '--min-kubelet-version', '1.31', target]),
      runCli(['audit', '--output', 'xml', target]),
      runCli(['audit', '--fail-on', 'error', target]),
      runCli(['audit', '--policy', join(dir, 'unknown-rule.yaml'), target]),
      runCli(['audit', '--policy', join(dir, 'no-such-policy.yaml'), target]),
      runCli(['audit']),
    ]);
    for (const result of [version, kubelet, skew, output, failOn, policy, missingPolicy, noPaths]) {
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
    }
    expect(version.stderr).toContain("option '--kubernetes-version <X.Y>' argument '1.x' is invalid. expected a Kubernetes version such as 1.31 or v1.31.2.");
    expect(kubelet.stderr).toContain("option '--min-kubelet-version <X.Y>' argument 'latest' is invalid. expected a Kubernetes version such as 1.31 or v1.31.2.");
    expect(skew.stderr).toContain('--min-kubelet-version 1.31 is newer than --kubernetes-version 1.30');
    expect(output.stderr).toMatch(/--output.*xml.*text, json, sarif/s);
    expect(failOn.stderr).toMatch(/--fail-on.*error.*deny, warn, audit, none/s);
    expect(policy.stderr).toContain(`policy file ${join(dir, 'unknown-rule.yaml')}, line 3: rules.port-conflcit: unknown rule 'port-conflcit' (did you mean 'port-conflict'?)`);
    expect(missingPolicy.stderr).toContain(`policy file ${join(dir, 'no-such-policy.yaml')}: cannot be read`);
    expect(noPaths.stderr).toContain("missing required argument 'paths'");
  });

  it('rejects the policy report flags where they do not apply, and an empty --kubeconfig, before reaching any cluster', { timeout: SLOW }, async () => {
    const [onFiles, withoutReports, unknownApi, emptyKubeconfig] = await Promise.all([
      runCli(['audit', '--report-api', 'wgpolicy', join(dir, 'clean')]),
      runCli(['audit', '--cluster', '--report-api', 'wgpolicy', '-o', 'json']),
      runCli(['audit', '--cluster', '-o', 'policyreport', '--report-api', 'policyreport']),
      runCli(['audit', '--cluster', '--kubeconfig', '']),
    ]);
    for (const result of [onFiles, withoutReports, unknownApi, emptyKubeconfig]) {
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
    }
    expect(onFiles.stderr).toContain('--report-api applies only with --cluster');
    expect(withoutReports.stderr).toContain('--report-api applies only with --output policyreport');
    expect(unknownApi.stderr).toMatch(/--report-api.*policyreport.*openreports, wgpolicy/s);
    expect(emptyKubeconfig.stderr).toContain('--kubeconfig: must not be empty');
  });

  it('checks an input of 8 MiB and more with worker threads and prints exactly what --jobs 1 prints', { timeout: 2 * SLOW }, async () => {
    const objects = generatedWorkloads(7500);
    const stream = objects.map((object) => `---\n${dump(object)}`).join('');
    expect(Buffer.byteLength(stream)).toBeGreaterThan(PARALLEL_FROM);
    await writeFile(join(dir, 'large.yaml'), stream);
    const inThread = await runCli(['audit', '-o', 'json', '--jobs', '1', join(dir, 'large.yaml')]);
    const parallel = await runCli(['audit', '-o', 'json', '--jobs', '2', join(dir, 'large.yaml')]);
    expect(inThread.code).toBe(1);
    expect(parallel.stderr).toBe(inThread.stderr);
    expect(parallel.code).toBe(inThread.code);
    expect(parallel.stdout).toBe(inThread.stdout);
  });

  it('rejects a --jobs or PODPATTERNS_JOBS that is not a whole number of at least 1, and --jobs with --cluster', { timeout: SLOW }, async () => {
    const target = join(dir, 'conflict.yaml');
    const [zero, environment, cluster] = await Promise.all([
      runCli(['audit', '--jobs', '0', target]),
      runCli(['audit', target], { env: { PODPATTERNS_JOBS: 'all' } }),
      runCli(['audit', '--cluster', '--jobs', '2']),
    ]);
    for (const result of [zero, environment, cluster]) {
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
    }
    expect(zero.stderr).toContain("option '-j, --jobs <n>' argument '0' is invalid. expected a whole number of at least 1.");
    expect(environment.stderr).toContain('PODPATTERNS_JOBS=all: expected a whole number of at least 1');
    expect(cluster.stderr).toContain('--jobs applies only to files');
  });

  it('accepts the version forms managed clusters report', { timeout: SLOW }, async () => {
    const result = await runCli(['audit', '--kubernetes-version', 'v1.30.4-eks-a737599', '--min-kubelet-version', '1.29', join(dir, 'clean')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('colorEnabled', () => {
  it('colours a terminal unless NO_COLOR is set to something', () => {
    expect(colorEnabled({ isTTY: true }, {})).toBe(true);
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(colorEnabled({ isTTY: false }, {})).toBe(false);
    expect(colorEnabled({}, {})).toBe(false);
  });
});
