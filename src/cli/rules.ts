import type { Command } from 'commander';
import type { Rule, RuleOptionSpec, RuleOptionValue } from '../engine/types.js';
import { ALL_RULES } from '../rules/index.js';

export function registerRules(program: Command): void {
  program
    .command('rules')
    .description('List the rules with their default severity')
    .option('--markdown', "print the README's rules reference: description, options and examples of every rule")
    .action((flags: { markdown?: boolean }) => {
      process.stdout.write(flags.markdown ? renderRulesMarkdown(ALL_RULES) : renderRulesList(ALL_RULES));
    });
}

/** One line per rule: id, default severity, summary, in columns. */
export function renderRulesList(rules: readonly Rule[]): string {
  const width = Math.max(0, ...rules.map((rule) => rule.id.length));
  return rules.map((rule) => `${rule.id.padEnd(width)}  ${rule.defaultSeverity.padEnd(5)}  ${rule.summary}\n`).join('');
}

/**
 * The rules reference of the README, generated from the rules themselves so the two cannot drift:
 * per rule a `### <id>` heading, the default severity, the description, the options table and the
 * flagged and fixed examples.
 */
export function renderRulesMarkdown(rules: readonly Rule[]): string {
  return rules.map(ruleMarkdown).join('\n');
}

function ruleMarkdown(rule: Rule): string {
  const parts = [`### ${rule.id}`, `**Default severity:** \`${rule.defaultSeverity}\` — ${rule.summary}`, rule.description];
  const options = Object.entries(rule.options ?? {});
  if (options.length > 0) {
    parts.push(
      [
        '| Option | Type | Default | Description |',
        '| --- | --- | --- | --- |',
        ...options.map(([name, spec]) => `| \`${name}\` | ${optionType(spec)} | ${cell(`\`${formatValue(spec.default)}\``)} | ${cell(spec.description)} |`),
      ].join('\n'),
    );
  }
  const versions = exampleVersions(rule);
  parts.push(`Flagged${versions}:`, yamlBlock(rule.example.bad), 'Fixed:', yamlBlock(rule.example.fixed));
  return `${parts.join('\n\n')}\n`;
}

function exampleVersions(rule: Rule): string {
  const { kubernetesVersion, minKubeletVersion } = rule.example;
  if (kubernetesVersion === undefined && minKubeletVersion === undefined) return '';
  const cluster = [kubernetesVersion && `Kubernetes ${kubernetesVersion}`, minKubeletVersion && `kubelets from ${minKubeletVersion}`].filter(Boolean);
  return ` (on ${cluster.join(', ')})`;
}

function optionType(spec: RuleOptionSpec): string {
  return spec.minimum !== undefined ? `${spec.type} (at least ${spec.minimum})` : spec.type;
}

function formatValue(value: RuleOptionValue): string {
  return Array.isArray(value) ? JSON.stringify(value) : String(value);
}

/** Table cells cannot hold a `|` or a line break. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function yamlBlock(yaml: string): string {
  return `\`\`\`yaml\n${yaml.endsWith('\n') ? yaml : `${yaml}\n`}\`\`\``;
}
