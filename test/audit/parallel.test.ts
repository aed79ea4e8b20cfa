import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditPaths, type AuditOptions, type AuditSettings } from '../../src/audit/files.js';
import { jobsFromEnvironment } from '../../src/cli/audit.js';
import type { StdinReader } from '../../src/input/sources.js';
import { NEWEST_KNOWN_VERSION } from '../../src/model/version.js';
import { defaultPolicy, loadPolicyFile } from '../../src/policy/policy.js';
import { renderJson } from '../../src/report/json.js';
import { renderSarif } from '../../src/report/sarif.js';
import { renderText } from '../../src/report/text.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { realWorldCorpus } from '../support/corpus.js';
import { generatedWorkloads } from '../support/workloads.js';

const settings: AuditSettings = {
  context: { kubernetesVersion: NEWEST_KNOWN_VERSION, minKubeletVersion: NEWEST_KNOWN_VERSION, now: Date.parse('2026-06-01T00:00:00Z') },
  policy: defaultPolicy(ALL_RULES),
  rules: ALL_RULES,
};
const noStdin: StdinReader = () => Promise.reject(new Error('no stdin in this test'));
/** The command's worker entry point, from the sources. */
const worker = { url: new URL('../../src/cli/audit-worker.ts', import.meta.url), rules: ALL_RULES };

/** A Deployment with two containers and its HPA on pod-wide CPU: the HPA rule reads the Deployment from another document. */
const SCALED = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'scaled', namespace: 'shop' },
  spec: {
    template: {
      spec: {
        containers: [
          { name: 'app', image: 'registry.example.com/app:1.0.0', resources: { requests: { cpu: '500m' } } },
          { name: 'proxy', image: 'registry.example.com/proxy:1.0.0', resources: { requests: { cpu: '500m' } } },
        ],
      },
    },
  },
};
const HPA = {
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'scaled', namespace: 'shop' },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'scaled' },
    maxReplicas: 10,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
  },
};

const yamlStream = (objects: readonly object[]): string => objects.map((object, index) => `---\n# Source: shop/templates/workload-${index % 7}.yaml\n${dump(object)}`).join('');

interface Rendered {
  json: string;
  text: string;
  sarif: string;
}

/** Every renderer's output, so a difference in any field shows. */
async function audited(paths: string[], options: AuditOptions, readStdin: StdinReader = noStdin): Promise<Rendered> {
  const report = await auditPaths(paths, settings, readStdin, options);
  return {
    json: renderJson(report),
    text: renderText(report, { color: false, rules: ALL_RULES }),
    sarif: renderSarif(report, { rules: ALL_RULES, toolVersion: 'test', cwd: '/' }),
  };
}

/** The audit on this thread and with two workers started at once; the second also says how it ran. */
async function bothWays(paths: string[], readStdin?: () => StdinReader): Promise<{ inThread: Rendered; parallel: Rendered; usage: { workers: number; batches: number } }> {
  const inThread = await audited(paths, { jobs: 1 }, readStdin?.());
  const usage = { workers: 0, batches: 0 };
  const parallel = await audited(paths, { jobs: 2, parallelFrom: 0, usage, worker }, readStdin?.());
  return { inThread, parallel, usage };
}

describe('jobsFromEnvironment', () => {
  it('keeps the audit on the main thread unless PODPATTERNS_JOBS asks for workers', () => {
    expect(jobsFromEnvironment({})).toBe(1);
    expect(jobsFromEnvironment({ PODPATTERNS_JOBS: '' })).toBe(1);
    expect(jobsFromEnvironment({ PODPATTERNS_JOBS: '3' })).toBe(3);
  });
});

