import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/engine.js';
import type { EvaluationContext } from '../../src/engine/types.js';
import type { KubeObject } from '../../src/model/kube.js';
import { NEWEST_KNOWN_VERSION } from '../../src/model/version.js';
import { expiredExemptions, globMatch } from '../../src/engine/exemptions.js';
import { defaultPolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { failure, parse } from '../support/policy.js';


const LIST = `exemptions:
  annotations: false
  list:
    - namespace: legacy
      kind: Deployment
      name: "billing-*"
      rules: [port-conflict]
      reason: "ticket OPS-1234"
      expires: "2027-03-31"
`;

/** A Deployment whose two containers both declare port 8080. */
function clash(namespace: string | undefined, name = 'billing-api', annotations: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, ...(namespace !== undefined && { namespace }), annotations },
    spec: {
      template: {
        spec: {
          containers: [
            { name: 'app', image: 'registry.example.com/app:1.0.0', ports: [{ containerPort: 8080 }] },
            { name: 'proxy', image: 'registry.example.com/proxy:1.0.0', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '10m', memory: '16Mi' } } },
          ],
        },
      },
    },
  };
}

const context = (extra: Partial<EvaluationContext> = {}): EvaluationContext => ({ kubernetesVersion: NEWEST_KNOWN_VERSION, minKubeletVersion: NEWEST_KNOWN_VERSION, ...extra });
const portConflict = ALL_RULES.filter((rule) => rule.id === 'port-conflict');
const at = (iso: string) => Date.parse(iso);

describe('exemptions in the policy file', () => {
  it('honours annotations by default in the policy file, with no central list', () => {
    expect(parse('').exemptions).toEqual({ annotations: true, namespaces: [], list: [] });
    expect(parse('').explicit.exemptions).toEqual({ annotations: false, namespaces: false, list: false });
  });

  it('reads the documented block: annotations flag, namespaces, and entries with their parsed expiry and line', () => {
    const policy = parse(`${LIST}  namespaces: [sandbox, legacy]\n`);
    expect(policy.exemptions.annotations).toBe(false);
    expect(policy.exemptions.namespaces).toEqual(['sandbox', 'legacy']);
    expect(policy.exemptions.list).toEqual([
      {
        namespace: 'legacy',
        kind: 'Deployment',
        name: 'billing-*',
        rules: ['port-conflict'],
        reason: 'ticket OPS-1234',
        expires: { date: '2027-03-31', endsAt: at('2027-04-01T00:00:00Z') },
        line: 4,
      },
    ]);
    expect(policy.explicit.exemptions).toEqual({ annotations: true, namespaces: true, list: true });
    expect(Object.isFrozen(policy.exemptions.list[0])).toBe(true);
  });

  it('names the file, line and key of an unknown rule id in an exemption, with a suggestion', () => {
    expect(failure('exemptions:\n  list:\n    - namespace: legacy\n      rules: [port-conflict, port-conflcit]\n      reason: x\n')).toBe(
      "policy file policy.yaml, line 4: exemptions.list[0].rules[1]: unknown rule 'port-conflcit' (did you mean 'port-conflict'?)",
    );
  });

  it('requires a namespace, rules and a reason, and rejects unknown settings', () => {
    expect(failure('exemptions:\n  list:\n    - rules: ["*"]\n      reason: x\n')).toMatch(/line 3: exemptions\.list\[0\]: namespace is required/);
    expect(failure('exemptions:\n  list:\n    - namespace: legacy\n      reason: x\n')).toMatch(/line 3: exemptions\.list\[0\]: rules is required/);
    expect(failure('exemptions:\n  list:\n    - namespace: legacy\n      rules: ["*"]\n')).toMatch(/line 3: exemptions\.list\[0\]: reason is required/);
    expect(failure('exemptions:\n  list:\n    - namespace: legacy\n      rules: ["*"]\n      reason: " "\n')).toMatch(/line 5: exemptions\.list\[0\]\.reason: reason is required/);
    expect(failure('exemptions:\n  list:\n    - namespace: legacy\n      rules: []\n      reason: x\n')).toMatch(/exemptions\.list\[0\]\.rules: must name at least one rule id/);
    expect(failure('exemptions:\n  anotations: false\n')).toMatch(/line 2: exemptions\.anotations: unknown setting \(did you mean 'annotations'\?\)/);
    expect(failure('exemptions:\n  list:\n    - namespace: legacy\n      rule: [x]\n')).toMatch(/line 4: exemptions\.list\[0\]\.rule: unknown setting \(did you mean 'rules'\?\)/);
    expect(failure('exemptions:\n  annotations: "no"\n')).toMatch(/exemptions\.annotations: must be true or false, not string "no"/);
    expect(failure('exemptions:\n  namespaces: [Legacy]\n')).toMatch(/line 2: exemptions\.namespaces\[0\]: must be a namespace name/);
  });

  it('takes an expiry as a real YYYY-MM-DD date only', () => {
    const entry = (expires: string) => `exemptions:\n  list:\n    - namespace: legacy\n      rules: ["*"]\n      reason: x\n      expires: ${expires}\n`;
    expect(failure(entry('"2027-02-30"'))).toMatch(/line 6: exemptions\.list\[0\]\.expires: must be a date written YYYY-MM-DD/);
    expect(failure(entry('31/03/2027'))).toMatch(/expires: must be a date/);
    expect(failure(entry('2027-03-31T00:00:00Z'))).toMatch(/expires: must be a date/);
    expect(parse(entry('2027-03-31')).exemptions.list[0]!.expires?.date).toBe('2027-03-31');
  });
});

