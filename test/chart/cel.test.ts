import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { AdmissionMode } from '../../src/admission/mode.js';
import { compilePolicies, referenced } from '../../src/cel/compile.js';
import { migrationPolicies } from '../../src/cel/migration-policy.js';
import type { KubeObject } from '../../src/model/kube.js';
import { parseVersion } from '../../src/model/version.js';
import { parsePolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { CEL_POLICIES_FILE, chartCelData, renderChartCelData } from '../support/chart-cel.js';
import { CHART_DIR, HelmError, renderChart, runHelm, type KubeManifest } from '../support/helm.js';
import { DEFAULT_VALUES, merge, namespaceLabels, ofKind, selects, type LabelSelector, type Values } from './chart.js';

/**
 * The chart's in-tree engines, rendered by real helm: the policies equal what `podpatterns compile` prints for the
 * same values, mode by mode; what they cannot honour is refused; hybrid tells the webhook to skip exactly them.
 */

type Spec = Record<string, unknown> & {
  variables: Array<{ name: string; expression: string }>;
  validations: Array<{ expression: string; messageExpression?: string }>;
  auditAnnotations?: Array<{ valueExpression: string }>;
  matchConditions?: Array<{ expression: string }>;
};
type Manifest = KubeManifest & { spec: Record<string, unknown> };

const KUBE_VERSION = '1.37.0';
let directory: string;
let files = 0;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'podpatterns-chart-cel-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function valuesFile(values: Values): Promise<string> {
  const file = join(directory, `values-${++files}.yaml`);
  // YAML 1.1, as helm reads it: `off` and `no` stay strings.
  await writeFile(file, stringify(values, { version: '1.1' }));
  return file;
}

async function render(values: Values, options: { release?: string; namespace?: string; kubeVersion?: string } = {}): Promise<Manifest[]> {
  return (await renderChart([await valuesFile(values)], {}, { releaseName: options.release ?? 'prod', namespace: options.namespace ?? 'platform', kubeVersion: options.kubeVersion ?? KUBE_VERSION })) as Manifest[];
}

async function refusal(values: Values, kubeVersion = KUBE_VERSION): Promise<string> {
  try {
    await render(values, { kubeVersion });
  } catch (error) {
    if (error instanceof HelmError) return error.result.stderr;
    throw error;
  }
  throw new Error('helm rendered values it should have refused');
}

/** A policy with the variables its expressions read, as compile declares them: a variable nothing reads changes nothing. */
function pruned(spec: Spec): Spec {
  const used = [
    ...spec.validations.flatMap((validation) => [validation.expression, validation.messageExpression ?? '']),
    ...(spec.auditAnnotations ?? []).map((annotation) => annotation.valueExpression),
    ...(spec.matchConditions ?? []).map((condition) => condition.expression),
  ];
  return { ...spec, variables: referenced(spec.variables, used) };
}

interface Expected {
  policies: Map<string, { rule: string; spec: Spec }>;
  bindings: Map<string, { policy: string; actions: string[]; selector: unknown }>;
}

/**
 * What the chart must render for `values`: per mode the chart binds (enforce and warn namespaces, the default
 * mode elsewhere), `podpatterns compile` in that mode for the policy the values make, named as the chart names
 * them, with one binding per mode. `offRules` are left to the webhook (hybrid with options).
 */
