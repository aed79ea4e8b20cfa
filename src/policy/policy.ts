import { readFile } from 'node:fs/promises';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { Rule, RuleOptionValue, Severity } from '../engine/types.js';
import { SEVERITIES } from '../engine/types.js';
import { PodpatternsError, errorMessage } from './errors.js';

export interface RuleSettings {
  enabled: boolean;
  severity: Severity;
  options: Record<string, RuleOptionValue>;
}

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

/** A validated, frozen policy: every rule has settings, every value has its type. */
export interface Policy {
  rules: Readonly<Record<string, Readonly<RuleSettings>>>;
  migration: Readonly<MigrationSettings>;
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
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const syntax = document.errors[0];
  if (syntax) {
    const line = lineCounter.linePos(syntax.pos[0]).line;
    throw new PodpatternsError('PODPATTERNS_ERR_POLICY_SYNTAX', `policy file ${source}, line ${line}: ${syntax.message.split('\n')[0]}`);
  }
  const raw: unknown = document.toJS() ?? {};
  const lineOf = (keyPath: readonly string[]): number => {
    const node = nodeAt(document, keyPath);
    return node?.range ? lineCounter.linePos(node.range[0]).line : 0;
  };
  return buildPolicy(rules, raw, lineOf, source);
}

function nodeAt(document: Document, keyPath: readonly string[]): Node | undefined {
  let node: unknown = document.contents;
  let found: Node | undefined;
  for (const key of keyPath) {
    if (!isMap(node)) break;
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === key);
    if (!pair) break;
    found = (pair.key as Node) ?? found;
    node = pair.value;
  }
  return found;
}

type LineOf = (keyPath: readonly string[]) => number;

function buildPolicy(rules: readonly Rule[], raw: unknown, lineOf: LineOf, source: string): Policy {
  const fail = (keyPath: readonly string[], problem: string): never => {
    const line = lineOf(keyPath);
    const where = line > 0 ? `${source}, line ${line}` : source;
    throw new PodpatternsError('PODPATTERNS_ERR_POLICY_INVALID', `policy file ${where}: ${keyPath.join('.') || '(top level)'}: ${problem}`);
  };
  if (!isRecord(raw)) fail([], 'must be a mapping with `rules` and `migration`');
  const top = raw as Record<string, unknown>;
  for (const key of Object.keys(top)) {
    if (!['apiVersion', 'kind', 'rules', 'migration'].includes(key)) fail([key], `unknown key${suggest(key, ['rules', 'migration'])}`);
  }
  const rulesRaw = top.rules ?? {};
  if (!isRecord(rulesRaw)) fail(['rules'], 'must be a mapping of rule id to settings');
  const byId = new Map(rules.map((rule) => [rule.id, rule]));
  for (const id of Object.keys(rulesRaw as object)) {
    if (!byId.has(id)) fail(['rules', id], `unknown rule '${id}'${suggest(id, [...byId.keys()])}`);
  }
  const settings: Record<string, RuleSettings> = {};
  for (const rule of rules) {
    settings[rule.id] = Object.freeze(ruleSettings(rule, (rulesRaw as Record<string, unknown>)[rule.id], fail));
  }
  return Object.freeze({
    rules: Object.freeze(settings),
    migration: Object.freeze(migrationSettings(top.migration, fail)),
  });
}

function ruleSettings(rule: Rule, raw: unknown, fail: (path: readonly string[], problem: string) => never): RuleSettings {
  const options: Record<string, RuleOptionValue> = {};
  for (const [name, spec] of Object.entries(rule.options ?? {})) options[name] = spec.default;
  const result: RuleSettings = { enabled: true, severity: rule.defaultSeverity, options };
  if (raw === undefined || raw === null) return result;
  const at = (key: string) => ['rules', rule.id, key];
  if (typeof raw === 'boolean') return { ...result, enabled: raw };
  if (typeof raw === 'string') {
    if (raw === 'off') return { ...result, enabled: false };
    if (!SEVERITIES.includes(raw as Severity)) fail(['rules', rule.id], `must be off, ${SEVERITIES.join(', ')} or a mapping, not '${raw}'`);
    return { ...result, severity: raw as Severity };
  }
  if (!isRecord(raw)) fail(['rules', rule.id], 'must be a mapping (enabled, severity, options)');
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key === 'enabled') {
      if (typeof value !== 'boolean') fail(at(key), `must be true or false, not ${describe(value)}`);
      result.enabled = value as boolean;
    } else if (key === 'severity') {
      if (!SEVERITIES.includes(value as Severity)) fail(at(key), `must be one of ${SEVERITIES.join(', ')}, not ${describe(value)}`);
      result.severity = value as Severity;
    } else {
      const spec = rule.options?.[key];
      if (!spec) fail(at(key), `unknown setting${suggest(key, ['enabled', 'severity', ...Object.keys(rule.options ?? {})])}`);
      options[key] = optionValue(value, spec!.type, spec!.minimum, at(key), fail);
    }
  }
  return result;
}

function optionValue(
  value: unknown,
  type: string,
  minimum: number | undefined,
  path: readonly string[],
  fail: (path: readonly string[], problem: string) => never,
): RuleOptionValue {
  switch (type) {
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail(path, `must be a number, not ${describe(value)}`);
      if (minimum !== undefined && value < minimum) return fail(path, `must be at least ${minimum}, not ${value}`);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') return fail(path, `must be true or false, not ${describe(value)}`);
      return value;
    case 'string':
      if (typeof value !== 'string') return fail(path, `must be a string, not ${describe(value)}`);
      return value;
    default:
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) return fail(path, `must be a list of strings, not ${describe(value)}`);
      return value as string[];
  }
}

function migrationSettings(raw: unknown, fail: (path: readonly string[], problem: string) => never): MigrationSettings {
  const result = { ...DEFAULT_MIGRATION };
  if (raw === undefined || raw === null) return result;
  if (!isRecord(raw)) return fail(['migration'], 'must be a mapping (mode, cronJobs, pods)');
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key === 'mode') {
      if (!MIGRATION_MODES.includes(value as MigrationMode)) fail(['migration', key], `must be one of ${MIGRATION_MODES.join(', ')}, not ${describe(value)}`);
      result.mode = value as MigrationMode;
    } else if (key === 'cronJobs' || key === 'pods') {
      if (typeof value !== 'boolean') fail(['migration', key], `must be true or false, not ${describe(value)}`);
      result[key] = value as boolean;
    } else {
      fail(['migration', key], `unknown setting${suggest(key, ['mode', 'cronJobs', 'pods'])}`);
    }
  }
  return result;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** " (did you mean 'x'?)" when a known name is within two edits. */
export function suggest(name: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best ? ` (did you mean '${best}'?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

