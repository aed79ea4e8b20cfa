import { describe, expect, it } from 'vitest';
import { evaluate, IGNORE_ANNOTATION, IGNORE_REASON_ANNOTATION } from '../../src/engine/engine.js';
import type { Rule, RuleInput } from '../../src/engine/types.js';
import type { KubeObject } from '../../src/model/kube.js';
import type { PodModel } from '../../src/model/pod.js';
import { POD_BEARING_KINDS } from '../../src/model/workload.js';
import { parsePolicy } from '../../src/policy/policy.js';
import { contextFor } from '../support/engine.js';

/** A rule that records what it was given and reports one finding per container named in `flagged`. */
function recordingRule(id: string, options: { kinds?: readonly string[]; flagged?: readonly string[]; severity?: 'deny' | 'warn' } = {}) {
  const inputs: RuleInput[] = [];
  const rule: Rule<{ name: string }> = {
    id,
    defaultSeverity: 'warn',
    kinds: options.kinds ?? POD_BEARING_KINDS,
    summary: 'An example rule.',
    description: 'An example rule.',
    example: { bad: 'kind: Pod\n', fixed: 'kind: Pod\n' },
    problem: ({ name }) => `is flagged ('${name}')`,
    evaluate(input) {
      inputs.push(input);
      return input.pods.flatMap((pod) =>
        pod.containers
          .filter((container) => options.flagged?.includes(container.name))
          .map((container) => ({
            container: container.name,
            path: container.path,
            message: `'${container.name}' is flagged`,
            fix: 'Unflag it.',
            facts: { name: container.name },
            ...(options.severity && { severity: options.severity }),
          })),
      );
    },
  };
  return { rule, inputs };
}

const throwing: Rule = {
  id: 'throws',
  defaultSeverity: 'deny',
  kinds: POD_BEARING_KINDS,
  summary: 'Throws.',
  description: 'Throws.',
  example: { bad: 'kind: Pod\n', fixed: 'kind: Pod\n' },
  problem: () => 'throws',
  evaluate() {
    throw new TypeError('cannot read the spec');
  },
};

function deployment(annotations: Record<string, string> = {}, namespace = 'shop'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace, annotations },
    spec: {
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'app', image: 'registry.example.com/app:1.0' }, { name: 'proxy', image: 'registry.example.com/proxy:2.0' }] },
      },
    },
  };
}

const policyOf = (yaml: string, rules: readonly Rule[]) => parsePolicy(yaml, 'policy.yaml', rules);