function expected(given: Values, fullname: string, releaseNamespace: string, offRules: string[] = []): Expected {
  const values = merge(DEFAULT_VALUES, given);
  const validation = values.validation as { mode: AdmissionMode; namespaces?: { enforce?: string[]; warn?: string[] } };
  const policyValues = (values.policy ?? {}) as { rules?: Record<string, unknown>; exemptions?: unknown };
  const rules = { ...policyValues.rules, ...Object.fromEntries(offRules.map((id) => [id, 'off'])) };
  const policy = parsePolicy(stringify({ rules, ...(policyValues.exemptions !== undefined && { exemptions: policyValues.exemptions }) }), 'values', ALL_RULES);
  const excluded = [...new Set(['kube-system', releaseNamespace, ...((values.webhook as { excludeNamespaces?: string[] } | undefined)?.excludeNamespaces ?? [])])];
  const enforce = validation.namespaces?.enforce ?? [];
  const warn = validation.namespaces?.warn ?? [];
  const entries = [
    ...(enforce.length > 0 ? [{ key: 'enforce', mode: 'enforce' as const, in: enforce, notIn: excluded }] : []),
    ...(warn.length > 0 ? [{ key: 'warn', mode: 'warn' as const, in: warn, notIn: excluded }] : []),
    { key: 'default', mode: validation.mode, in: [] as string[], notIn: [...new Set([...excluded, ...enforce, ...warn])] },
  ];
  const version = parseVersion(KUBE_VERSION)!;
  const result: Expected = { policies: new Map(), bindings: new Map() };
  for (const entry of entries) {
    const { objects } = compilePolicies(ALL_RULES, { ...policy, migration: { ...policy.migration, mode: 'off' } }, { kubernetesVersion: version, minKubeletVersion: version, mode: entry.mode, releaseNamespace, excludedNamespaces: excluded, now: Date.now() });
    for (const compiled of objects.filter((object) => object.kind === 'ValidatingAdmissionPolicy')) {
      const name = compiled.metadata!.name!.replace(/^podpatterns-/, '');
      const binding = objects.find((object) => object.kind === 'ValidatingAdmissionPolicyBinding' && object.metadata!.name === compiled.metadata!.name)!;
      const actions = (binding.spec as { validationActions: string[] }).validationActions;
      const chartName = `${fullname}-${name.endsWith('-pre-existing') || !actions.includes('Deny') ? name : `${name}-deny`}`;
      result.policies.set(chartName, { rule: compiled.metadata!.labels!['podpatterns.io/rule']!, spec: pruned(compiled.spec as Spec) });
      const selector = { matchExpressions: [...(entry.in.length > 0 ? [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: entry.in }] : []), { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: entry.notIn }] };
      result.bindings.set(`${chartName}-${entry.key}`, { policy: chartName, actions, selector });
    }
  }
  return result;
}

function expectRendered(manifests: Manifest[], want: Expected): void {
  const policies = ofKind<Manifest>(manifests, 'ValidatingAdmissionPolicy').filter((policy) => policy.metadata.labels?.['podpatterns.io/rule'] !== 'sidecar-migration');
  expect(policies.map((policy) => policy.metadata.name).sort()).toEqual([...want.policies.keys()].sort());
  for (const policy of policies) {
    const expectedPolicy = want.policies.get(policy.metadata.name)!;
    expect(policy.metadata.labels?.['podpatterns.io/rule'], policy.metadata.name).toBe(expectedPolicy.rule);
    expect(pruned(policy.spec as Spec), policy.metadata.name).toEqual(expectedPolicy.spec);
  }
  const bindings = ofKind<Manifest>(manifests, 'ValidatingAdmissionPolicyBinding').filter((binding) => binding.metadata.labels?.['podpatterns.io/rule'] !== 'sidecar-migration');
  expect(bindings.map((binding) => binding.metadata.name).sort()).toEqual([...want.bindings.keys()].sort());
  for (const binding of bindings) {
    const expectedBinding = want.bindings.get(binding.metadata.name)!;
    expect(binding.spec, binding.metadata.name).toEqual({ policyName: expectedBinding.policy, validationActions: expectedBinding.actions, matchResources: { namespaceSelector: expectedBinding.selector } });
  }
}

function serverArgs(manifests: Manifest[]): string[] {
  const [deployment] = ofKind<Manifest & { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } }>(manifests, 'Deployment');
  return deployment?.spec.template.spec.containers[0]!.args ?? [];
}

const YEAR = new Date().getUTCFullYear();

