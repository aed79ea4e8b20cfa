import { describe, expect, expectTypeOf, it } from 'vitest';
import { renderRuleDoc, renderRulesMarkdown } from '../../src/cli/rules.js';
import { evaluate } from '../../src/engine/engine.js';
import type { Rule, RuleInput, RuleOptions, RuleOptionSpecs } from '../../src/engine/types.js';
import { parsePolicy } from '../../src/policy/policy.js';
import { policySchema } from '../../src/policy/schema.js';
import type { tooManySidecars } from '../../src/rules/too-many-sidecars.js';
import type { unpinnedImage } from '../../src/rules/unpinned-image.js';
import { contextFor } from '../support/engine.js';

const OPTIONS = {
  limit: { type: 'number', default: 2, minimum: 1, description: 'How many ports.' },
  ignored: { type: 'string[]', default: ['metrics'], description: 'Port names left alone.' },
  strict: { type: 'boolean', default: false, description: 'Also count host ports.' },
  label: { type: 'string', default: 'team', description: 'Label naming the owner.' },
} satisfies RuleOptionSpecs;

/** Records the options it receives, and reports one finding per pod when `strict` is on. */
const seen: Array<RuleOptions<typeof OPTIONS>> = [];
const optionsRule: Rule<{ limit: number }, typeof OPTIONS> = {
  id: 'options-example',
  defaultSeverity: 'warn',
  kinds: ['Pod'],
  summary: 'An example with options.',
  description: 'An example with options.',
  example: { bad: 'kind: Pod\n', fixed: 'kind: Pod\n' },
  options: OPTIONS,
  problem: ({ limit }) => `exceeds ${limit}`,
  evaluate({ options }) {
    seen.push(options);
    return options.strict ? [{ path: 'spec', message: `limit ${options.limit}`, fix: 'none', facts: { limit: options.limit } }] : [];
  },
};

const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };

describe('typed rule options', () => {
  it('types what a rule receives from its declaration', () => {
    expectTypeOf<RuleOptions<typeof OPTIONS>>().toEqualTypeOf<{
      readonly limit: number;
      readonly ignored: readonly string[];
      readonly strict: boolean;
      readonly label: string;
    }>();
    expectTypeOf<Parameters<typeof tooManySidecars.evaluate>[0]>().toEqualTypeOf<RuleInput<{ readonly threshold: number }>>();
    expectTypeOf<Parameters<typeof unpinnedImage.evaluate>[0]['options']['floatingTags']>().toEqualTypeOf<readonly string[]>();
  });

  it('gives a rule every declared option: the defaults, and what the policy sets, checked against the declaration', () => {
    seen.length = 0;
    const defaults = parsePolicy('{}', 'policy.yaml', [optionsRule]);
    evaluate(pod, contextFor(), defaults, [optionsRule]);
    expect(seen).toEqual([{ limit: 2, ignored: ['metrics'], strict: false, label: 'team' }]);

    const set = parsePolicy('rules:\n  options-example: {limit: 4, ignored: [admin], strict: true}\n', 'policy.yaml', [optionsRule]);
    const result = evaluate(pod, contextFor(), set, [optionsRule]);
    expect(seen[1]).toEqual({ limit: 4, ignored: ['admin'], strict: true, label: 'team' });
    expect(result.findings.map((finding) => finding.problem)).toEqual(['exceeds 4']);

    expect(() => parsePolicy('rules:\n  options-example: {limit: 0}\n', 'policy.yaml', [optionsRule])).toThrow(/limit: must be at least 1, not 0/);
    expect(() => parsePolicy('rules:\n  options-example: {ignored: admin}\n', 'policy.yaml', [optionsRule])).toThrow(/ignored: must be a list of strings/);
    expect(() => parsePolicy('rules:\n  options-example: {strict: "yes"}\n', 'policy.yaml', [optionsRule])).toThrow(/strict: must be true or false/);
    expect(() => parsePolicy('rules:\n  options-example: {label: 3}\n', 'policy.yaml', [optionsRule])).toThrow(/label: must be a string/);
  });

  it('documents the same declaration in the values schema, the rules reference and `podpatterns rules <id>`', () => {
    const schema = policySchema([optionsRule]).rules as { properties: Record<string, { oneOf: Array<{ properties?: Record<string, unknown> }> }> };
    expect(schema.properties['options-example']!.oneOf[2]!.properties).toMatchObject({
      limit: { type: 'number', minimum: 1, default: 2, description: 'How many ports.' },
      ignored: { type: 'array', items: { type: 'string' }, default: ['metrics'] },
      strict: { type: 'boolean', default: false },
      label: { type: 'string', default: 'team' },
    });
    expect(renderRulesMarkdown([optionsRule])).toContain('| `limit` | number (at least 1) | `2` | How many ports. |');
    expect(renderRuleDoc(optionsRule)).toContain('  ignored  string[], default ["metrics"]: Port names left alone.');
  });
});
