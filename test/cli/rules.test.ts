import { describe, expect, it } from 'vitest';
import { renderRuleDoc, renderRulesList, renderRulesMarkdown } from '../../src/cli/rules.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { RULES } from '../report/fixtures.js';
import { runCli } from './run.js';

describe('renderRulesList', () => {
  it('prints one aligned line per rule: id, default severity, summary', () => {
    expect(renderRulesList(RULES)).toBe('port-clash      deny   Two containers bind one port.\nsidecar-limits  audit  A sidecar has no limits.\n');
  });
});

describe('renderRulesMarkdown', () => {
  it('documents each rule under its own heading with severity, description, options and both examples', () => {
    expect(renderRulesMarkdown(RULES)).toBe(`### port-clash

**Default severity:** \`deny\` — Two containers bind one port.

**Checks:** Pod, at admission and in audits.

Containers share a network namespace. Fix: move one | the other.

| Option | Type | Default | Description |
| --- | --- | --- | --- |
| \`ignorePorts\` | string[] | \`[]\` | ports \\| that may repeat |

Flagged:

\`\`\`yaml
kind: Pod
metadata: {name: bad}
\`\`\`

Fixed:

\`\`\`yaml
kind: Pod
metadata: {name: fixed}
\`\`\`

### sidecar-limits

**Default severity:** \`audit\` — A sidecar has no limits.

**Checks:** Pod, at admission and in audits.

Limits keep a sidecar small.

| Option | Type | Default | Description |
| --- | --- | --- | --- |
| \`maxSidecars\` | number (at least 1) | \`3\` | how many |

Flagged (on Kubernetes 1.29):

\`\`\`yaml
kind: Pod
\`\`\`

Fixed:

\`\`\`yaml
kind: Pod
\`\`\`
`);
  });

  it('covers every shipped rule', () => {
    const markdown = renderRulesMarkdown(ALL_RULES);
    const headings = [...markdown.matchAll(/^### (.+)$/gm)].map((match) => match[1]);
    expect(headings).toEqual(ALL_RULES.map((rule) => rule.id));
  });
});

describe('renderRuleDoc', () => {
  it('prints one rule: id and severity, summary, description, options with their policy key, and both examples', () => {
    expect(renderRuleDoc(RULES[1]!)).toBe(`sidecar-limits (default severity: audit)
A sidecar has no limits.

Checks: Pod, at admission and in audits.

Limits keep a sidecar small.

Options (policy file: rules.sidecar-limits.<option>):
  maxSidecars  number (at least 1), default 3: how many

Flagged (on Kubernetes 1.29):
  kind: Pod

Fixed:
  kind: Pod
`);
  });

  it('says what each rule checks and where it runs, as the rule declares it', () => {
    const doc = (id: string) => renderRuleDoc(ALL_RULES.find((rule) => rule.id === id)!).split('\n\n')[1]!.replaceAll('\n', ' ');
    expect(doc('port-conflict')).toBe('Checks: every kind that carries a pod template, at admission and in audits.');
    expect(doc('hpa-pod-average-on-multi-container')).toMatch(/^Checks: HorizontalPodAutoscaler, in audits only \(podpatterns audit, with --cluster too\): /);
    expect(doc('native-sidecar-unsupported')).toMatch(/; on \/mutate as well, since the API server drops initContainers\[\]\.restartPolicy before validating admission/);
  });

  it('wraps the description at 100 columns', () => {
    for (const rule of ALL_RULES) {
      const description = renderRuleDoc(rule).split('\n\n')[2]!;
      expect(description.split('\n').every((line) => line.length <= 100), rule.id).toBe(true);
      expect(description.replaceAll('\n', ' ')).toBe(rule.description);
    }
  });
});

describe('podpatterns rules', () => {
  it('prints the full documentation of the rule a warning points at', { timeout: 90_000 }, async () => {
    const result = await runCli(['rules', 'port-conflict']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(renderRuleDoc(ALL_RULES.find((rule) => rule.id === 'port-conflict')!));
    expect(result.stdout).toMatch(/^port-conflict \(default severity: deny\)\n/);
    expect(result.stdout).toContain('Fixed:\n  apiVersion: v1');
  });

  it('refuses an unknown rule id with one line that names it and the closest rule, and exit 2', { timeout: 90_000 }, async () => {
    const result = await runCli(['rules', 'port-conflcit']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe("podpatterns: unknown rule 'port-conflcit' (did you mean 'port-conflict'?); `podpatterns rules` lists them all [PODPATTERNS_ERR_USAGE]\n");
  });

  it('lists every rule, or prints the markdown reference with --markdown', { timeout: 90_000 }, async () => {
    const [list, markdown] = await Promise.all([runCli(['rules']), runCli(['rules', '--markdown'])]);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe(renderRulesList(ALL_RULES));
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toBe(renderRulesMarkdown(ALL_RULES));
  });
});
