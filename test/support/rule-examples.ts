/**
 * The README's rule examples as policy tests: `test/policy-tests/rules/<rule id>/` holds the bad and fixed
 * example of every rule, written from the rule modules, and a `podpatterns-test.yaml` that says what
 * `podpatterns test` must find in them. `npm run docs` rewrites the examples after a rule changes and writes
 * a first test for a new rule (from what the engine finds today: read it before committing it);
 * test/policytest/rule-examples.test.ts fails while the examples and the rules disagree.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Document, isScalar, visit } from 'yaml';
import type { Rule } from '../../src/engine/types.js';
import { TEST_API_VERSION, TEST_FILE_NAME, TEST_KIND } from '../../src/policytest/schema.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { ruleFindings } from './engine.js';

export const RULE_EXAMPLES_DIR = fileURLToPath(new URL('../policy-tests/rules/', import.meta.url));

/** The generated manifests, by path relative to RULE_EXAMPLES_DIR. */
export function exampleFiles(rules: readonly Rule[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const rule of rules) {
    for (const which of ['bad', 'fixed'] as const) {
      const header = `# The ${which} example of ${rule.id}, written from src/rules/${rule.id}.ts by \`npm run docs\`: change it there.\n`;
      files.set(join(rule.id, `${which}.yaml`), header + rule.example[which]);
    }
  }
  return files;
}

/**
 * A first test for a rule: the resources the rule flags in the bad example, at the severity found, and the
 * same resources passing in the fixed example.
 */
export function starterTest(rule: Rule): string {
  const cluster = {
    ...(rule.example.kubernetesVersion && { kubernetesVersion: rule.example.kubernetesVersion }),
    ...(rule.example.minKubeletVersion && { minKubeletVersion: rule.example.minKubeletVersion }),
  };
  const findings = ruleFindings(rule.id, rule.example.bad, cluster);
  const flagged = [...new Set(findings.map((finding) => `${finding.resource.namespace ? `${finding.resource.namespace}/` : ''}${finding.resource.kind}/${finding.resource.name}`))];
  const severity = findings[0]?.severity ?? rule.defaultSeverity;
  const test = (which: 'bad' | 'fixed', result: string): string => {
    const document = new Document({
      apiVersion: TEST_API_VERSION,
      kind: TEST_KIND,
      metadata: { name: `${rule.id}-${which}` },
      ...(Object.keys(cluster).length > 0 && { cluster }),
      resources: [`${which}.yaml`],
      results: [{ resources: flagged, rule: rule.id, result }],
    });
    visit(document, { Seq: (_, node) => void (node.flow = node.items.every(isScalar)) });
    return document.toString({ flowCollectionPadding: false });
  };
  return `# The README example of ${rule.id}: flagged as it says, and clean once fixed.\n${test('bad', severity)}---\n${test('fixed', 'pass')}`;
}

export async function writeRuleExamples(rules: readonly Rule[]): Promise<string[]> {
  const written: string[] = [];
  for (const [path, text] of exampleFiles(rules)) {
    await mkdir(join(RULE_EXAMPLES_DIR, path, '..'), { recursive: true });
    await writeFile(join(RULE_EXAMPLES_DIR, path), text);
  }
  for (const rule of rules) {
    const testFile = join(RULE_EXAMPLES_DIR, rule.id, TEST_FILE_NAME);
    if (existsSync(testFile)) continue;
    await writeFile(testFile, starterTest(rule));
    written.push(relative(process.cwd(), testFile));
  }
  return written;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/test\//, '/test/'))) {
  const started = await writeRuleExamples(ALL_RULES);
  console.log(`test/policy-tests/rules: examples written${started.length > 0 ? `; new tests to review: ${started.join(', ')}` : ''}`);
}
