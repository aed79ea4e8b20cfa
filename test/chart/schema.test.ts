import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
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
      if (record.properties && record.additionalProperties !== false && !conditional && !path.includes('/policy/properties/rules')) open.push(path);
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
  ])('rejects %j, naming %s', (override, named) => {
    const errors = errorsFor(merge(DEFAULT_VALUES, override));
    expect(errors.join('\n')).toContain(named);
  });
});

describe('helm with the schema', () => {
  const template = (...set: string[]) => runHelm(['template', 'podpatterns', CHART_DIR, '--namespace', NAMESPACE, ...set.flatMap((pair) => ['--set', pair])]);

  it.each([
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