describe('exemptions in the engine', () => {
  it('moves the findings of an exempted rule to exempted, with the source and reason: the rule still runs', () => {
    const result = evaluate(clash('legacy'), context({ now: at('2027-01-01T00:00:00Z') }), parse(LIST), portConflict);
    expect(result.findings).toEqual([]);
    expect(result.exempted).toHaveLength(1);
    expect(result.exempted[0]).toMatchObject({
      rule: 'port-conflict',
      severity: 'deny',
      container: 'proxy',
      exemption: { source: 'policy', reason: 'ticket OPS-1234', entry: 'legacy/Deployment/billing-* (policy line 4)', expires: '2027-03-31' },
    });
  });

  it('matches namespace, kind and the name glob exactly', () => {
    const policy = parse(LIST);
    const now = { now: at('2027-01-01T00:00:00Z') };
    expect(evaluate(clash('legacy', 'shipping-api'), context(now), policy, portConflict).findings).toHaveLength(1);
    expect(evaluate(clash('payments'), context(now), policy, portConflict).findings).toHaveLength(1);
    expect(evaluate({ ...clash('legacy'), kind: 'StatefulSet' }, context(now), policy, portConflict).findings).toHaveLength(1);
    // The AdmissionRequest's namespace wins over the object's own (which a create request may leave out).
    expect(evaluate(clash(undefined), context({ ...now, namespace: 'legacy' }), policy, portConflict).exempted).toHaveLength(1);
    // A manifest without a namespace is in none: no central exemption matches it.
    expect(evaluate(clash(undefined), context(now), policy, portConflict).findings).toHaveLength(1);
  });

  it('applies an exemption through the last day of expires in UTC, and not after', () => {
    const policy = parse(LIST);
    expect(evaluate(clash('legacy'), context({ now: at('2027-03-31T23:59:59.999Z') }), policy, portConflict).exempted).toHaveLength(1);
    expect(evaluate(clash('legacy'), context({ now: at('2027-04-01T00:00:00Z') }), policy, portConflict).findings).toHaveLength(1);
    expect(expiredExemptions(policy.exemptions, at('2027-03-31T12:00:00Z'))).toEqual([]);
    expect(expiredExemptions(policy.exemptions, at('2027-04-01T00:00:00Z')).map((entry) => entry.reason)).toEqual(['ticket OPS-1234']);
  });

  it('ignores podpatterns.io/ignore when the policy says annotations: false', () => {
    const annotated = clash('legacy', 'web', { 'podpatterns.io/ignore': '*', 'podpatterns.io/ignore-reason': 'trust me' });
    expect(evaluate(annotated, context(), parse('exemptions:\n  annotations: false\n'), portConflict).findings).toHaveLength(1);
    const honoured = evaluate(annotated, context(), defaultPolicy(ALL_RULES), portConflict);
    expect(honoured.findings).toEqual([]);
    expect(honoured.exempted[0]!.exemption).toEqual({ source: 'annotation', reason: 'trust me' });
  });

  it('records the policy entry, not the annotation, when both cover a finding', () => {
    const annotated = clash('legacy', 'billing-api', { 'podpatterns.io/ignore': 'port-conflict' });
    const policy = parse(LIST.replace('annotations: false', 'annotations: true'));
    expect(evaluate(annotated, context({ now: at('2027-01-01T00:00:00Z') }), policy, portConflict).exempted[0]!.exemption.source).toBe('policy');
  });
});

describe('globMatch', () => {
  it.each([
    ['billing-*', 'billing-api', true],
    ['billing-*', 'billing-', true],
    ['billing-*', 'shipping-billing-api', false],
    ['*-api', 'billing-api', true],
    ['b?lling', 'billing', true],
    ['b?lling', 'blling', false],
    ['*a*b*', 'xxaxxbxx', true],
    ['*a*b', 'xxaxxbxxc', false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
  ])('%s against %s is %s', (pattern, name, expected) => {
    expect(globMatch(pattern, name)).toBe(expected);
  });
});
