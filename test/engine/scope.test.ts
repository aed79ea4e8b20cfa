import { describe, expect, it } from 'vitest';
import { kindsJudged, runsAtAdmission, runsOnMutate } from '../../src/engine/scope.js';
import type { Rule } from '../../src/engine/types.js';
import { kindResource } from '../../src/model/kinds.js';
import { POD_BEARING_KINDS } from '../../src/model/workload.js';
import { ALL_RULES } from '../../src/rules/index.js';

const base: Rule = {
  id: 'example',
  defaultSeverity: 'warn',
  kinds: ['Pod'],
  summary: 'An example.',
  description: 'An example.',
  example: { bad: 'kind: Pod\n', fixed: 'kind: Pod\n' },
  problem: () => 'is an example',
  evaluate: () => [],
};

describe('where a rule runs, from what it declares', () => {
  it('runs a rule at admission unless it requires related objects an admission request does not carry', () => {
    expect(runsAtAdmission(base)).toBe(true);
    expect(runsAtAdmission({ ...base, related: { kinds: ['Service'], of: () => [], required: false } })).toBe(true);
    expect(runsAtAdmission({ ...base, related: { kinds: ['Deployment'], of: () => [], required: true } })).toBe(false);
    expect(ALL_RULES.filter((rule) => !runsAtAdmission(rule)).map((rule) => rule.id)).toEqual(['hpa-pod-average-on-multi-container']);
  });

  it('runs on /mutate the rules that read fields the API server drops, and only those that run at admission at all', () => {
    expect(runsOnMutate(base)).toBe(false);
    expect(runsOnMutate({ ...base, droppedFields: [] })).toBe(false);
    expect(runsOnMutate({ ...base, droppedFields: ['initContainers[].restartPolicy'] })).toBe(true);
    expect(runsOnMutate({ ...base, droppedFields: ['x'], related: { kinds: ['Deployment'], of: () => [], required: true } })).toBe(false);
    expect(ALL_RULES.filter(runsOnMutate).map((rule) => rule.id).sort()).toEqual(['native-sidecar-unsupported', 'restart-policy-on-container']);
  });

  it('lists the kinds the rules judge once each, in the order the rules name them', () => {
    expect(kindsJudged([{ ...base, kinds: ['Job', 'Pod'] }, { ...base, kinds: ['Pod', 'CronJob'] }])).toEqual(['Job', 'Pod', 'CronJob']);
    expect(kindsJudged(ALL_RULES)).toEqual([...POD_BEARING_KINDS, 'HorizontalPodAutoscaler']);
  });

  it('declares for every shipped rule kinds the API serves under a known resource', () => {
    for (const rule of ALL_RULES) {
      expect(rule.kinds.length, rule.id).toBeGreaterThan(0);
      for (const kind of rule.kinds) expect(() => kindResource(kind), `${rule.id}: ${kind}`).not.toThrow();
    }
  });
});
