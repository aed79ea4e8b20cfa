import { readFile } from 'node:fs/promises';
import type { Document, Node } from 'yaml';
import { yamlPackage } from '../input/yaml-package.js';
import type { Exemptions } from '../engine/exemptions.js';
import type { EnginePolicy, RuleSettings } from '../engine/settings.js';
import type { Rule, RuleOptionSpec, RuleOptionValue, Severity } from '../engine/types.js';
import { SEVERITIES } from '../engine/types.js';
import { PodpatternsError, errorMessage } from '../errors.js';
import { parseExemptions } from './exemptions.js';
import { describe, formatKeyPath, isRecord, suggest, type Fail, type KeyPath, type LineOf } from './keys.js';

export { suggest } from './keys.js';

export type MigrationMode = 'apply' | 'dry-run' | 'off';
export const MIGRATION_MODES: readonly MigrationMode[] = ['apply', 'dry-run', 'off'];

export interface MigrationSettings {
  /** `apply` patches, `dry-run` only reports what would move, `off` does nothing. */
  mode: MigrationMode;
  /** Also migrate CronJob objects (their Jobs are migrated at creation either way). */
  cronJobs: boolean;
  /** Also migrate bare Pods (not owned by a Job). */
  pods: boolean;
}

/**
 * Which values the policy file set, key by key; every `false` is a default. A value written equal to its
 * default is still set: `severity: deny` pins deny even where a rule would pick another verdict itself.
 */
export interface PolicyExplicit {
  rules: Readonly<Record<string, Readonly<{ enabled: boolean; severity: boolean; options: Readonly<Record<string, boolean>> }>>>;
  migration: Readonly<Record<keyof MigrationSettings, boolean>>;
  exemptions: Readonly<Record<keyof Exemptions, boolean>>;
}

/**
 * A validated, frozen policy: every rule has settings, every value has its type, and `explicit` records what
 * the file set (the rest are defaults).
 */
export interface Policy extends EnginePolicy {
  rules: Readonly<Record<string, Readonly<RuleSettings>>>;
  migration: Readonly<MigrationSettings>;
  /** Who may exempt what from the rules: see Exemptions. */
  exemptions: Readonly<Exemptions>;
  explicit: Readonly<PolicyExplicit>;
}

export const DEFAULT_MIGRATION: MigrationSettings = { mode: 'dry-run', cronJobs: false, pods: false };

export function defaultPolicy(rules: readonly Rule[]): Policy {
  return buildPolicy(rules, {}, () => 0, '(defaults)');
}

/** Reads and validates a policy file; errors name the file, line and key. */
export async function loadPolicyFile(path: string, rules: readonly Rule[]): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PodpatternsError('PODPATTERNS_ERR_POLICY_READ', `policy file ${path}: cannot be read: ${errorMessage(error)}`, { cause: error });
  }
  return parsePolicy(text, path, rules);
}

export function parsePolicy(text: string, source: string, rules: readonly Rule[]): Policy {
  const { LineCounter, parseDocument } = yamlPackage();
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const syntax = document.errors[0];
  if (syntax) {
    const line = lineCounter.linePos(syntax.pos[0]).line;
    throw new PodpatternsError('PODPATTERNS_ERR_POLICY_SYNTAX', `policy file ${source}, line ${line}: ${syntax.message.split('\n')[0]}`);
  }
  const raw: unknown = document.toJS() ?? {};
  const lineOf = (keyPath: KeyPath): number => {
    const node = nodeAt(document, keyPath);
    return node?.range ? lineCounter.linePos(node.range[0]).line : 0;
  };
  return buildPolicy(rules, raw, lineOf, source);
}

/** The key (of a mapping) or item (of a list) a path leads to, or the deepest one found on the way. */
function nodeAt(document: Document, keyPath: KeyPath): Node | undefined {
  const { isMap, isNode, isScalar, isSeq } = yamlPackage();
  let node: unknown = document.contents;
  let found: Node | undefined;
  for (const key of keyPath) {
    if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key];
      if (!isNode(item)) break;
      found = item;
      node = item;
      continue;
    }
    if (!isMap(node)) break;
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(key));
    if (!pair) break;
    found = (pair.key as Node) ?? found;
    node = pair.value;
  }
  return found;
}

function buildPolicy(rules: readonly Rule[], raw: unknown, lineOf: LineOf, source: string): Policy {
  const fail: Fail = (keyPath, problem) => {
    const line = lineOf(keyPath);
    const where = line > 0 ? `${source}, line ${line}` : source;
    throw new PodpatternsError('PODPATTERNS_ERR_POLICY_INVALID', `policy file ${where}: ${formatKeyPath(keyPath) || '(top level)'}: ${problem}`);
  };
  if (!isRecord(raw)) fail([], 'must be a mapping with `rules`, `migration` and `exemptions`');
  const top = raw as Record<string, unknown>;
  for (const key of Object.keys(top)) {
    if (!['apiVersion', 'kind', 'rules', 'migration', 'exemptions'].includes(key)) fail([key], `unknown key${suggest(key, ['rules', 'migration', 'exemptions'])}`);
  }
  const rulesRaw = top.rules ?? {};
  if (!isRecord(rulesRaw)) fail(['rules'], 'must be a mapping of rule id to settings');
  const byId = new Map(rules.map((rule) => [rule.id, rule]));
  for (const id of Object.keys(rulesRaw as object)) {
    if (!byId.has(id)) fail(['rules', id], `unknown rule '${id}'${suggest(id, [...byId.keys()])}`);
  }
  const settings: Record<string, RuleSettings> = {};
  const explicitRules: Record<string, PolicyExplicit['rules'][string]> = {};
  for (const rule of rules) {
    const parsed = ruleSettings(rule, (rulesRaw as Record<string, unknown>)[rule.id], fail);
    settings[rule.id] = Object.freeze(parsed.settings);
    explicitRules[rule.id] = Object.freeze({ ...parsed.explicit, options: Object.freeze(parsed.explicit.options) });
  }
  const migration = migrationSettings(top.migration, fail);
  const exemptions = parseExemptions(top.exemptions, [...byId.keys()], lineOf, fail);
  return Object.freeze({
    rules: Object.freeze(settings),
    migration: Object.freeze(migration.settings),
    exemptions: exemptions.exemptions,
    explicit: Object.freeze({
      rules: Object.freeze(explicitRules),
      migration: Object.freeze(migration.explicit),
      exemptions: Object.freeze(exemptions.explicit),
    }),
  });
}

