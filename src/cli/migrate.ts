import type { Command } from 'commander';
import { Option } from 'commander';
import { writeFile } from 'node:fs/promises';
import type { Document } from 'yaml';
import { readWholeText, sourceDocuments, type InputError, type ManifestDocument } from '../input/manifest.js';
import { parsePath } from '../input/path.js';
import { collectSources, type ManifestSource } from '../input/sources.js';
import { asString, isObject } from '../model/kube.js';
import { NEWEST_KNOWN_VERSION, parseVersion, type KubeVersion } from '../model/version.js';
import { objectsIn } from '../model/workload.js';
import type { MigrationOptions } from '../migration/index.js';
import { PodpatternsError, errorMessage } from '../errors.js';
import { loadPolicyFile, type MigrationSettings } from '../policy/policy.js';
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

/** Loaded when `migrate` runs, not for every command: the YAML tree library and the diff are large. */
type Libraries = Awaited<ReturnType<typeof loadLibraries>>;

async function loadLibraries() {
  const [yaml, diff, migration, jsonPatch] = await Promise.all([import('yaml'), import('diff'), import('../migration/index.js'), import('fast-json-patch')]);
  return { yaml, diff, migration, jsonPatch: jsonPatch.default };
}

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
  const libraries = await loadLibraries();
  const options = await migrationOptions(flags);
  const { inputs, unreadable } = await readInputs(paths);
  const results = inputs.map((input) => migrateText(input, options, libraries));
  const failed = unreadable > 0 || results.some((result) => result.failed);

  if (flags.write) {
    for (const result of results.filter((r) => r.changed)) {
      await writeFile(result.input.name, result.text);
      process.stderr.write(`wrote ${result.input.name}\n`);
    }
  }
  if (flags.diff) {
    for (const result of results.filter((r) => r.changed)) {
      process.stdout.write(libraries.diff.createTwoFilesPatch(result.input.name, result.input.name, result.input.text, result.text, 'original', 'migrated'));
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
  const { migration, explicit } = await loadPolicyFile(path, ALL_RULES);
  return { ...migration, mode: explicit.migration.mode ? migration.mode : 'apply' };
}

/** Every file the paths name, found as `audit` finds them, read whole: they may be written back. */
async function readInputs(paths: string[]): Promise<{ inputs: Input[]; unreadable: number }> {
  const { sources, errors } = await collectSources(paths, readStdin);
  const inputs: Input[] = [];
  for (const source of sources) {
    try {
      inputs.push({ name: source.name, text: await readWholeText(source.open(), source.name, sizeOf(source)) });
    } catch (error) {
      errors.push({ source: source.name, code: 'PODPATTERNS_ERR_INPUT_READ', message: error instanceof PodpatternsError ? error.message : `cannot be read: ${errorMessage(error)}` });
    }
  }
  for (const error of errors) process.stderr.write(`error: ${where(error)}: ${error.message}\n`);
  return { inputs, unreadable: errors.length };
}

function sizeOf(source: ManifestSource): { size?: number } {
  return source.size !== undefined ? { size: source.size } : {};
}

function where(error: InputError): string {
  return error.line !== undefined ? `${error.source}, line ${error.line}` : error.source;
}

async function* readStdin(): AsyncIterable<Uint8Array> {
  for await (const chunk of process.stdin) yield chunk as Buffer;
}

/**
 * Migrates every object of every document, read by the same reader as `audit`. A document that does not
 * parse is reported with its line and kept as it was; documents that do not change keep their exact text.
 * Only a changed document is parsed again, as a YAML tree, to move its containers keeping comments and order.
 */
function migrateText(input: Input, options: MigrationOptions, libraries: Libraries): Migrated {
  const result: Migrated = { input, text: '', objects: [], changed: false, failed: false };
  for (const piece of sourceDocuments(input.text, input.name)) {
    for (const error of piece.errors) process.stderr.write(`error: ${where(error)}: ${error.message}\n`);
    if (piece.errors.length > 0) result.failed = true;
    const document = piece.documents[0];
    if (!document) {
      result.text += piece.text;
      continue;
    }
    const migrated = migrateDocument(document, piece.text, options, libraries);
    if (migrated.failed) result.failed = true;
    result.objects.push(migrated.value);
    if (!migrated.text) {
      result.text += piece.text;
      continue;
    }
    result.changed = true;
    result.text += /\.json$/i.test(input.name) ? `${JSON.stringify(migrated.value, null, 2)}\n` : migrated.text;
  }
  return result;
}

/** The value after the migration and, when it changed, the document's new text. */
function migrateDocument(document: ManifestDocument, source: string, options: MigrationOptions, libraries: Libraries): { value: unknown; text?: string; failed: boolean } {
  const where = `${document.source}, document ${document.index + 1}`;
  let value: unknown = document.value;
  let tree: Document.Parsed | undefined;
  let failed = false;
  for (const { object, path } of objectsIn(document.value)) {
    const plan = libraries.migration.planMigration(object, options);
    const label = `${where} (${describe(object)})`;
    for (const warning of plan.warnings) process.stderr.write(`${label}: ${warning}\n`);
    if (!plan.change) continue;
    try {
      tree ??= yamlTree(source, libraries);
      libraries.migration.applyChangeToDocument(tree, plan.change, parsePath(path));
      if (value === document.value) value = structuredClone(document.value);
      const prefix = parsePath(path).map((key) => `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
      libraries.jsonPatch.applyPatch(value, plan.patch.map((operation) => ({ ...operation, path: prefix + operation.path })), true, true);
    } catch (error) {
      failed = true;
      process.stderr.write(`error: ${label}: cannot apply the migration to this YAML: ${errorMessage(error)}\n`);
    }
  }
  if (value === document.value || !tree) return { value: document.value, failed };
  return { value, text: render(tree, source), failed };
}

function yamlTree(source: string, { yaml }: Libraries): Document.Parsed {
  const tree = yaml.parseDocument(source, { uniqueKeys: false });
  const error = tree.errors[0];
  if (error) throw new Error(error.message.split('\n')[0]);
  return tree;
}

/**
 * The text of a changed document, in the style of its source: sequences indented under their key or not, flow
 * collections padded or not, no line folding. The comments after the document are copied from the source, as
 * the YAML library would put a blank line before them.
 */
function render(document: Document.Parsed, source: string): string {
  const comment = document.comment;
  document.comment = null;
  const text = document.toString({
    lineWidth: 0,
    indentSeq: !/^( *)[^\s#-][^\n]*:[ \t]*\n\1- /m.test(source),
    flowCollectionPadding: /[[{] [^\]}]/.test(source),
  });
  document.comment = comment;
  return text + source.slice(document.range[1]);
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
