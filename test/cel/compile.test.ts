import { describe, expect, it } from 'vitest';
import { compilePolicies, referenced, validationActions, type CompileOptions } from '../../src/cel/compile.js';
import { globToRe2, type CelExemptions } from '../../src/cel/exemptions.js';
import type { KubeObject } from '../../src/model/kube.js';
import { parseVersion } from '../../src/model/version.js';
import { PodpatternsError } from '../../src/errors.js';
import { defaultPolicy, parsePolicy, type Policy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';

const v = (text: string) => parseVersion(text)!;
const options = (overrides: Partial<CompileOptions> = {}): CompileOptions => ({
  kubernetesVersion: v('1.37'),
  minKubeletVersion: v('1.37'),
  mode: 'enforce',
  releaseNamespace: 'podpatterns',
  excludedNamespaces: [],
  ...overrides,
});

type Spec = Record<string, unknown> & {
  validationActions?: string[];
  failurePolicy?: string;
  policyName?: string;
  variables?: Array<{ name: string; expression: string }>;
  validations?: Array<{ expression: string; messageExpression: string; reason: string }>;
  matchResources?: { namespaceSelector: { matchExpressions: Array<{ key: string; operator: string; values: string[] }> } };
  matchConstraints?: { resourceRules: Array<{ apiGroups: string[]; resources: string[]; operations: string[] }> };
};
const spec = (object: KubeObject | undefined): Spec => (object?.spec ?? {}) as Spec;
const named = (objects: KubeObject[], kind: string, name: string) => objects.find((object) => object.kind === kind && object.metadata?.name === name);
const ruleObjects = (objects: KubeObject[]) => objects.filter((object) => object.metadata?.labels?.['podpatterns.io/rule'] !== 'sidecar-migration');

describe('podpatterns compile', () => {
  it('prints one policy and one binding per compiled rule, named podpatterns-<rule id> and labelled with it', () => {
    const { objects, compiled } = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options());
    const rules = ruleObjects(objects);
    expect(compiled).toContain('port-conflict');
    for (const rule of compiled) {
      const policies = rules.filter((object) => object.kind === 'ValidatingAdmissionPolicy' && object.metadata?.labels?.['podpatterns.io/rule'] === rule);
      expect(policies.length, rule).toBeGreaterThanOrEqual(1);
      for (const policy of policies) {
        const name = policy.metadata!.name!;
        expect(name.startsWith(`podpatterns-${rule}`)).toBe(true);
        expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
        const binding = named(rules, 'ValidatingAdmissionPolicyBinding', name);
        expect(spec(binding).policyName).toBe(name);
        expect(binding!.metadata!.labels!['podpatterns.io/rule']).toBe(rule);
      }
    }
    expect(rules.filter((object) => object.kind === 'ValidatingAdmissionPolicy')).toHaveLength(rules.filter((object) => object.kind === 'ValidatingAdmissionPolicyBinding').length);
  });

  it('accounts for every rule: compiled, or skipped with the reason', () => {
    const { compiled, skipped } = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options());
    expect([...compiled, ...skipped.map((entry) => entry.rule)].sort()).toEqual(ALL_RULES.map((rule) => rule.id).sort());
    for (const entry of skipped) expect(entry.reason.length, entry.rule).toBeGreaterThan(20);
    expect(skipped.find((entry) => entry.rule === 'hpa-pod-average-on-multi-container')).toMatchObject({ why: 'webhook-only' });
    expect(skipped.find((entry) => entry.rule === 'init-container-probes')).toMatchObject({ why: 'not-needed' });
  });

  it('matches every workload kind the engine reads, on CREATE and UPDATE', () => {
    const { objects } = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options());
    const rules = spec(named(objects, 'ValidatingAdmissionPolicy', 'podpatterns-port-conflict')).matchConstraints!.resourceRules;
    expect(rules.flatMap((rule) => rule.resources).sort()).toEqual(
      ['cronjobs', 'daemonsets', 'deployments', 'jobs', 'pods', 'podtemplates', 'replicasets', 'replicationcontrollers', 'statefulsets'],
    );
    for (const rule of rules) expect(rule.operations).toEqual(['CREATE', 'UPDATE']);
  });

  it('maps each verdict to validationActions the way the webhook modes treat findings', () => {
    expect(validationActions('deny', 'enforce')).toEqual(['Deny', 'Audit']);
    expect(validationActions('warn', 'enforce')).toEqual(['Warn', 'Audit']);
    expect(validationActions('audit', 'enforce')).toEqual(['Audit']);
    expect(validationActions('deny', 'warn')).toEqual(['Warn', 'Audit']);
    expect(validationActions('warn', 'warn')).toEqual(['Warn', 'Audit']);
    expect(validationActions('deny', 'audit')).toEqual(['Audit']);
    expect(validationActions('warn', 'audit')).toEqual(['Audit']);
  });

  it('fails closed only where it denies: failurePolicy Fail with Deny, Ignore otherwise', () => {
    const enforce = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options()).objects;
    expect(spec(named(enforce, 'ValidatingAdmissionPolicy', 'podpatterns-port-conflict')).failurePolicy).toBe('Fail');
    expect(spec(named(enforce, 'ValidatingAdmissionPolicy', 'podpatterns-unpinned-image')).failurePolicy).toBe('Ignore');
    const warn = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options({ mode: 'warn' })).objects;
    expect(spec(named(warn, 'ValidatingAdmissionPolicyBinding', 'podpatterns-port-conflict')).validationActions).toEqual(['Warn', 'Audit']);
    expect(spec(named(warn, 'ValidatingAdmissionPolicy', 'podpatterns-port-conflict')).failurePolicy).toBe('Ignore');
  });

  it('ratchets UPDATEs of denying policies against oldObject, and only those', () => {
    const enforce = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options()).objects;
    const denying = spec(named(enforce, 'ValidatingAdmissionPolicy', 'podpatterns-port-conflict'));
    expect(denying.variables!.some((variable) => variable.expression.includes('oldObject'))).toBe(true);
    expect(denying.validations![0]!.expression).toContain('newFindings0');
    const warning = spec(named(enforce, 'ValidatingAdmissionPolicy', 'podpatterns-unpinned-image'));
    expect(warning.variables!.some((variable) => variable.expression.includes('oldObject'))).toBe(false);
  });

  it('skips the pods a rule cannot find anything on by a matchCondition that reads the object alone', () => {
    const { objects } = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options());
    const policies = ruleObjects(objects).filter((object) => object.kind === 'ValidatingAdmissionPolicy');
    expect(policies.length).toBeGreaterThan(10);
    for (const policy of policies) {
      const conditions = spec(policy).matchConditions as Array<{ name: string; expression: string }> | undefined;
      expect(conditions, policy.metadata!.name).toHaveLength(1);
      // The API server refuses a matchCondition that reads variables.
      expect(conditions![0]!.expression, policy.metadata!.name).not.toContain('variables.');
      expect(conditions![0]!.expression, policy.metadata!.name).toMatch(/^\(object\.kind == 'Pod' \? \(/);
    }
    const hostNetwork = spec(named(objects, 'ValidatingAdmissionPolicy', 'podpatterns-host-network-sidecars')).matchConditions as Array<{ expression: string }>;
    expect(hostNetwork[0]!.expression).toContain("object.?spec.orValue({}).?hostNetwork.orValue(false) == true");
    expect(hostNetwork[0]!.expression).toContain("object.?spec.?jobTemplate.?spec.?template.?spec.orValue({}).?hostNetwork");
  });

  it('keeps a path that depends on the kind whole when text is appended to it', () => {
    const { objects } = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options());
    const inits = spec(named(objects, 'ValidatingAdmissionPolicy', 'podpatterns-port-conflict')).variables!.find((variable) => variable.name === 'inits')!.expression;
    expect(inits).toContain(": 'spec.template.spec') + '.initContainers['");
    const annotations = spec(named(objects, 'ValidatingAdmissionPolicy', 'podpatterns-port-conflict')).variables!.find((variable) => variable.name === 'annotations')!.expression;
    expect(annotations).toMatch(/^\(object\.kind == 'Pod' \? object\.metadata : .*\)\.\?annotations\.orValue\(\{\}\)$/);
  });

  it('declares only the variables its expressions read, directly or through other variables', () => {
    const { objects } = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options());
    for (const policy of ruleObjects(objects).filter((object) => object.kind === 'ValidatingAdmissionPolicy')) {
      const { variables = [], validations = [] } = spec(policy);
      const readers = [...validations.flatMap((v) => [v.expression, v.messageExpression]), ...variables.map((v) => v.expression), ...((spec(policy).auditAnnotations as Array<{ valueExpression: string }> | undefined) ?? []).map((a) => a.valueExpression)];
      for (const { name } of variables) expect(readers.some((text) => new RegExp(`\\bvariables\\.${name}\\b`).test(text)), `${policy.metadata!.name}: ${name}`).toBe(true);
    }
    const variables = [{ name: 'a', expression: '1' }, { name: 'b', expression: 'variables.a + 1' }, { name: 'c', expression: '3' }, { name: 'd', expression: 'variables.b' }];
    expect(referenced(variables, ['variables.d > 0']).map((v) => v.name)).toEqual(['a', 'b', 'd']);
    expect(referenced(variables, ["'variables.c is text only to a reader' != ''"]).map((v) => v.name)).toEqual(['c']);
  });

  it('warns about the deny findings an UPDATE keeps through a companion policy that matches UPDATE only', () => {
    const { objects } = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options());
    const companion = spec(named(objects, 'ValidatingAdmissionPolicy', 'podpatterns-port-conflict-pre-existing'));
    expect(companion.matchConstraints!.resourceRules.every((rule) => rule.operations.join() === 'UPDATE')).toBe(true);
    expect(companion.validations![0]!.messageExpression).toContain("'port-conflict (pre-existing): '");
    expect(spec(named(objects, 'ValidatingAdmissionPolicyBinding', 'podpatterns-port-conflict-pre-existing')).validationActions).toEqual(['Warn', 'Audit']);
    expect(named(objects, 'ValidatingAdmissionPolicy', 'podpatterns-unpinned-image-pre-existing')).toBeUndefined();
    const warn = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options({ mode: 'warn' })).objects;
    expect(named(warn, 'ValidatingAdmissionPolicy', 'podpatterns-port-conflict-pre-existing')).toBeUndefined();
  });

  it('leaves kube-system, the release namespace and the namespaces asked for alone', () => {
    const { objects } = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options({ releaseNamespace: 'platform', excludedNamespaces: ['legacy'] }));
    for (const binding of ruleObjects(objects).filter((object) => object.kind === 'ValidatingAdmissionPolicyBinding')) {
      expect(spec(binding).matchResources!.namespaceSelector.matchExpressions).toEqual([
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'platform', 'legacy'] },
      ]);
    }
  });

  it('writes the webhook denial as the message: rule id, message, Fix, cut to the status length', () => {
    const { objects } = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options());
    const [validation] = spec(named(objects, 'ValidatingAdmissionPolicy', 'podpatterns-port-conflict')).validations!;
    expect(validation!.messageExpression).toContain("'port-conflict: '");
    expect(validation!.messageExpression).toContain(' Fix: Move ');
    expect(validation!.messageExpression).toContain('t.size() <= 2048');
    expect(validation!.reason).toBe('Forbidden');
  });
});

