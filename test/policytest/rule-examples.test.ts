import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTestFile } from '../../src/policytest/load.js';
import { TEST_FILE_NAME } from '../../src/policytest/schema.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { exampleFiles, RULE_EXAMPLES_DIR } from '../support/rule-examples.js';

describe('the README rule examples as policy tests', () => {
  it('are the examples the rule modules document (run `npm run docs` to rewrite them)', () => {
    for (const [path, text] of exampleFiles(ALL_RULES)) {
      expect(readFileSync(join(RULE_EXAMPLES_DIR, path), 'utf8'), path).toBe(text);
    }
  });

  it('have a directory for every rule and for no rule that is gone', () => {
    expect(readdirSync(RULE_EXAMPLES_DIR).sort()).toEqual(ALL_RULES.map((rule) => rule.id).sort());
  });

  for (const rule of ALL_RULES) {
    it(`${rule.id}: the test expects a finding on the bad example and none on the fixed one`, () => {
      const file = join(RULE_EXAMPLES_DIR, rule.id, TEST_FILE_NAME);
      expect(existsSync(file), `${relative(process.cwd(), file)} is missing: \`npm run docs\` writes a first one`).toBe(true);
      const { tests, errors } = parseTestFile(readFileSync(file, 'utf8'), file, ALL_RULES);
      expect(errors).toEqual([]);
      const expected = (example: string) =>
        tests
          .filter((test) => test.resources.length === 1 && 'path' in test.resources[0]! && test.resources[0].path.endsWith(`/${example}`))
          .flatMap((test) => test.expectations.filter((expectation) => expectation.rule === rule.id).map((expectation) => expectation.expected));
      expect(expected('bad.yaml')).not.toEqual([]);
      expect(expected('bad.yaml')).not.toContain('pass');
      expect(expected('fixed.yaml')).not.toEqual([]);
      expect(new Set(expected('fixed.yaml'))).toEqual(new Set(['pass']));
    });
  }
});
