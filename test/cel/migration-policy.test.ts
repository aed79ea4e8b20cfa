import fc from 'fast-check';
import type {
  V1MutatingAdmissionPolicy,
  V1MutatingAdmissionPolicyBinding,
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { MAYBE_ENDLESS, migrationVariables, re2 } from '../../src/cel/migration-expressions.js';
import { migrationPolicies, type MigrationPolicyTarget } from '../../src/cel/migration-policy.js';
import { longRunningCommand } from '../../src/model/command.js';
import { HELPER_PATTERNS, recognizeHelper } from '../../src/model/helpers.js';
import { parseImage } from '../../src/model/image.js';
import { parseVersion } from '../../src/model/version.js';
import type { MigrationSettings } from '../../src/policy/policy.js';

const v = (text: string) => parseVersion(text)!;
const target = (migration: Partial<MigrationSettings> = {}, overrides: Partial<MigrationPolicyTarget> = {}): MigrationPolicyTarget => ({
  kubernetesVersion: v('1.36'),
  minKubeletVersion: v('1.33'),
  migration: { mode: 'apply', cronJobs: false, pods: false, ...migration },
  releaseNamespace: 'podpatterns-system',
  ...overrides,
});

function applyObjects(migration: Partial<MigrationSettings> = {}, overrides: Partial<MigrationPolicyTarget> = {}) {
  const { objects, skipped } = migrationPolicies(target(migration, overrides));
  expect(skipped).toBeUndefined();
  const [policy, binding] = objects as [V1MutatingAdmissionPolicy, V1MutatingAdmissionPolicyBinding];
  return { objects, policy, binding };
}

describe('the objects for migration.mode apply', () => {
  it('is a MutatingAdmissionPolicy with a JSONPatch mutation and its binding, named and labelled for the migration', () => {
    const { objects, policy, binding } = applyObjects();
    expect(objects.map((object) => `${object.apiVersion} ${object.kind}`)).toEqual([
      'admissionregistration.k8s.io/v1 MutatingAdmissionPolicy',
      'admissionregistration.k8s.io/v1 MutatingAdmissionPolicyBinding',
    ]);
    for (const object of objects) expect(object.metadata).toEqual({ name: 'podpatterns-sidecar-migration', labels: { 'podpatterns.io/rule': 'sidecar-migration' } });
    expect(binding.spec?.policyName).toBe(policy.metadata?.name);
    expect(policy.spec?.mutations).toEqual([{ patchType: 'JSONPatch', jsonPatch: { expression: expect.stringContaining('JSONPatch{op: "move"') } }]);
  });

  it('is called again when a later mutation changed the object, and admits the object unchanged when it cannot run', () => {
    const { policy } = applyObjects();
    expect(policy.spec?.reinvocationPolicy).toBe('IfNeeded');
    expect(policy.spec?.failurePolicy).toBe('Ignore');
  });

  it('matches Jobs at creation only, by default', () => {
    expect(applyObjects().policy.spec?.matchConstraints?.resourceRules).toEqual([
      { apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs'], operations: ['CREATE'], scope: 'Namespaced' },
    ]);
  });

  it('also matches CronJobs at creation and update, and bare Pods at creation, when they are opted in', () => {
    const rules = applyObjects({ cronJobs: true, pods: true }).policy.spec?.matchConstraints?.resourceRules ?? [];
    expect(rules.map((rule) => `${rule.resources?.join()} ${rule.operations?.join('+')}`)).toEqual(['jobs CREATE', 'cronjobs CREATE+UPDATE', 'pods CREATE']);
  });

  it('skips kube-system, the release namespace, the excluded ones, and namespaces labelled podpatterns.io/migrate=false, with no object selector', () => {
    const { binding } = applyObjects({}, { excludedNamespaces: ['batch-legacy', 'kube-system'] });
    expect(binding.spec?.matchResources).toEqual({
      namespaceSelector: {
        matchExpressions: [
          { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'podpatterns-system', 'batch-legacy'] },
          { key: 'podpatterns.io/migrate', operator: 'NotIn', values: ['false'] },
        ],
      },
    });
  });

  it('defines every variable before the ones that use it', () => {
    const variables = migrationVariables();
    const names = variables.map((variable) => variable.name);
    expect(new Set(names).size).toBe(names.length);
    variables.forEach((variable, index) => {
      for (const [, used] of variable.expression.matchAll(/variables\.(\w+)/g)) {
        expect(names.indexOf(used!), `${variable.name} uses ${used}`).toBeGreaterThanOrEqual(0);
        expect(names.indexOf(used!), `${variable.name} uses ${used}`).toBeLessThan(index);
      }
    });
  });
});

describe('the objects for migration.mode dry-run', () => {
  it('is a ValidatingAdmissionPolicy that warns and records, since a mutating policy cannot say what it would do', () => {
    const { objects, skipped } = migrationPolicies(target({ mode: 'dry-run' }));
    expect(skipped).toBeUndefined();
    const [policy, binding] = objects as [V1ValidatingAdmissionPolicy, V1ValidatingAdmissionPolicyBinding];
    expect([policy.kind, binding.kind]).toEqual(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
    expect(binding.spec?.validationActions).toEqual(['Warn', 'Audit']);
    expect(policy.spec?.failurePolicy).toBe('Ignore');
    expect(policy.spec?.validations?.[0]?.messageExpression).toContain('"dry-run: would move "');
    expect(policy.spec?.auditAnnotations?.map((annotation) => annotation.key)).toEqual(['would-migrate-sidecars', 'would-set-mesh-native-sidecar']);
    expect(JSON.stringify(policy)).not.toContain('JSONPatch');
  });
});

describe('when there is nothing to compile', () => {
  it.each([
    ['the migration is off', target({ mode: 'off' }), 'migration mode is off'],
    ['the API server predates MutatingAdmissionPolicy', target({}, { kubernetesVersion: v('1.35') }), 'MutatingAdmissionPolicy needs Kubernetes 1.36+ (the API server is 1.35): the migration stays with the webhook'],
    ['a kubelet predates native sidecars', target({}, { minKubeletVersion: v('1.28') }), 'native sidecars need Kubernetes 1.29+ on the oldest kubelet (1.28): nothing is migrated'],
  ])('returns no object and says why when %s', (_case, input, reason) => {
    expect(migrationPolicies(input)).toEqual({ objects: [], skipped: reason });
  });
});

describe('what the CEL is compiled from', () => {
  it('carries every helper pattern of the engine into the policy', () => {
    const expressions = migrationVariables().map((variable) => variable.expression).join('\n');
    for (const pattern of HELPER_PATTERNS) {
      for (const regex of [pattern.image, pattern.name].filter((value): value is RegExp => value !== undefined)) {
        expect(expressions, regex.source).toContain(JSON.stringify(`(?:${re2(regex)})`).slice(1, -1));
      }
    }
  });

  it('tells the helper levels apart exactly as the engine does, on every image and name of its patterns', () => {
    const level = (source: string) => new RegExp(JSON.parse(`"${source}"`) as string);
    const helperLevel = migrationVariables().find((variable) => variable.name === 'helperLevel')!.expression;
    const [highImage, highName, mediumImage, mediumName] = [...helperLevel.matchAll(/matches\("((?:[^"\\]|\\.)*)"\)/g)].map((match) => level(match[1]!));
    const samples = [
      ...['docker.io/istio/proxyv2:1.24.0', 'registry.local:5000/linkerd/proxy@sha256:abc', 'fluent-bit', 'envoyproxy/envoy-distroless:v1', 'quay.io/prometheus/node-exporter:v1', 'busybox'].map((image) => ({ image, name: 'x' })),
      ...['istio-proxy', 'vault-agent', 'daprd', 'oauth2-proxy-web', 'configmap-reloader', 'metrics', 'app'].map((name) => ({ image: 'registry.example.com/app:1', name })),
    ];
    for (const container of samples) {
      const repository = parseImage(container.image).repository;
      const cel = highImage!.test(repository) || highName!.test(container.name) ? 'high' : mediumImage!.test(repository) || mediumName!.test(container.name) ? 'medium' : undefined;
      expect(cel, `${container.image} ${container.name}`).toBe(recognizeHelper(container)?.confidence);
    }
  });

  it('refuses to carry a regular expression flag RE2 has no form for', () => {
    expect(re2(/^(true|yes)$/i)).toBe('(?i)^(true|yes)$');
    expect(() => re2(/a/g)).toThrow('flag g has no RE2 form');
  });

  it('leaves to the webhook every command the engine calls never-ending: each contains a word MAYBE_ENDLESS matches', () => {
    const words = ['sleep', 'infinity', '86400', '5', 'tail', '-f', '-F', '--follow=name', 'while', 'true', ':', 'until', 'false', 'for', '((;;))', 'do', 'done', 'break', ';', '&', 'wait', 'nginx', 'echo', 'exec', '/bin/sleep', 'x'];
    const script = fc.array(fc.constantFrom(...words), { minLength: 1, maxLength: 12 }).map((parts) => parts.join(' '));
    fc.assert(
      fc.property(script, fc.boolean(), (text, asShell) => {
        const container = asShell ? { command: ['sh', '-c', text] } : { command: text.split(' ') };
        if (longRunningCommand(container)) expect(container.command.some((part) => MAYBE_ENDLESS.test(part)), text).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