describe('podpatterns compile honours the policy file', () => {
  const policy = parsePolicy(
    [
      'rules:',
      '  port-conflict: { severity: warn }',
      '  unpinned-image: { floatingTags: [main, nightly] }',
      '  too-many-sidecars: { threshold: 2 }',
      '  shared-process-namespace: off',
    ].join('\n'),
    'policy.yaml',
    ALL_RULES,
  );
  const compilation = compilePolicies(ALL_RULES, policy, options());

  it('skips a rule the policy turns off', () => {
    expect(compilation.compiled).not.toContain('shared-process-namespace');
    expect(compilation.skipped).toContainEqual({ rule: 'shared-process-namespace', why: 'disabled', reason: 'turned off in the policy' });
  });

  it('gives a rule the severity the policy pins', () => {
    expect(spec(named(compilation.objects, 'ValidatingAdmissionPolicyBinding', 'podpatterns-port-conflict')).validationActions).toEqual(['Warn', 'Audit']);
  });

  it('bakes rule options into the expressions', () => {
    const unpinned = JSON.stringify(spec(named(compilation.objects, 'ValidatingAdmissionPolicy', 'podpatterns-unpinned-image')));
    expect(unpinned).toContain("['main', 'nightly']");
    const defaults = JSON.stringify(spec(named(compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options()).objects, 'ValidatingAdmissionPolicy', 'podpatterns-unpinned-image')));
    expect(defaults).not.toContain("'nightly'");
    const tooMany = spec(named(compilation.objects, 'ValidatingAdmissionPolicy', 'podpatterns-too-many-sidecars'));
    expect(tooMany.variables!.find((variable) => variable.name === 'findings0')!.expression).toContain('>= 2 ?');
  });
});