describe('evaluate', () => {
  it('runs a rule only on the kinds it declares', () => {
    const pods = recordingRule('pods-only', { kinds: ['Deployment'] });
    const services = recordingRule('services-only', { kinds: ['Service'] });
    const rules = [pods.rule, services.rule];
    evaluate(deployment(), contextFor(), policyOf('{}', rules), rules);
    evaluate({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' } }, contextFor(), policyOf('{}', rules), rules);
    expect(pods.inputs.map((input) => input.object.kind)).toEqual(['Deployment']);
    expect(services.inputs.map((input) => input.object.kind)).toEqual(['Service']);
    expect(services.inputs[0]!.pods).toEqual([]);
  });

  it('builds one pod model per object and hands the same one to every rule', () => {
    const first = recordingRule('first');
    const second = recordingRule('second');
    const rules = [first.rule, second.rule];
    evaluate(deployment(), contextFor(), policyOf('{}', rules), rules);
    const [pod] = first.inputs[0]!.pods as PodModel[];
    expect(pod!.containers.map((container) => container.name)).toEqual(['app', 'proxy']);
    expect(second.inputs[0]!.pods[0]).toBe(pod);
  });

  it('judges each item of a List at its own path', () => {
    const { rule, inputs } = recordingRule('listed', { flagged: ['proxy'] });
    const list = { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, deployment()] };
    const result = evaluate(list, contextFor(), policyOf('{}', [rule]), [rule]);
    expect(inputs.map((input) => input.objectPath)).toEqual(['items[1]']);
    expect(result.findings.map((finding) => finding.path)).toEqual(['items[1].spec.template.spec.containers[1]']);
  });

  it('locates a finding: rule, severity, resource, container, path, message, fix and short problem', () => {
    const { rule } = recordingRule('flags-proxy', { flagged: ['proxy'] });
    const result = evaluate(deployment(), contextFor(), policyOf('{}', [rule]), [rule]);
    expect(result).toEqual({
      findings: [
        {
          rule: 'flags-proxy',
          severity: 'warn',
          resource: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' },
          container: 'proxy',
          path: 'spec.template.spec.containers[1]',
          message: "'proxy' is flagged",
          fix: 'Unflag it.',
          problem: "is flagged ('proxy')",
        },
      ],
      errors: [],
      exempted: [],
    });
  });

  it("lets a rule pick its verdict unless the policy sets the rule's severity, even to the default", () => {
    const { rule } = recordingRule('own-verdict', { flagged: ['app'], severity: 'deny' });
    const severityUnder = (yaml: string) => evaluate(deployment(), contextFor(), policyOf(yaml, [rule]), [rule]).findings.map((f) => f.severity);
    expect(severityUnder('{}')).toEqual(['deny']);
    expect(severityUnder('rules:\n  own-verdict: warn\n')).toEqual(['warn']);
    expect(severityUnder('rules:\n  own-verdict: audit\n')).toEqual(['audit']);
  });

  it('does not run a rule the policy turns off', () => {
    const { rule, inputs } = recordingRule('off', { flagged: ['app'] });
    const result = evaluate(deployment(), contextFor(), policyOf('rules:\n  off: false\n', [rule]), [rule]);
    expect(inputs).toEqual([]);
    expect(result.findings).toEqual([]);
  });

  it('turns a rule that throws into an error naming the rule and the object, and runs the other rules', () => {
    const { rule } = recordingRule('after', { flagged: ['app'] });
    const rules = [throwing, rule];
    const result = evaluate(deployment(), contextFor(), policyOf('{}', rules), rules);
    expect(result.errors).toEqual([
      { rule: 'throws', resource: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' }, message: 'cannot read the spec' },
    ]);
    expect(result.findings.map((finding) => finding.rule)).toEqual(['after']);
  });

  it('moves findings the ignore annotation names to exempted, with its reason', () => {
    const first = recordingRule('first', { flagged: ['app'] });
    const second = recordingRule('second', { flagged: ['app'] });
    const rules = [first.rule, second.rule];
    const annotated = deployment({ [IGNORE_ANNOTATION]: 'second, other', [IGNORE_REASON_ANNOTATION]: ' vendor chart ' });
    const result = evaluate(annotated, contextFor(), policyOf('{}', rules), rules);
    expect(result.findings.map((finding) => finding.rule)).toEqual(['first']);
    expect(result.exempted.map(({ rule, exemption }) => ({ rule, exemption }))).toEqual([{ rule: 'second', exemption: { source: 'annotation', reason: 'vendor chart' } }]);
  });

  it('honours the annotation only where the policy lets it', () => {
    const { rule } = recordingRule('flagged', { flagged: ['app'] });
    const annotated = (namespace: string) => deployment({ [IGNORE_ANNOTATION]: 'all' }, namespace);
    const exemptedUnder = (yaml: string, namespace = 'shop') => evaluate(annotated(namespace), contextFor(), policyOf(yaml, [rule]), [rule]).exempted.length;
    expect(exemptedUnder('{}')).toBe(1);
    expect(exemptedUnder('exemptions:\n  annotations: false\n')).toBe(0);
    expect(exemptedUnder('exemptions:\n  namespaces: [legacy]\n')).toBe(0);
    expect(exemptedUnder('exemptions:\n  namespaces: [legacy]\n', 'legacy')).toBe(1);
  });

  it("applies the policy's exemption list by namespace, kind and name glob until it expires", () => {
    const { rule } = recordingRule('listed', { flagged: ['app'] });
    const policy = (entry: string) => policyOf(`exemptions:\n  annotations: false\n  list:\n    - {namespace: shop, rules: [listed], reason: migrating${entry}}\n`, [rule]);
    const exemption = (entry: string, now = Date.UTC(2026, 5, 1)) => evaluate(deployment(), { ...contextFor(), now }, policy(entry), [rule]).exempted[0]?.exemption;
    expect(exemption('')).toMatchObject({ source: 'policy', reason: 'migrating' });
    expect(exemption(', kind: Deployment, name: "w*"')).toMatchObject({ source: 'policy' });
    expect(exemption(', name: "api-*"')).toBeUndefined();
    expect(exemption(', kind: StatefulSet')).toBeUndefined();
    expect(exemption(', expires: "2026-06-01"')).toMatchObject({ expires: '2026-06-01' });
    expect(exemption(', expires: "2026-05-31"')).toBeUndefined();
  });
});
