import type { Command } from 'commander';
import { Option } from 'commander';
import { createTwoFilesPatch } from 'diff';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { asArray, asString, isObject } from '../model/kube.js';
import { NEWEST_KNOWN_VERSION, parseVersion, type KubeVersion } from '../model/version.js';
import { applyChangeToDocument, planMigration, type MigrationOptions } from '../migration/index.js';
import { PodpatternsError, errorMessage } from '../policy/errors.js';
import { parsePolicy, type MigrationSettings } from '../policy/policy.js';
import { ALL_RULES } from '../rules/index.js';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';

interface MigrateFlags {
  diff?: boolean;
  write?: boolean;
  output: 'yaml' | 'json';
  kubernetesVersion?: string;
  minKubeletVersion?: string;
  policy?: string;
  cronjobs?: boolean;
  pods?: boolean;
}

interface Input {
  name: string;
  text: string;
}

interface Migrated {
  input: Input;
  text: string;
  objects: unknown[];
  changed: boolean;
  failed: boolean;
}

const MANIFEST = /\.(ya?ml|json)$/i;

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('Move the classic sidecars of Jobs into initContainers as native sidecars (Kubernetes 1.29+)')
    .argument('<paths...>', 'manifest files or directories (.yaml, .yml, .json); - reads standard input')
    .option('--diff', 'print a unified diff of the changes instead of the manifests')
    .option('--write', 'rewrite the files in place, keeping comments, key order and untouched documents')
    .addOption(new Option('-o, --output <format>', 'format of the printed manifests').choices(['yaml', 'json']).default('yaml'))
    .option('--kubernetes-version <X.Y>', `API server version (default ${NEWEST_KNOWN_VERSION.major}.${NEWEST_KNOWN_VERSION.minor})`)
    .option('--min-kubelet-version <X.Y>', 'oldest kubelet in the cluster (default: the Kubernetes version)')
    .option('--policy <file>', 'policy file whose migration settings apply (mode defaults to apply here)')
    .option('--cronjobs', 'also migrate CronJob objects')
    .option('--pods', 'also migrate bare Pods')
    .action(async (paths: string[], flags: MigrateFlags) => {
      process.exitCode = await runMigrate(paths, flags);
    });
}

async function runMigrate(paths: string[], flags: MigrateFlags): Promise<number> {
  if (flags.write && paths.includes('-')) throw new PodpatternsError('PODPATTERNS_ERR_USAGE', '--write cannot rewrite standard input (-)');
  const options = await migrationOptions(flags);
  const { inputs, unreadable } = await readInputs(paths);
  const results = inputs.map((input) => migrateText(input, options));
  const failed = unreadable > 0 || results.some((result) => result.failed);

  if (flags.write) {
    for (const result of results.filter((r) => r.changed)) {
      await writeFile(result.input.name, result.text);
      process.stderr.write(`wrote ${result.input.name}\n`);
    }
  }
  if (flags.diff) {
    for (const result of results.filter((r) => r.changed)) {
      process.stdout.write(createTwoFilesPatch(result.input.name, result.input.name, result.input.text, result.text, 'original', 'migrated'));
    }
  } else if (!flags.write) {
    process.stdout.write(flags.output === 'json' ? asJson(results) : asYaml(results));
  }
  return failed ? EXIT_USAGE : EXIT_OK;
}

async function migrationOptions(flags: MigrateFlags): Promise<MigrationOptions> {
  const kubernetesVersion = versionFlag('--kubernetes-version', flags.kubernetesVersion) ?? NEWEST_KNOWN_VERSION;
  const minKubeletVersion = versionFlag('--min-kubelet-version', flags.minKubeletVersion) ?? kubernetesVersion;
  const settings = await settingsFrom(flags.policy);
  return {
    context: { kubernetesVersion, minKubeletVersion },
    settings: { ...settings, cronJobs: settings.cronJobs || flags.cronjobs === true, pods: settings.pods || flags.pods === true },
  };
}

function versionFlag(flag: string, value: string | undefined): KubeVersion | undefined {
  if (value === undefined) return undefined;
  const version = parseVersion(value);
  if (!version) throw new PodpatternsError('PODPATTERNS_ERR_USAGE', `${flag} ${value}: expected a version such as 1.30`);
  return version;
}

/** The policy's migration settings; running `migrate` is asking for the change, so the mode defaults to apply. */
async function settingsFrom(path: string | undefined): Promise<MigrationSettings> {
  if (path === undefined) return { mode: 'apply', cronJobs: false, pods: false };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PodpatternsError('PODPATTERNS_ERR_POLICY_READ', `policy file ${path}: cannot be read: ${errorMessage(error)}`, { cause: error });
  }
  const { migration, explicit } = parsePolicy(text, path, ALL_RULES);
  return { ...migration, mode: explicit.migration.mode ? migration.mode : 'apply' };
}