/** Every kind of value the policies read: modes per namespace, pinned severities, a rule off, central and annotation exemptions. */
const BUSY_VALUES: Values = {
  webhook: { excludeNamespaces: ['sandbox-ci'] },
  validation: { mode: 'warn', namespaces: { enforce: ['payments', 'billing'], warn: ['staging'] } },
  policy: {
    rules: {
      'port-conflict': { severity: 'warn' },
      'unpinned-image': 'deny',
      'restart-policy-on-container': { severity: 'deny' },
      'shared-process-namespace': 'off',
      'privileged-sidecar': { enabled: true },
      'too-many-sidecars': { threshold: 5 },
    },
    exemptions: {
      annotations: true,
      namespaces: ['legacy', 'obrien'],
      list: [
        { namespace: 'legacy', kind: 'Deployment', name: 'billing-*.v?', rules: ['port-conflict', 'unpinned-image'], reason: "ticket OPS-1234: it's \\ fine", expires: `${YEAR + 3}-02-28` },
        { namespace: 'payments', rules: ['*'], reason: 'long gone', expires: '2020-01-31' },
        { namespace: 'staging', name: 'a(b)[c]{d}+e', rules: ['sidecar-missing-resources'], reason: 'regular expression characters, literally' },
      ],
    },
  },
};

describe('the chart\'s generated policies', () => {
  it('are up to date with the rules: npm run docs regenerates files/cel-policies.json', async () => {
    expect(await readFile(CEL_POLICIES_FILE, 'utf8'), 'run `npm run docs` and commit charts/podpatterns/files/cel-policies.json').toBe(renderChartCelData());
  });

  it('hold every rule that compiles, each with its policies for every severity setting and mode', () => {
    const data = chartCelData();
    const newest = data.variants.at(-1)!;
    const compiled = compilePolicies(ALL_RULES, parsePolicy('{}', 'defaults', ALL_RULES), { kubernetesVersion: parseVersion(KUBE_VERSION)!, minKubeletVersion: parseVersion('1.34')!, mode: 'enforce', releaseNamespace: 'x', excludedNamespaces: [] }).compiled;
    expect(newest.compiled).toEqual(compiled);
    expect(compiled.length).toBeGreaterThan(5);
    for (const rule of newest.compiled) {
      for (const setting of ['default', 'deny', 'warn', 'audit'] as const) {
        for (const mode of ['enforce', 'warn', 'audit'] as const) expect(newest.rules[rule]![setting][mode].length, `${rule} ${setting} ${mode}`).toBeGreaterThan(0);
      }
    }
    expect(newest.webhookOnly.map((entry) => entry.rule)).toContain('hpa-pod-average-on-multi-container');
  });
});

