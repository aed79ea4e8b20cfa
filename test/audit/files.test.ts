import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rule } from '../../src/engine/types.js';
import { NEWEST_KNOWN_VERSION } from '../../src/model/version.js';
import { defaultPolicy } from '../../src/policy/policy.js';
import { auditPaths, type AuditSettings } from '../../src/audit/files.js';
import { hasFailingFindings, summarize } from '../../src/report/summary.js';

const example = { bad: 'kind: Pod\n', fixed: 'kind: Pod\n' };

/** Reports every Pod whose name another object of the input (a ConfigMap) lists under data.flag. */
const flaggedByRelated: Rule = {
  id: 'flagged-by-related',
  defaultSeverity: 'warn',
  kinds: ['Pod'],
  summary: 'test rule',
  description: 'test rule',
  example,
  problem: () => 'is flagged by a ConfigMap',
  related: { kinds: ['ConfigMap'], of: (object) => (object.kind === 'Pod' ? [{ kind: 'ConfigMap' }] : []), required: true },
  evaluate({ object, objectPath, context }) {
    if (object.kind !== 'Pod') return [];
    const flagged = (context.related ?? []).some((other) => other.kind === 'ConfigMap' && (other.data as Record<string, string> | undefined)?.flag === object.metadata?.name);
    const at = objectPath ? `${objectPath}.` : '';
    return flagged ? [{ container: 'app', path: `${at}spec.containers[0].image`, message: 'flagged by a ConfigMap', fix: 'unflag it', facts: {} }] : [];
  },
};

const throwsOnBoom: Rule = {
  id: 'throws-on-boom',
  defaultSeverity: 'deny',
  kinds: ['Pod'],
  summary: 'test rule',
  description: 'test rule',
  example,
  problem: () => 'is not evaluated',
  evaluate({ object }) {
    if (object.metadata?.name === 'boom') throw new Error('cannot read this one');
    return [];
  },
};