describe('audit with worker threads', { timeout: 120_000 }, () => {
  let root: string;
  const objects = generatedWorkloads(1500);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'podpatterns-parallel-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reports a long YAML stream byte for byte as the main thread does, HPA and broken documents included', async () => {
    const stream =
      yamlStream(objects.slice(0, 700)) +
      '---\nkind: Pod\nmetadata:\n  name: [unclosed\n' +
      yamlStream([HPA, ...objects.slice(700, 1200)]) +
      '---\njust a string\n' +
      yamlStream([SCALED, ...objects.slice(1200)]);
    const file = join(root, 'stream.yaml');
    await writeFile(file, stream);
    const { inThread, parallel, usage } = await bothWays([file]);
    expect(usage.workers).toBe(2);
    expect(usage.batches).toBeGreaterThan(2);
    expect(parallel).toEqual(inThread);
    const report = JSON.parse(parallel.json) as { findings: Array<{ rule: string; line: number }>; errors: Array<{ line: number; message: string }> };
    expect(report.findings.length).toBeGreaterThan(300);
    expect(report.findings.filter((finding) => finding.rule === 'hpa-pod-average-on-multi-container')).toHaveLength(1);
    expect(report.errors.map((error) => error.message)).toEqual([expect.stringContaining('document 701 is not valid YAML'), 'document 1203 is the string "just a string", not a Kubernetes object (a mapping with apiVersion and kind)']);
    // js-yaml stops at the end of the line that opens the unclosed sequence.
    expect(report.errors[0]!.line).toBe(stream.split('\n').findIndex((line) => line.includes('[unclosed')) + 2);
  });

  for (const [layout, indent] of [
    ['written on one line', undefined],
    ['pretty-printed', 2],
  ] as const) {
    it(`reports a JSON List ${layout}, cut into slices of items, byte for byte as the main thread does`, async () => {
      const file = join(root, `list-${indent ?? 0}.json`);
      await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: objects }, null, indent));
      const { inThread, parallel, usage } = await bothWays([file]);
      // One slice per batch: more than one means the List was cut.
      expect(usage.batches).toBeGreaterThan(1);
      expect(parallel).toEqual(inThread);
      const lines = new Set((JSON.parse(parallel.json) as { findings: Array<{ line: number }> }).findings.map((finding) => finding.line));
      if (indent === undefined) expect([...lines]).toEqual([1]);
      else expect(lines.size).toBeGreaterThan(300);
    });
  }

  it('reads a JSON List whole when a worker cannot judge a slice alone: an HPA, an item that is not valid JSON', async () => {
    const withHpa = join(root, 'hpa-list.json');
    await writeFile(withHpa, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...objects, HPA, SCALED] }, null, 2));
    const broken = join(root, 'broken-list.json');
    // Not JSON (a leading zero), so read as YAML, where it is a flow mapping: the List is still checked.
    await writeFile(broken, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }).replace('"replicas":3', '"replicas":03'));
    for (const file of [withHpa, broken]) {
      const { inThread, parallel, usage } = await bothWays([file]);
      expect(usage.batches).toBeGreaterThan(1);
      expect(parallel).toEqual(inThread);
    }
    const hpa = JSON.parse((await bothWays([withHpa])).parallel.json) as { findings: Array<{ rule: string }> };
    expect(hpa.findings.filter((finding) => finding.rule === 'hpa-pod-average-on-multi-container')).toHaveLength(1);
    const yaml = JSON.parse((await bothWays([broken])).parallel.json) as { errors: unknown[]; findings: unknown[] };
    expect(yaml.errors).toEqual([]);
    expect(yaml.findings.length).toBeGreaterThan(300);
  });

  it('reports many files, one of them broken and one unreadable, byte for byte as the main thread does', async () => {
    const directory = join(root, 'many');
    await mkdir(directory);
    for (let i = 0; i < 30; i++) {
      const slice = objects.slice(i * 40, i * 40 + 40);
      await writeFile(join(directory, `f${String(i).padStart(2, '0')}.${i % 3 === 0 ? 'json' : 'yaml'}`), i % 3 === 0 ? JSON.stringify({ apiVersion: 'v1', kind: 'List', items: slice }) : yamlStream(slice));
    }
    await writeFile(join(directory, 'f07.yaml'), `${yamlStream(objects.slice(0, 3))}---\nkind: [\n`);
    await writeFile(join(directory, 'f31-hpa.yaml'), yamlStream([HPA]));
    await writeFile(join(directory, 'f32-target.json'), JSON.stringify(SCALED));
    const { inThread, parallel, usage } = await bothWays([directory, join(root, 'missing.yaml')]);
    expect(usage.batches).toBeGreaterThan(1);
    expect(parallel).toEqual(inThread);
    const report = JSON.parse(parallel.json) as { summary?: unknown; errors: Array<{ file: string }>; findings: Array<{ rule: string }> };
    expect(report.errors.map((error) => error.file)).toEqual([join(root, 'missing.yaml'), join(directory, 'f07.yaml')]);
    expect(report.findings.filter((finding) => finding.rule === 'hpa-pod-average-on-multi-container')).toHaveLength(1);
  });

  it('reports standard input in pieces byte for byte as the main thread does, keeping documents other rules read', async () => {
    const stream = yamlStream([HPA, ...objects.slice(0, 600), SCALED]);
    const bytes = Buffer.from(stream);
    const pieces = (): StdinReader => () =>
      (async function* () {
        for (let at = 0; at < bytes.length; at += 7919) yield bytes.subarray(at, at + 7919);
      })();
    const { inThread, parallel, usage } = await bothWays(['-'], pieces);
    expect(usage.batches).toBeGreaterThan(1);
    expect(parallel).toEqual(inThread);
    expect((JSON.parse(parallel.json) as { findings: Array<{ rule: string }> }).findings.filter((finding) => finding.rule === 'hpa-pod-average-on-multi-container')).toHaveLength(1);
  });

  it('applies a policy file in the workers as on the main thread: options, severities, rules off, exemptions used and expired', async () => {
    const policyFile = join(root, 'policy.yaml');
    await writeFile(
      policyFile,
      [
        'rules:',
        '  unpinned-image:',
        '    floatingTags: [latest, "1.0.0"]',
        '  sidecar-missing-resources: audit',
        '  memory-emptydir-no-size-limit: off',
        'exemptions:',
        '  list:',
        '    - { namespace: team-3, rules: ["*"], reason: "owned elsewhere" }',
        '    - { namespace: team-4, kind: Deployment, name: "cart-*", rules: [port-conflict, unpinned-image], reason: "OPS-1", expires: "2099-01-01" }',
        '    - { namespace: team-5, rules: ["*"], reason: "gone", expires: "2020-01-01" }',
        '',
      ].join('\n'),
    );
    const policy = await loadPolicyFile(policyFile, ALL_RULES);
    const file = join(root, 'policy-stream.yaml');
    await writeFile(file, yamlStream(objects.slice(0, 800)));
    const withPolicy = { ...settings, policy };
    const inThread = await auditPaths([file], withPolicy, noStdin, { jobs: 1 });
    const usage = { workers: 0, batches: 0 };
    const parallel = await auditPaths([file], withPolicy, noStdin, { jobs: 2, parallelFrom: 0, usage, worker });
    expect(usage.batches).toBeGreaterThan(1);
    expect(renderJson(parallel)).toBe(renderJson(inThread));
    expect(renderText(parallel, { color: false, rules: ALL_RULES })).toBe(renderText(inThread, { color: false, rules: ALL_RULES }));
    expect(parallel.exempted.length).toBeGreaterThan(10);
    expect(parallel.expiredExemptions).toHaveLength(1);
    expect(parallel.findings.some((finding) => finding.rule === 'memory-emptydir-no-size-limit')).toBe(false);
    expect(parallel.findings.filter((finding) => finding.rule === 'sidecar-missing-resources').every((finding) => finding.severity === 'audit')).toBe(true);
  });

  it('starts workers only once the input is large enough to pay for them', async () => {
    const file = join(root, 'small.yaml');
    await writeFile(file, yamlStream(objects.slice(0, 20)));
    const usage = { workers: 0, batches: 0 };
    await auditPaths([file], settings, noStdin, { jobs: 2, parallelFrom: 1 << 20, usage, worker });
    expect(usage).toEqual({ workers: 0, batches: 0 });
  });

  it('checks on the main thread when the settings have a rule the workers do not know', async () => {
    const file = join(root, 'own-rule.yaml');
    await writeFile(file, yamlStream(objects.slice(0, 50)));
    const ownRule = { ...ALL_RULES[0]!, id: 'own-rule' };
    const usage = { workers: 0, batches: 0 };
    const own = { ...settings, rules: [...ALL_RULES, ownRule], policy: defaultPolicy([...ALL_RULES, ownRule]) };
    const report = await auditPaths([file], own, noStdin, { jobs: 2, parallelFrom: 0, usage, worker });
    expect(usage).toEqual({ workers: 0, batches: 0 });
    expect(report.findings.some((finding) => finding.rule === 'own-rule')).toBe(true);
  });

  it('fails with an error naming the worker when one crashes, instead of hanging or reporting less', async () => {
    const file = join(root, 'crash.yaml');
    await writeFile(file, yamlStream(objects.slice(0, 600)));
    for (const [crash, reason] of [
      ['throws', /audit worker \d of 2 stopped: the worker broke/],
      ['exits', /audit worker \d of 2 exited \(code 3\) before answering/],
    ] as const) {
      const crashing = { url: new URL(`../fixtures/crashing-worker-${crash}.ts`, import.meta.url), rules: ALL_RULES };
      await expect(auditPaths([file], settings, noStdin, { jobs: 2, parallelFrom: 0, worker: crashing })).rejects.toThrow(reason);
    }
  });

  it.skipIf(!realWorldCorpus.available)('reports the real-world corpus byte for byte as the main thread does', async () => {
    const { inThread, parallel, usage } = await bothWays([realWorldCorpus.dir]);
    expect(usage.batches).toBeGreaterThan(1);
    expect(parallel).toEqual(inThread);
  });
});
