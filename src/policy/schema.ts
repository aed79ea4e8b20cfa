import type { Rule, RuleOptionSpec } from '../engine/types.js';
import { SEVERITIES } from '../engine/types.js';

/** A JSON Schema (draft-07) node. */
export type JsonSchema = Record<string, unknown>;

/**
 * The JSON Schema of the policy file's `rules` and `exemptions` blocks, derived from the rules: every rule id
 * and every option is named, so a typo is an error wherever the policy is written (the chart's
 * values.schema.json embeds it). Every object is closed.
 */
export function policySchema(rules: readonly Rule[]): { rules: JsonSchema; exemptions: JsonSchema } {
  const ids = rules.map((rule) => rule.id);
  return {
    rules: {
      description: 'Rule id to settings: true/false, off, a severity, or {enabled, severity, <option>}.',
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(rules.map((rule) => [rule.id, ruleSettings(rule)])),
    },
    exemptions: {
      description: 'Who may exempt objects from rules; exemptions belong to whoever owns the policy.',
      type: 'object',
      additionalProperties: false,
      properties: {
        annotations: { description: 'Honour the podpatterns.io/ignore annotation on objects.', type: 'boolean' },
        namespaces: {
          description: 'When not empty, the annotation is honoured only in these namespaces.',
          type: 'array',
          uniqueItems: true,
          items: { $ref: '#/definitions/namespace' },
        },
        list: {
          description: 'Central exemptions: namespace (required), kind, name (glob), rules, reason (required), expires (YYYY-MM-DD, UTC, inclusive).',
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['namespace', 'rules', 'reason'],
            properties: {
              namespace: { $ref: '#/definitions/namespace' },
              kind: { type: 'string', minLength: 1 },
              name: { description: 'Glob: * any run of characters, ? one character.', type: 'string', minLength: 1 },
              rules: { type: 'array', minItems: 1, items: { enum: [...ids, '*'] } },
              reason: { type: 'string', pattern: '\\S' },
              expires: { description: 'The last day it applies (UTC).', type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
            },
          },
        },
      },
    },
  };
}

function ruleSettings(rule: Rule): JsonSchema {
  return {
    description: rule.summary,
    oneOf: [
      { type: 'boolean' },
      { enum: ['off', ...SEVERITIES] },
      {
        type: 'object',
        additionalProperties: false,
        properties: {
          enabled: { type: 'boolean' },
          severity: { enum: [...SEVERITIES] },
          ...Object.fromEntries(Object.entries(rule.options ?? {}).map(([name, spec]) => [name, optionSchema(spec)])),
        },
      },
    ],
  };
}

function optionSchema(spec: RuleOptionSpec): JsonSchema {
  const described = { description: spec.description, default: spec.default };
  switch (spec.type) {
    case 'number':
      return { ...described, type: 'number', ...(spec.minimum !== undefined && { minimum: spec.minimum }) };
    case 'string':
      return { ...described, type: 'string' };
    case 'boolean':
      return { ...described, type: 'boolean' };
    case 'string[]':
      return { ...described, type: 'array', items: { type: 'string' } };
  }
}
