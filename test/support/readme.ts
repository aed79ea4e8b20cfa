/**
 * The README's rules reference is generated from the rule modules, so the documented examples are the tested
 * ones. Run `npm run docs` after changing a rule; test/readme.test.ts fails while the two disagree.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { renderRulesMarkdown } from '../../src/cli/rules.js';
import { ALL_RULES } from '../../src/rules/index.js';

export const README = new URL('../../README.md', import.meta.url);
const START = '<!-- rules:start -->';
const END = '<!-- rules:end -->';

export function withRules(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} … ${END} section`);
  return `${readme.slice(0, start + START.length)}\n\n${renderRulesMarkdown(ALL_RULES).trim()}\n\n${readme.slice(end)}`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/test\//, '/test/'))) {
  const current = await readFile(README, 'utf8');
  await writeFile(README, withRules(current));
  console.log('README.md rules reference updated');
}