interface ParsedRule {
  settings: RuleSettings;
  explicit: { enabled: boolean; severity: boolean; options: Record<string, boolean> };
}

function ruleSettings(rule: Rule, raw: unknown, fail: Fail): ParsedRule {
  const options: Record<string, RuleOptionValue> = {};
  const optionsSet: Record<string, boolean> = {};
  for (const [name, spec] of Object.entries(rule.options ?? {})) {
    options[name] = spec.default;
    optionsSet[name] = false;
  }
  const settings: RuleSettings = { enabled: true, severity: rule.defaultSeverity, options };
  const explicit = { enabled: false, severity: false, options: optionsSet };
  const result = { settings, explicit };
  if (raw === undefined || raw === null) return result;
  const at = (key: string) => ['rules', rule.id, key];
  if (typeof raw === 'boolean') {
    settings.enabled = raw;
    explicit.enabled = true;
    return result;
  }
  if (typeof raw === 'string') {
    if (raw === 'off') {
      settings.enabled = false;
      explicit.enabled = true;
      return result;
    }
    if (!SEVERITIES.includes(raw as Severity)) fail(['rules', rule.id], `must be off, ${SEVERITIES.join(', ')} or a mapping, not '${raw}'`);
    settings.severity = raw as Severity;
    explicit.severity = true;
    return result;
  }
  if (!isRecord(raw)) fail(['rules', rule.id], 'must be a mapping (enabled, severity, options)');
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key === 'enabled') {
      if (typeof value !== 'boolean') fail(at(key), `must be true or false, not ${describe(value)}`);
      settings.enabled = value as boolean;
      explicit.enabled = true;
    } else if (key === 'severity') {
      if (!SEVERITIES.includes(value as Severity)) fail(at(key), `must be one of ${SEVERITIES.join(', ')}, not ${describe(value)}`);
      settings.severity = value as Severity;
      explicit.severity = true;
    } else {
      const spec = rule.options?.[key];
      if (!spec) fail(at(key), `unknown setting${suggest(key, ['enabled', 'severity', ...Object.keys(rule.options ?? {})])}`);
      options[key] = optionValue(value, spec!, at(key), fail);
      optionsSet[key] = true;
    }
  }
  return result;
}

/** The value of an option as its declaration types it: the rule receives it as such, unchecked. */
function optionValue(value: unknown, spec: RuleOptionSpec, path: KeyPath, fail: Fail): RuleOptionValue {
  switch (spec.type) {
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail(path, `must be a number, not ${describe(value)}`);
      if (spec.minimum !== undefined && value < spec.minimum) return fail(path, `must be at least ${spec.minimum}, not ${value}`);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') return fail(path, `must be true or false, not ${describe(value)}`);
      return value;
    case 'string':
      if (typeof value !== 'string') return fail(path, `must be a string, not ${describe(value)}`);
      return value;
    case 'string[]':
      if (!Array.isArray(value)) return fail(path, `must be a list of strings, not ${describe(value)}`);
      for (const [index, item] of value.entries()) {
        if (typeof item !== 'string') return fail(path, `must be a list of strings: item ${index + 1} is ${describe(item)}`);
      }
      return Object.freeze([...value as string[]]);
  }
}

function migrationSettings(raw: unknown, fail: Fail): { settings: MigrationSettings; explicit: Record<keyof MigrationSettings, boolean> } {
  const settings = { ...DEFAULT_MIGRATION };
  const explicit = { mode: false, cronJobs: false, pods: false };
  if (raw === undefined || raw === null) return { settings, explicit };
  if (!isRecord(raw)) return fail(['migration'], 'must be a mapping (mode, cronJobs, pods)');
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key === 'mode') {
      if (!MIGRATION_MODES.includes(value as MigrationMode)) fail(['migration', key], `must be one of ${MIGRATION_MODES.join(', ')}, not ${describe(value)}`);
      settings.mode = value as MigrationMode;
      explicit.mode = true;
    } else if (key === 'cronJobs' || key === 'pods') {
      if (typeof value !== 'boolean') fail(['migration', key], `must be true or false, not ${describe(value)}`);
      settings[key] = value as boolean;
      explicit[key] = true;
    } else {
      fail(['migration', key], `unknown setting${suggest(key, ['mode', 'cronJobs', 'pods'])}`);
    }
  }
  return { settings, explicit };
}
