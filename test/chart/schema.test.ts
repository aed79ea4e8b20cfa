import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { ALL_RULES } from '../../src/rules/index.js';
import { VALUES_SCHEMA, withPolicySchema } from '../support/chart-schema.js';
import { CHART_DIR, runHelm } from '../support/helm.js';
import { DEFAULT_VALUES, NAMESPACE, VALUES_CASES, merge } from './chart.js';

const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);

function errorsFor(values: object): string[] {
  return validate(values) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message} ${JSON.stringify(error.params)}`);
}

describe('values.schema.json', () => {
  it.each(VALUES_CASES)('accepts the values of $name', ({ values }) => {
    expect(errorsFor(values)).toEqual([]);
  });

  it('closes every object that has named properties, so a typo anywhere is an error', () => {
    const open: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (typeof node !== 'object' || node === null) return;
      const record = node as Record<string, unknown>;
      // `if`/`then` only add conditions to an object closed above them; rule settings carry rule options.
      const conditional = /\/(if|then)$/.test(path);
      if (record.properties && record.additionalProperties !== false && !conditional) open.push(path);
      for (const [key, child] of Object.entries(record)) walk(child, `${path}/${key}`);
    };
    walk(schema, '#');
    expect(open).toEqual([]);
  });

  it.each([
    [{ replicaCount2: 2 }, 'replicaCount2'],
    [{ image: { repositry: 'x' } }, 'repositry'],
    [{ validation: { mode: 'enforcing' } }, '/validation/mode'],
    [{ webhook: { timeoutSeconds: 11 } }, '/webhook/timeoutSeconds'],
    [{ webhook: { failurePolicy: 'ignore' } }, '/webhook/failurePolicy'],
    [{ replicas: 0 }, '/replicas'],
    [{ tls: { source: 'vault' } }, '/tls/source'],
    [{ tls: { source: 'existingSecret' } }, '/tls/existingSecret'],
    [{ webhook: { url: 'https://127.0.0.1:8443/validate?mode=enforce' } }, '/webhook/url'],
    [{ migration: { mode: 'yes' } }, '/migration/mode'],
    [{ validation: { namespaces: { enforce: ['Payments'] } } }, '/validation/namespaces/enforce/0'],
    [{ policy: { rules: { 'port-conflict': { severity: 'block' } } } }, '/policy/rules/port-conflict'],
    [{ policy: { rules: { 'port-conflcit': { severity: 'warn' } } } }, 'port-conflcit'],
    [{ policy: { rules: { 'too-many-sidecars': { treshold: 3 } } } }, 'treshold'],
    [{ policy: { rules: { 'too-many-sidecars': { threshold: 0 } } } }, '/policy/rules/too-many-sidecars'],
    [{ policy: { exemptions: { anotations: true } } }, 'anotations'],
    [{ policy: { exemptions: { list: [{ namespace: 'legacy', rules: ['port-conflcit'], reason: 'x' }] } } }, '/policy/exemptions/list/0/rules/0'],
    [{ policy: { exemptions: { list: [{ namespace: 'legacy', rules: ['*'] }] } } }, 'reason'],
  ])('rejects %j, naming %s', (override, named) => {
    const errors = errorsFor(merge(DEFAULT_VALUES, override));
    expect(errors.join('\n')).toContain(named);
  });
});

describe('the policy part of values.schema.json', () => {
  it('is generated from the rules as committed (run `npm run docs` after changing a rule)', async () => {
    const committed = await readFile(VALUES_SCHEMA, 'utf8');
    expect(committed).toBe(withPolicySchema(committed));
  });

  it('names every rule id and every option of every rule', () => {
    const rules = (schema as { properties: { policy: { properties: { rules: { properties: Record<string, { oneOf: Array<{ properties?: object }> }> } } } } }).properties.policy.properties.rules.properties;
    expect(Object.keys(rules)).toEqual(ALL_RULES.map((rule) => rule.id));
    for (const rule of ALL_RULES) expect(Object.keys(rules[rule.id]!.oneOf[2]!.properties!)).toEqual(['enabled', 'severity', ...Object.keys(rule.options ?? {})]);
  });
});

describe('helm with the schema', () => {
  const template = (...set: string[]) => runHelm(['template', 'podpatterns', CHART_DIR, '--namespace', NAMESPACE, ...set.flatMap((pair) => ['--set', pair])]);

  it.each([
    ['policy.rules.port-conflcit.severity=warn', "additional properties 'port-conflcit' not allowed"],
    ['policy.rules.too-many-sidecars.treshold=3', "additional properties 'treshold' not allowed"],
    ['policy.exemptions.list[0].rules[0]=port-conflcit', "at '/policy/exemptions/list/0'"],
    ['replicaCount2=2', "additional properties 'replicaCount2' not allowed"],
    ['validation.mode=enforcing', "at '/validation/mode'"],
    ['webhook.timeoutSeconds=11', "at '/webhook/timeoutSeconds'"],
    ['tls.source=existingSecret', "at '/tls/caBundle'"],
  ])('refuses --set %s, naming the key', async (pair, message) => {
    const result = await template(pair);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});

describe('helm lint --strict', () => {
  it.each(VALUES_CASES)('passes with $name', async ({ files }) => {
    const result = await runHelm(['lint', CHART_DIR, '--strict', '--namespace', NAMESPACE, ...files.flatMap((file) => ['--values', file])]);
    expect(result.stderr + result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(result.code).toBe(0);
  });
});
