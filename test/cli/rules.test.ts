import { describe, expect, it } from 'vitest';
import { renderRulesList, renderRulesMarkdown } from '../../src/cli/rules.js';
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

describe('podpatterns rules', () => {
  it('lists every rule, or prints the markdown reference with --markdown', { timeout: 90_000 }, async () => {
    const [list, markdown] = await Promise.all([runCli(['rules']), runCli(['rules', '--markdown'])]);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe(renderRulesList(ALL_RULES));
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toBe(renderRulesMarkdown(ALL_RULES));
  });
});