const rules = [flaggedByRelated, throwsOnBoom];
const settings: AuditSettings = {
  context: { kubernetesVersion: NEWEST_KNOWN_VERSION, minKubeletVersion: NEWEST_KNOWN_VERSION },
  policy: defaultPolicy(rules),
  rules,
};
const noStdin = (): Promise<string> => Promise.reject(new Error('no stdin in this test'));
const pod = (name: string, extra = ''): string => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n${extra}spec:\n  containers:\n    - name: app\n      image: nginx:1.27\n`;

describe('auditPaths', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'podpatterns-audit-'));
    await mkdir(join(root, 'chart', 'templates'), { recursive: true });
    await mkdir(join(root, 'chart', '.git'), { recursive: true });
    await mkdir(join(root, 'chart', 'node_modules', 'dep'), { recursive: true });
    await mkdir(join(root, 'empty'));
    await writeFile(join(root, 'chart', 'templates', 'b-pods.yaml'), `${pod('web')}---\n${pod('boom')}`);
    await writeFile(join(root, 'chart', 'templates', 'a-flags.yml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flags\ndata:\n  flag: web\n');
    await writeFile(join(root, 'chart', 'list.json'), JSON.stringify({ apiVersion: 'v1', kind: 'PodList', items: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'other' } }, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'json' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } }] }, null, 2));
    await writeFile(join(root, 'chart', 'README.md'), '# not a manifest\n');
    await writeFile(join(root, 'chart', '.git', 'config.yaml'), 'broken: [\n');
    await writeFile(join(root, 'chart', 'node_modules', 'dep', 'pkg.yaml'), 'broken: [\n');
    await writeFile(join(root, 'ignored.yaml'), `${pod('ignored', '  annotations:\n    podpatterns.io/ignore: flagged-by-related\n    podpatterns.io/ignore-reason: tested elsewhere\n')}`);
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('walks directories in sorted order, skipping hidden entries, node_modules and other extensions', async () => {
    const report = await auditPaths([join(root, 'chart')], settings, noStdin);
    expect(report.files).toBe(3);
    expect(report.documents).toBe(4);
    expect(report.resources).toBe(5);
    expect(report.findings.map((finding) => finding.file)).toEqual([join(root, 'chart', 'list.json'), join(root, 'chart', 'templates', 'b-pods.yaml')]);
  });

  it('gives rules every object of the input, across files and inside Lists, as related objects', async () => {
    const report = await auditPaths([join(root, 'chart')], settings, noStdin);
    expect(report.findings.map((finding) => [finding.resource.namespace, finding.resource.name, finding.path, finding.line])).toEqual([
      ['json', 'web', 'items[1].spec.containers[0].image', 23],
      [undefined, 'web', 'spec.containers[0].image', 8],
    ]);
  });

  it('parses a related document once, however many objects in however many files want it', async () => {
    const directory = join(root, 'many-wanting');
    await mkdir(directory);
    await writeFile(join(directory, 'a-flags.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flags\ndata:\n  flag: web\n');
    for (const name of ['b', 'c', 'd']) await writeFile(join(directory, `${name}-pods.yaml`), `${pod('web')}---\n${pod('other')}`);
    const seen: unknown[] = [];
    const recording: Rule = { ...flaggedByRelated, evaluate: (input) => (seen.push(...(input.context.related ?? [])), flaggedByRelated.evaluate(input)) };
    const report = await auditPaths([directory], { ...settings, policy: defaultPolicy([recording]), rules: [recording] }, noStdin);
    expect(report.findings.map((finding) => finding.file)).toEqual(['b', 'c', 'd'].map((name) => join(directory, `${name}-pods.yaml`)));
    expect(seen).toHaveLength(6);
    expect(new Set(seen).size).toBe(1);
  });

  it('reports a rule that throws as an error with the resource and its line, and keeps the other findings', async () => {
    const report = await auditPaths([join(root, 'chart', 'templates', 'b-pods.yaml'), join(root, 'chart', 'templates', 'a-flags.yml')], settings, noStdin);
    expect(report.findings).toHaveLength(1);
    expect(report.errors).toEqual([
      {
        file: join(root, 'chart', 'templates', 'b-pods.yaml'),
        line: 10,
        rule: 'throws-on-boom',
        resource: { apiVersion: 'v1', kind: 'Pod', name: 'boom' },
        message: 'rule throws-on-boom failed: cannot read this one',
      },
    ]);
  });

  it('lists the findings podpatterns.io/ignore exempted, with the reason and the line of the field', async () => {
    await writeFile(join(root, 'flags-ignored.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flags\ndata:\n  flag: ignored\n');
    const report = await auditPaths([join(root, 'ignored.yaml'), join(root, 'flags-ignored.yaml')], settings, noStdin);
    await rm(join(root, 'flags-ignored.yaml'));
    expect(report.findings).toEqual([]);
    expect(report.exempted).toEqual([
      expect.objectContaining({
        rule: 'flagged-by-related',
        resource: { apiVersion: 'v1', kind: 'Pod', name: 'ignored' },
        path: 'spec.containers[0].image',
        exemption: { source: 'annotation', reason: 'tested elsewhere' },
        file: join(root, 'ignored.yaml'),
        line: 11,
      }),
    ]);
  });

  it('lists nothing for an annotation that exempts a rule with no finding: only used exemptions are reported', async () => {
    await writeFile(join(root, 'unused-ignore.yaml'), pod('quiet', '  annotations:\n    podpatterns.io/ignore: throws-on-boom\n'));
    const report = await auditPaths([join(root, 'unused-ignore.yaml')], settings, noStdin);
    expect(report.exempted).toEqual([]);
    await rm(join(root, 'unused-ignore.yaml'));
  });

  it('reports unreadable paths and directories without manifests, and still checks the rest', async () => {
    const report = await auditPaths([join(root, 'missing.yaml'), join(root, 'empty'), join(root, 'chart', 'templates')], settings, noStdin);
    expect(report.errors.map((error) => [error.file, error.code])).toEqual([
      [join(root, 'missing.yaml'), 'PODPATTERNS_ERR_INPUT_READ'],
      [join(root, 'empty'), 'PODPATTERNS_ERR_INPUT_READ'],
      [join(root, 'chart', 'templates', 'b-pods.yaml'), undefined],
    ]);
    expect(report.errors[0]!.message).toMatch(/cannot be read: ENOENT/);
    expect(report.errors[1]!.message).toBe('directory has no .yaml, .yml, .json files');
    expect(report.findings).toHaveLength(1);
  });

  it('reads standard input once for -, named stdin', async () => {
    let reads = 0;
    const stdin = (): Promise<string> => {
      reads++;
      return Promise.resolve(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flags\ndata:\n  flag: web\n---\n${pod('web')}`);
    };
    const report = await auditPaths(['-', '-'], settings, stdin);
    expect(reads).toBe(1);
    expect(report.findings.map((finding) => [finding.file, finding.line])).toEqual([['stdin', 15]]);
  });
});

describe('summary', () => {
  it('counts findings per severity and fails at or above --fail-on', async () => {
    const report = await auditPaths(['-'], settings, () => Promise.resolve(`kind: ConfigMap\ndata: {flag: web}\n---\n${pod('web')}`));
    expect(summarize(report)).toEqual({ findings: 1, deny: 0, warn: 1, audit: 0, errors: 0, exemptions: 0, resources: 2, documents: 2, files: 1 });
    expect(hasFailingFindings(report, 'deny')).toBe(false);
    expect(hasFailingFindings(report, 'warn')).toBe(true);
    expect(hasFailingFindings(report, 'audit')).toBe(true);
    expect(hasFailingFindings(report, 'none')).toBe(false);
  });
});