async function readInputs(paths: string[]): Promise<{ inputs: Input[]; unreadable: number }> {
  const inputs: Input[] = [];
  let unreadable = 0;
  for (const path of paths) {
    try {
      if (path === '-') inputs.push({ name: '-', text: await readStdin() });
      else for (const file of await manifestFiles(path)) inputs.push({ name: file, text: await readFile(file, 'utf8') });
    } catch (error) {
      unreadable++;
      process.stderr.write(`error: ${path}: cannot be read: ${errorMessage(error)}\n`);
    }
  }
  return { inputs, unreadable };
}

async function manifestFiles(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && MANIFEST.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Migrates every object of every document. A document that does not parse is reported with its line and kept
 * as it was; documents that do not change keep their exact text.
 */
function migrateText(input: Input, options: MigrationOptions): Migrated {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(input.text, { lineCounter, uniqueKeys: true });
  const documents = Array.isArray(parsed) ? parsed : [];
  const result: Migrated = { input, text: '', objects: [], changed: false, failed: false };
  let start = 0;
  documents.forEach((document, index) => {
    const end = index === documents.length - 1 ? input.text.length : document.range[2];
    const source = input.text.slice(start, end);
    start = end;
    const where = `${input.name}, document ${index + 1}`;
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        process.stderr.write(`error: ${input.name}, line ${lineCounter.linePos(error.pos[0]).line}: ${error.message.split('\n')[0]}\n`);
      }
      result.failed = true;
      result.text += source;
      return;
    }
    const migrated = migrateDocument(document, where, options);
    if (migrated.failed) result.failed = true;
    result.objects.push(document.toJS());
    if (!migrated.changed) {
      result.text += source;
      return;
    }
    result.changed = true;
    result.text += /\.json$/i.test(input.name) ? `${JSON.stringify(document.toJS(), null, 2)}\n` : render(document, source, input.text.slice(document.range[1], end));
  });
  if (start < input.text.length) result.text += input.text.slice(start);
  return result;
}

/**
 * The text of a changed document, in the style of its source: sequences indented under their key or not, flow
 * collections padded or not, no line folding. The comments after the document are copied from the source, as
 * the YAML library would put a blank line before them.
 */
function render(document: Document, source: string, trailing: string): string {
  const comment = document.comment;
  document.comment = null;
  const text = document.toString({
    lineWidth: 0,
    indentSeq: !/^( *)[^\s#-][^\n]*:[ \t]*\n\1- /m.test(source),
    flowCollectionPadding: /[[{] [^\]}]/.test(source),
  });
  document.comment = comment;
  return text + trailing;
}

function migrateDocument(document: Document, where: string, options: MigrationOptions): { changed: boolean; failed: boolean } {
  let changed = false;
  let failed = false;
  for (const { object, path } of objectsWithin(document.toJS())) {
    const plan = planMigration(object, options);
    const label = `${where} (${describe(object)})`;
    for (const warning of plan.warnings) process.stderr.write(`${label}: ${warning}\n`);
    if (!plan.change) continue;
    try {
      applyChangeToDocument(document, plan.change, path);
      changed = true;
    } catch (error) {
      failed = true;
      process.stderr.write(`error: ${label}: cannot apply the migration to this YAML: ${errorMessage(error)}\n`);
    }
  }
  return { changed, failed };
}

/** The objects a document holds, with their key path: itself, or the items of a List (recursively). */
function objectsWithin(value: unknown, path: (string | number)[] = []): Array<{ object: unknown; path: (string | number)[] }> {
  const kind = isObject(value) ? asString(value.kind) : undefined;
  if (isObject(value) && kind?.endsWith('List') && Array.isArray(value.items)) {
    return asArray(value.items).flatMap((item, index) => objectsWithin(item, [...path, 'items', index]));
  }
  return [{ object: value, path }];
}

function describe(object: unknown): string {
  const metadata = isObject(object) && isObject(object.metadata) ? object.metadata : {};
  const kind = isObject(object) ? (asString(object.kind) ?? 'object') : 'value';
  return `${kind}/${asString(metadata.name) ?? asString(metadata.generateName) ?? '(unnamed)'}`;
}

function asYaml(results: Migrated[]): string {
  return results
    .filter((result) => result.text.trim() !== '')
    .map((result, index) => (index > 0 && !result.text.startsWith('---') ? `---\n${result.text}` : result.text))
    .map((text) => (text.endsWith('\n') ? text : `${text}\n`))
    .join('');
}

function asJson(results: Migrated[]): string {
  const objects = results.flatMap((result) => result.objects).filter((object) => object !== null && object !== undefined);
  const output = objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
  return `${JSON.stringify(output, null, 2)}\n`;
}
