import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { shortForm } from '../src/engine/short-form.js';
import { ALL_RULES } from '../src/rules/index.js';
import { ruleFindings } from './support/engine.js';
import { README, withRules } from './support/readme.js';

describe('README', () => {
  it('opens with the install-and-run and test commands', async () => {
    const readme = await readFile(README, 'utf8');
    const firstBlock = readme.slice(0, readme.indexOf('```', readme.indexOf('```') + 3));
    expect(firstBlock).toContain('npm ci && npm start');
    expect(firstBlock).toContain('npm test');
  });

  it('documents every rule exactly as the rule modules do (run `npm run docs` to regenerate)', async () => {
    const readme = await readFile(README, 'utf8');
    expect(readme).toBe(withRules(readme));
    for (const rule of ALL_RULES) expect(readme).toContain(`### ${rule.id}`);
  });

  it('promises rejection only for what deny rules catch: a Job kept alive by a sidecar is a warning by default', async () => {
    const readme = await readFile(README, 'utf8');
    const opening = readme.slice(0, readme.indexOf('```'));
    const rejected = /It rejects pods that will\s+break at runtime — ([^—]+) —/.exec(opening)?.[1];
    expect(rejected).toBeDefined();
    expect(ALL_RULES.find((rule) => rule.id === 'classic-sidecar-in-job')?.defaultSeverity).toBe('warn');
    expect(rejected).not.toMatch(/Job/);
    expect(opening).toMatch(/warns about[^.]*a sidecar that keeps a Job alive forever \(a `warn` rule by default/);
  });

  it('shows the warning kubectl prints for the port-conflict example exactly as the engine words it', async () => {
    const readme = await readFile(README, 'utf8');
    const shown = /`Warning: ([^`]+)`/.exec(readme.slice(readme.indexOf('## Rolling out')))?.[1];
    const [finding] = ruleFindings('port-conflict', ALL_RULES.find((rule) => rule.id === 'port-conflict')!.example.bad);
    expect(shown).toBe(shortForm(finding!));
  });

  it('has no placeholder left', async () => {
    const readme = await readFile(README, 'utf8');
    expect(readme).not.toMatch(/\b[A-Z_]+_SECTION\b|\bMIGRATE_CLI\b/);
  });
});