describe('podpatterns compile for a Kubernetes version', () => {
  it('refuses a cluster older than 1.30, where ValidatingAdmissionPolicy is not GA, naming the version', () => {
    expect(() => compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options({ kubernetesVersion: v('1.29'), minKubeletVersion: v('1.29') }))).toThrow(PodpatternsError);
    expect(() => compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options({ kubernetesVersion: v('1.29'), minKubeletVersion: v('1.29') }))).toThrow(/1\.29.*1\.30/);
  });

  it('compiles restart-policy-on-container from 1.35 as a deny and a warn policy, and not before', () => {
    const on135 = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options({ kubernetesVersion: v('1.35'), minKubeletVersion: v('1.35') }));
    expect(spec(named(on135.objects, 'ValidatingAdmissionPolicyBinding', 'podpatterns-restart-policy-on-container')).validationActions).toEqual(['Deny', 'Audit']);
    expect(spec(named(on135.objects, 'ValidatingAdmissionPolicyBinding', 'podpatterns-restart-policy-on-container-warn')).validationActions).toEqual(['Warn', 'Audit']);
    for (const version of ['1.34', '1.33']) {
      const before = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options({ kubernetesVersion: v(version), minKubeletVersion: v(version) }));
      expect(before.compiled).not.toContain('restart-policy-on-container');
      expect(before.skipped.find((entry) => entry.rule === 'restart-policy-on-container')).toMatchObject({ why: 'not-needed' });
    }
  });

  it('compiles native-sidecar-unsupported only where an old kubelet blocks native sidecars, with its version in the text', () => {
    expect(compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options()).compiled).not.toContain('native-sidecar-unsupported');
    const old = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options({ kubernetesVersion: v('1.31'), minKubeletVersion: v('1.28') }));
    expect(old.compiled).toContain('native-sidecar-unsupported');
    expect(JSON.stringify(named(old.objects, 'ValidatingAdmissionPolicy', 'podpatterns-native-sidecar-unsupported'))).toContain('the oldest kubelet (1.28)');
  });

  it('keeps rules that need the list functions of 1.35 with the webhook below it, saying so', () => {
    const { skipped } = compilePolicies(ALL_RULES, defaultPolicy(ALL_RULES), options({ kubernetesVersion: v('1.33'), minKubeletVersion: v('1.33') }));
    expect(skipped.find((entry) => entry.rule === 'port-conflict')).toMatchObject({ why: 'webhook-only', reason: expect.stringContaining('1.35') });
  });

  it('adds the sidecar migration as a MutatingAdmissionPolicy on 1.36+, and says why not below', () => {
    const apply = parsePolicy('migration: { mode: apply }', 'policy.yaml', ALL_RULES);
    const on136 = compilePolicies(ALL_RULES, apply, options({ kubernetesVersion: v('1.36'), minKubeletVersion: v('1.36') }));
    expect(on136.objects.map((object) => object.kind)).toContain('MutatingAdmissionPolicy');
    expect(on136.migrationSkipped).toBeUndefined();
    const on135 = compilePolicies(ALL_RULES, apply, options({ kubernetesVersion: v('1.35'), minKubeletVersion: v('1.35') }));
    expect(on135.objects.map((object) => object.kind)).not.toContain('MutatingAdmissionPolicy');
    expect(on135.migrationSkipped).toContain('1.36');
  });
});

