import type { Command } from 'commander';
import { runsAtAdmission } from '../engine/scope.js';
import type { Rule, RuleOptionSpec, RuleOptionValue } from '../engine/types.js';
import { PodpatternsError } from '../errors.js';
import { POD_BEARING_KINDS } from '../model/workload.js';
import { suggest } from '../policy/policy.js';
import { ALL_RULES } from '../rules/index.js';

export function registerRules(program: Command): void {
  program
    .command('rules [id]')
    .description("List the rules with their default severity, or print one rule's full documentation")
    .option('--markdown', "print the README's rules reference: description, options and examples of every rule (or of the one named)")
    .action((id: string | undefined, flags: { markdown?: boolean }) => {
      const rules = id === undefined ? ALL_RULES : [ruleById(id, ALL_RULES)];
      if (flags.markdown) process.stdout.write(renderRulesMarkdown(rules));
      else process.stdout.write(id === undefined ? renderRulesList(rules) : renderRuleDoc(rules[0]!));
    });
}

/** The rule with this id, or a usage error that names the id and the closest known one. */
export function ruleById(id: string, rules: readonly Rule[]): Rule {
  const rule = rules.find((candidate) => candidate.id === id);
  if (rule) return rule;
  const ids = rules.map((candidate) => candidate.id);
  throw new PodpatternsError('PODPATTERNS_ERR_USAGE', `unknown rule '${id}'${suggest(id, ids)}; \`podpatterns rules\` lists them all`);
}

/**
 * One rule's documentation for the terminal, where warnings and the audit report point: id and default
 * severity, summary, description, options, and the flagged and fixed examples.
 */
export function renderRuleDoc(rule: Rule): string {
  const parts = [`${rule.id} (default severity: ${rule.defaultSeverity})\n${rule.summary}`, wrap(`Checks: ${scope(rule, (text) => text)}.`, 100), wrap(rule.description, 100)];
  const options = Object.entries(rule.options ?? {});
  if (options.length > 0) {
    parts.push([`Options (policy file: rules.${rule.id}.<option>):`, ...options.map(([name, spec]) => `  ${name}  ${optionType(spec)}, default ${formatValue(spec.default)}: ${spec.description}`)].join('\n'));
  }
  parts.push(`Flagged${exampleVersions(rule)}:\n${indent(rule.example.bad)}`, `Fixed:\n${indent(rule.example.fixed)}`);
  return `${parts.join('\n\n')}\n`;
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}

function indent(yaml: string): string {
  return yaml.trimEnd().split('\n').map((line) => `  ${line}`).join('\n');
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
  const parts = [`### ${rule.id}`, `**Default severity:** \`${rule.defaultSeverity}\` — ${rule.summary}`, `**Checks:** ${scope(rule, (text) => `\`${text}\``)}.`, rule.description];
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

/**
 * What a rule checks and where it runs, from its declarations: `every kind that carries a pod template, at
 * admission and in audits`. `code` marks up commands and field names.
 */
function scope(rule: Rule, code: (text: string) => string): string {
  const all = rule.kinds.length === POD_BEARING_KINDS.length && POD_BEARING_KINDS.every((kind) => rule.kinds.includes(kind));
  const kinds = all ? 'every kind that carries a pod template' : rule.kinds.join(', ');
  if (!runsAtAdmission(rule)) {
    return `${kinds}, in audits only (${code('podpatterns audit')}, with ${code('--cluster')} too): it reads other objects with each one, which an admission request does not carry`;
  }
  const dropped = rule.droppedFields ?? [];
  const mutate = dropped.length > 0
    ? `; on ${code('/mutate')} as well, since the API server drops ${dropped.map(code).join(' and ')} before validating admission when its feature gate is off`
    : '';
  return `${kinds}, at admission and in audits${mutate}`;
}

function exampleVersions(rule: Rule): string {
  const { kubernetesVersion, minKubeletVersion } = rule.example;
  if (kubernetesVersion === undefined && minKubeletVersion === undefined) return '';
  const cluster = [kubernetesVersion && `Kubernetes ${kubernetesVersion}`, minKubeletVersion && `kubelets from ${minKubeletVersion}`].filter(Boolean);
  return ` (on ${cluster.join(', ')})`;
}

function optionType(spec: RuleOptionSpec): string {
  return spec.type === 'number' && spec.minimum !== undefined ? `${spec.type} (at least ${spec.minimum})` : spec.type;
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