describe('validation.engine=cel', () => {
  it('renders what podpatterns compile prints for the default values, and no validating webhook', async () => {
    const values = merge({ validation: { mode: 'audit' } }, { validation: { engine: 'cel' } });
    const manifests = await render(values);
    expectRendered(manifests, expected(values, 'prod-podpatterns', 'platform'));
    expect(ofKind(manifests, 'ValidatingWebhookConfiguration')).toEqual([]);
  });

  it('renders what podpatterns compile prints mode by mode for pinned severities, a rule off, excluded namespaces and exemptions', async () => {
    const values = merge(BUSY_VALUES, { validation: { engine: 'cel' } });
    const manifests = await render(values);
    const want = expected(values, 'prod-podpatterns', 'platform');
    expectRendered(manifests, want);
    // The policy pinned to deny denies in the enforce namespaces only; each namespace has one binding per rule.
    expect(want.bindings.get('prod-podpatterns-unpinned-image-deny-enforce')).toMatchObject({ actions: ['Deny', 'Audit'] });
    expect(want.bindings.get('prod-podpatterns-unpinned-image-default')).toMatchObject({ actions: ['Warn', 'Audit'] });
    const exempted = (ofKind<Manifest>(manifests, 'ValidatingAdmissionPolicy').find((policy) => policy.metadata.name === 'prod-podpatterns-port-conflict')!.spec as Spec).variables.find((variable) => variable.name === 'exempted')!.expression;
    expect(exempted).toContain(".matches('(?s)^billing-.*\\\\.v.$')");
    expect(exempted).not.toContain("'payments'");
  });

  it('runs no server when the migration is in-tree too: no Deployment, Service, certificate or helm test pod', async () => {
    const manifests = await render({ validation: { engine: 'cel' }, migration: { engine: 'cel' } });
    expect(manifests.map((manifest) => manifest.kind).sort()).toEqual([
      ...Array(ofKind(manifests, 'ValidatingAdmissionPolicy').length).fill('ValidatingAdmissionPolicy'),
      ...Array(ofKind(manifests, 'ValidatingAdmissionPolicyBinding').length).fill('ValidatingAdmissionPolicyBinding'),
    ]);
    // dry-run: the migration's warning policy is among them.
    expect(ofKind<Manifest>(manifests, 'ValidatingAdmissionPolicy').some((policy) => policy.metadata.name === 'prod-podpatterns-sidecar-migration')).toBe(true);
  });

  it('keeps the policy ConfigMap for the cluster audit, without the chart-only engine key', async () => {
    const manifests = await render({ validation: { engine: 'cel' }, migration: { engine: 'cel' }, clusterAudit: { enabled: true } });
    const configMap = ofKind<KubeManifest & { data: Record<string, string> }>(manifests, 'ConfigMap')[0]!;
    const policy = parsePolicy(configMap.data['policy.yaml']!, 'policy.yaml', ALL_RULES);
    expect(policy.migration.mode).toBe('off');
    expect(ofKind(manifests, 'Deployment')).toEqual([]);
  });

  it('refuses a cluster older than the compiled policies, naming both versions', async () => {
    const stderr = await refusal({ validation: { engine: 'cel' } }, '1.34.2');
    expect(stderr).toContain('validation.engine=cel: the compiled policies are for Kubernetes 1.35 or newer, and the cluster is v1.34.2');
    expect(await refusal({ validation: { engine: 'hybrid' }, cluster: { kubernetesVersion: '1.33' } })).toContain('and the cluster is 1.33');
  });

  it('refuses rule options other than the defaults, naming each value', async () => {
    const stderr = await refusal({ validation: { engine: 'cel' }, policy: { rules: { 'too-many-sidecars': { threshold: 3 }, 'unpinned-image': { floatingTags: ['main'] } } } });
    expect(stderr).toContain('policy.rules.too-many-sidecars.threshold=3');
    expect(stderr).toContain('hold each rule\'s default options only');
    expect(stderr).toContain('use validation.engine=hybrid');
  });

  it('refuses an exemption with a control character, naming the entry', async () => {
    const stderr = await refusal({ validation: { engine: 'cel' }, policy: { exemptions: { list: [{ namespace: 'a', rules: ['*'], reason: 'bell\u0007' }] } } });
    expect(stderr).toContain('policy.exemptions.list[0].reason contains a control character');
  });

  it('refuses an expiry date that does not exist', async () => {
    const stderr = await refusal({ validation: { engine: 'cel' }, policy: { exemptions: { list: [{ namespace: 'a', rules: ['*'], reason: 'r', expires: '2027-02-30' }] } } });
    expect(stderr).toContain('expires "2027-02-30" is not a date');
  });
});

