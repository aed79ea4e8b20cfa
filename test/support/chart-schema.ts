/**
 * The chart's values.schema.json names every rule id and option (and the exemptions block) from the rule
 * modules, so `helm install --set policy.rules.port-conflcit.severity=warn` fails instead of installing a
 * webhook whose pods then refuse the policy. `npm run docs` rewrites it; test/chart/schema.test.ts fails while
 * the committed file is out of date.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { policySchema } from '../../src/policy/schema.js';
import { ALL_RULES } from '../../src/rules/index.js';

export const VALUES_SCHEMA = new URL('../../charts/podpatterns/values.schema.json', import.meta.url);

/** The schema with `properties.policy` generated from the rules; everything else as written. */
export function withPolicySchema(text: string): string {
  const schema = JSON.parse(text) as { properties: Record<string, unknown> };
  const { rules, exemptions } = policySchema(ALL_RULES);
  schema.properties.policy = {
    description: 'Generated from the rules by `npm run docs`: every rule id and option is named.',
    type: 'object',
    additionalProperties: false,
    properties: { rules, exemptions },
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/test\//, '/test/'))) {
  await writeFile(VALUES_SCHEMA, withPolicySchema(await readFile(VALUES_SCHEMA, 'utf8')));
  console.log('charts/podpatterns/values.schema.json policy schema updated');
}