describe('podpatterns compile and the policy exemptions', () => {
  const day = Date.UTC(2027, 2, 31);
  const withExemptions = (exemptions: Pick<CelExemptions, 'annotations' | 'namespaces'>) => ({ ...defaultPolicy(ALL_RULES), exemptions: { ...exemptions, list: [] } }) as Policy;
  const variable = (objects: KubeObject[], name: string) =>
    spec(named(objects, 'ValidatingAdmissionPolicy', 'podpatterns-port-conflict')).variables!.find((entry) => entry.name === name)!.expression;

  it('compiles the central list per rule, by namespace, kind and name glob, and leaves out what expired', () => {
    const policy = parsePolicy(
      [
        'exemptions:',
        '  list:',
        '    - { namespace: legacy, kind: Deployment, name: "billing-*", rules: [port-conflict], reason: OPS-1234, expires: "2027-03-31" }',
        '    - { namespace: old, rules: ["*"], reason: expired, expires: "2027-03-30" }',
        '    - { namespace: other, rules: [unpinned-image], reason: another rule }',
      ].join('\n'),
      'policy.yaml',
      ALL_RULES,
    );
    const { objects } = compilePolicies(ALL_RULES, policy, options({ now: day + 3_600_000 }));
    const exempted = variable(objects, 'exempted');
    const note = variable(objects, 'exemptionNote');
    expect(exempted).toContain("request.namespace == 'legacy' && object.kind == 'Deployment'");
    expect(exempted).toContain(".matches('(?s)^billing-.*$')");
    expect(note).toContain('reason: OPS-1234 (until 2027-03-31; generate the policies again after it)');
    for (const expression of [exempted, note]) {
      expect(expression).not.toContain("'old'");
      expect(expression).not.toContain("'other'");
    }
  });

  it('honours the annotation only where the policy lets it', () => {
    const off = compilePolicies(ALL_RULES, withExemptions({ annotations: false, namespaces: [] }), options()).objects;
    expect(variable(off, 'exempted')).toBe('false');
    const some = compilePolicies(ALL_RULES, withExemptions({ annotations: true, namespaces: ['sandbox'] }), options()).objects;
    expect(variable(some, 'exempted')).toMatch(/^request\.namespace in \['sandbox'\] && .*\[\?'podpatterns\.io\/ignore'\]/);
    const everywhere = compilePolicies(ALL_RULES, withExemptions({ annotations: true, namespaces: [] }), options()).objects;
    expect(variable(everywhere, 'exempted')).toMatch(/^object\.metadata\.\?annotations.*\[\?'podpatterns\.io\/ignore'\]/);
  });

  it('turns a name glob into an anchored pattern with everything else literal', () => {
    expect(globToRe2('billing-*')).toBe('(?s)^billing-.*$');
    expect(globToRe2('a?.b')).toBe('(?s)^a.\\.b$');
  });
});
