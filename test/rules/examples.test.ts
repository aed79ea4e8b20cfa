import { describe, expect, it } from 'vitest';
import { ALL_RULES } from '../../src/rules/index.js';
import { ruleFindings } from '../support/engine.js';

describe('documented examples', () => {
  it('ships unique, kebab-case rule ids', () => {
    const ids = ALL_RULES.map((rule) => rule.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  for (const rule of ALL_RULES) {
    const versions = {
      ...(rule.example.kubernetesVersion && { kubernetesVersion: rule.example.kubernetesVersion }),
      ...(rule.example.minKubeletVersion && { minKubeletVersion: rule.example.minKubeletVersion }),
    };
    it(`${rule.id}: the README's bad example is flagged`, () => {
      const findings = ruleFindings(rule.id, rule.example.bad, versions);
      expect(findings.length).toBeGreaterThan(0);
      for (const finding of findings) {
        expect(finding.message.length).toBeGreaterThan(20);
        expect(finding.fix.length).toBeGreaterThan(10);
        expect(finding.path).not.toBe('');
      }
    });
    it(`${rule.id}: the README's fixed example is clean`, () => {
      expect(ruleFindings(rule.id, rule.example.fixed, versions)).toEqual([]);
    });
  }
});