describe('validation.engine=hybrid', () => {
  it('renders the policies and tells the webhook to skip exactly the rules they cover', async () => {
    const values = merge(BUSY_VALUES, { validation: { engine: 'hybrid' } });
    const manifests = await render(values);
    expectRendered(manifests, expected(values, 'prod-podpatterns', 'platform'));
    const covered = new Set(ofKind<Manifest>(manifests, 'ValidatingAdmissionPolicy').map((policy) => policy.metadata.labels!['podpatterns.io/rule']!));
    const skipped = serverArgs(manifests).find((arg) => arg.startsWith('--skip-rules='))!.slice('--skip-rules='.length).split(',');
    expect(skipped.sort()).toEqual([...covered].sort());
    expect(skipped).not.toContain('shared-process-namespace');
    expect(ofKind(manifests, 'ValidatingWebhookConfiguration')).toHaveLength(1);
  });

  it('binds each rule once in each namespace, with the actions of the mode the namespace is listed under', async () => {
    const manifests = await render(merge(BUSY_VALUES, { validation: { engine: 'hybrid' } }));
    const bindings = ofKind<Manifest & { spec: { policyName: string; validationActions: string[]; matchResources: { namespaceSelector: LabelSelector } } }>(manifests, 'ValidatingAdmissionPolicyBinding');
    const rules = [...new Set(bindings.map((binding) => binding.metadata.labels!['podpatterns.io/rule']!))];
    const verdicts = (namespace: string, rule: string) =>
      bindings.filter((binding) => binding.metadata.labels!['podpatterns.io/rule'] === rule && !binding.spec.policyName.endsWith('-pre-existing') && selects(binding.spec.matchResources.namespaceSelector, namespaceLabels(namespace)));
    for (const rule of rules) {
      for (const namespace of ['kube-system', 'platform', 'sandbox-ci']) expect(verdicts(namespace, rule), `${rule} in ${namespace}`).toEqual([]);
      for (const namespace of ['payments', 'billing', 'staging', 'default', 'team-a']) {
        const bound = verdicts(namespace, rule);
        const mode = ['payments', 'billing'].includes(namespace) ? 'enforce' : namespace === 'staging' ? 'warn' : 'default';
        // A rule that picks its verdict per finding has a policy per verdict, each bound once; restart-policy-on-container
        // pinned to deny merges its two verdicts into one policy.
        const perFinding = bindings.some((binding) => binding.spec.policyName.endsWith(`-${rule}-warn`));
        expect(bound, `${rule} in ${namespace}`).toHaveLength(perFinding ? 2 : 1);
        expect(new Set(bound.map((binding) => binding.spec.policyName)).size, `${rule} in ${namespace}`).toBe(bound.length);
        for (const binding of bound) expect(binding.metadata.name.endsWith(`-${mode}`), `${binding.metadata.name} in ${namespace}`).toBe(true);
      }
    }
    expect(verdicts('payments', 'probe-named-port-undeclared').map((binding) => binding.spec.validationActions)).toEqual([['Deny', 'Audit'], ['Warn', 'Audit']]);
    expect(verdicts('payments', 'restart-policy-on-container')).toHaveLength(1);
    // unpinned-image is pinned to deny: it denies where the namespace enforces, and only warns elsewhere (mode warn).
    expect(verdicts('payments', 'unpinned-image')[0]!.spec.validationActions).toEqual(['Deny', 'Audit']);
    expect(verdicts('team-a', 'unpinned-image')[0]!.spec.validationActions).toEqual(['Warn', 'Audit']);
  });

  it('leaves a rule whose options differ from the defaults to the webhook, whole', async () => {
    const values = merge(BUSY_VALUES, { validation: { engine: 'hybrid' }, policy: { rules: { 'too-many-sidecars': { threshold: 3 } } } });
    const manifests = await render(values);
    expectRendered(manifests, expected(values, 'prod-podpatterns', 'platform', ['too-many-sidecars']));
    expect(serverArgs(manifests).find((arg) => arg.startsWith('--skip-rules='))).not.toContain('too-many-sidecars');
  });

  it('passes no --skip-rules with the webhook engine, and renders no policy', async () => {
    const manifests = await render(BUSY_VALUES);
    expect(serverArgs(manifests).some((arg) => arg.startsWith('--skip-rules'))).toBe(false);
    expect(ofKind(manifests, 'ValidatingAdmissionPolicy')).toEqual([]);
  });

  it('says in the install notes which rules the webhook keeps, leaving out the audit-only HPA rule it is never sent', async () => {
    const notesOf = async (engine: string) => {
      const result = await runHelm(['install', 'prod', CHART_DIR, '--dry-run=client', '-n', 'platform', '--set', `validation.engine=${engine}`]);
      expect(result.code, result.stderr).toBe(0);
      return result.stdout.slice(result.stdout.indexOf('NOTES:'));
    };
    const hybrid = await notesOf('hybrid');
    const kept = /The webhook checks the rest: (.*)/.exec(hybrid)?.[1]?.split(', ') ?? [];
    expect(kept).toContain('init-container-never-exits');
    expect(kept).toContain('classic-sidecar-in-job');
    expect(kept).not.toContain('hpa-pod-average-on-multi-container');
    expect(kept).not.toContain('port-conflict');
    expect(await notesOf('cel')).toMatch(/- hpa-pod-average-on-multi-container \(audit only\): /);
  });
});

