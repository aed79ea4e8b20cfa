/**
 * The README's rules reference is generated from the rule modules, so the documented examples are the tested
 * ones. Run `npm run docs` after changing a rule; test/readme.test.ts fails while the two disagree.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { renderCelTable } from '../../src/cel/table.js';
import { renderRulesMarkdown } from '../../src/cli/rules.js';
import { defaultPolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';

export const README = new URL('../../README.md', import.meta.url);
const START = '<!-- rules:start -->';
const END = '<!-- rules:end -->';

export function withRules(readme: string): string {
  return withSection(withSection(readme, START, END, renderRulesMarkdown(ALL_RULES)), CEL_START, CEL_END, renderCelTable(ALL_RULES, defaultPolicy(ALL_RULES)));
}

const CEL_START = '<!-- cel-rules:start -->';
const CEL_END = '<!-- cel-rules:end -->';

function withSection(readme: string, startMarker: string, endMarker: string, content: string): string {
  const start = readme.indexOf(startMarker);
  const end = readme.indexOf(endMarker);
  if (start < 0 || end < start) throw new Error(`README.md has no ${startMarker} … ${endMarker} section`);
  return `${readme.slice(0, start + startMarker.length)}\n\n${content.trim()}\n\n${readme.slice(end)}`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/test\//, '/test/'))) {
  const current = await readFile(README, 'utf8');
  await writeFile(README, withRules(current));
  console.log('README.md rules reference updated');
}