describe('migration.engine=cel', () => {
  const migrationValues = (mode: string, cronJobs: boolean) => ({ migration: { engine: 'cel', mode, cronJobs, pods: false }, webhook: { excludeNamespaces: ['batch-legacy'] } });

  it.each([
    ['apply', 'MutatingAdmissionPolicy', true],
    ['dry-run', 'ValidatingAdmissionPolicy', false],
  ] as const)('renders in %s mode the %s podpatterns compile prints, and no mutating webhook', async (mode, kind, cronJobs) => {
    const manifests = await render(migrationValues(mode, cronJobs));
    const [policy, binding] = migrationPolicies({
      kubernetesVersion: parseVersion(KUBE_VERSION)!,
      minKubeletVersion: parseVersion(KUBE_VERSION)!,
      migration: { mode, cronJobs, pods: false },
      releaseNamespace: 'platform',
      excludedNamespaces: ['batch-legacy'],
    }).objects as KubeObject[];
    const rendered = ofKind<Manifest>(manifests, kind).find((object) => object.metadata.name === 'prod-podpatterns-sidecar-migration')!;
    expect(rendered.spec).toEqual(policy!.spec);
    const renderedBinding = ofKind<Manifest>(manifests, `${kind}Binding`).find((object) => object.metadata.name === 'prod-podpatterns-sidecar-migration')!;
    expect(renderedBinding.spec).toEqual({ ...(binding!.spec as object), policyName: 'prod-podpatterns-sidecar-migration' });
    expect(ofKind(manifests, 'MutatingWebhookConfiguration')).toEqual([]);
  });

  it('refuses Kubernetes before 1.36, where MutatingAdmissionPolicy is not served', async () => {
    const stderr = await refusal(migrationValues('apply', false), '1.35.3');
    expect(stderr).toContain('migration.engine=cel: MutatingAdmissionPolicy (admissionregistration.k8s.io/v1) is served from Kubernetes 1.36, and the cluster is v1.35.3');
  });

  it('refuses kubelets older than native sidecars', async () => {
    const stderr = await refusal({ ...migrationValues('apply', false), cluster: { kubernetesVersion: '1.36', minKubeletVersion: '1.28' } });
    expect(stderr).toContain('native sidecars need kubelets 1.29 or newer, and cluster.minKubeletVersion is 1.28');
  });

  it('renders nothing for the migration when it is off, whatever the engine', async () => {
    const manifests = await render({ migration: { engine: 'cel', mode: 'off' } });
    expect(manifests.some((manifest) => manifest.metadata.name.endsWith('sidecar-migration'))).toBe(false);
  });
});

describe('the helm test pod under hybrid', () => {
  it('sends a pod with a webhook-only finding too, since the webhook leaves port-conflict to the policies', async () => {
    const manifests = await render({ validation: { engine: 'hybrid' } });
    const [pod] = ofKind<Manifest & { spec: { containers: Array<{ args: string[] }> } }>(manifests, 'Pod');
    expect(pod!.spec.containers[0]!.args[0]).toContain("command: ['sh', '-c', 'sleep infinity']");
    const result = await runHelm(['template', 'x', CHART_DIR]);
    expect(result.stdout).not.toContain('sleep infinity');
  });
});
