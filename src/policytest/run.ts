import { createTwoFilesPatch } from 'diff';
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Rule, Severity } from '../engine/types.js';
import { severityRank } from '../engine/types.js';
import { isInputError, parseManifests, readManifests, type ManifestDocument } from '../input/manifest.js';
import { collectSources } from '../input/sources.js';
import type { KubeObject } from '../model/kube.js';
import { resourceRef, type ResourceRef } from '../model/pod.js';
import { objectsIn } from '../model/workload.js';
import { migrateObject, type MigrationOptions } from '../migration/index.js';
import { describeAppliedExemption, describeExemption, globMatch, type Exemption } from '../engine/exemptions.js';
import { errorMessage, PodpatternsError } from '../errors.js';
import { suggest } from '../policy/keys.js';
import { defaultPolicy, loadPolicyFile, type MigrationSettings, type Policy } from '../policy/policy.js';
import { auditDocuments } from '../audit/files.js';
import type { AuditError, AuditReport } from '../report/types.js';
import { testError, type TestCase, type Written } from './load.js';
import { noStdin, readOptions } from './read.js';
import { TEST_FILE_NAME, type Outcome } from './schema.js';

type Fail = (at: Written, code: AuditError['code'], message: string) => void;

/** What a rule actually did on a resource: an outcome, or `error` when the rule could not evaluate it. */
export type Actual = Outcome | 'error';

/** One checked expectation: a row of the report. */
export interface ExpectationResult {
  file: string;
  test: string;
  /** Line of the expectation in the test file (of the test, for unlisted findings in strict mode). */
  line: number;
  /** As written in the test file, or `namespace/Kind/name` for unlisted findings. */
  resource: string;
  /** A rule id, or `migration` for an expected migrated manifest. */
  rule: string;
  /** An outcome, or the expected manifest's path (as the test file writes it) for a migration. */
  expected: string;
  /** An outcome, `error`, or `matches`/`differs` for a migration. */
  actual: string;
  ok: boolean;
  /** A pair the results do not list: reported because the test is strict, or because the rule failed on it. */
  unlisted: boolean;
  /** What the rule reported (for failed rows), or why the migration did nothing. */
  details: string[];
  /** Unified diff from the expected to the actual migrated manifest, when they differ. */
  diff?: string;
}

export interface TestRun {
  file: string;
  name: string;
  line: number;
  results: ExpectationResult[];
  /** Why the test could not be run (its policy, a resource file, a resource it names); no results then. */
  errors: AuditError[];
}

/** Runs one test: reads its policy and resources, evaluates them as `audit` does, and checks each expectation. */
export async function runTest(test: TestCase, rules: readonly Rule[]): Promise<TestRun> {
  const run: TestRun = { file: test.file, name: test.name, line: test.line, results: [], errors: [] };
  const fail: Fail = (at, code, message) => {
    run.errors.push(testError(test.file, at.line, code ?? 'PODPATTERNS_ERR_TEST_INVALID', `${at.key}: ${message}`));
  };

  const policy = await policyOf(test, rules, fail);
  const documents = await readResources(test, run.errors, fail);
  if (run.errors.length > 0 || !policy) return run;

  const index = new ResourceIndex(documents);
  const targets = test.expectations.map((expectation) => index.find(expectation.resource, expectation, fail).ref);
  const migrationTargets = test.migrations.map((migration) => index.find(migration.resource, migration, fail));
  if (run.errors.length > 0) return run;
  const expectedMigrations = await Promise.all(test.migrations.map((migration, i) => readExpectedManifest(migration.expected, migrationTargets[i]!.ref, migration, fail)));
  if (run.errors.length > 0) return run;

  const observed = new Observations(await auditDocuments(documents, { context: test.context, policy, rules }));
  const row = (fields: Omit<ExpectationResult, 'file' | 'test'>): void => void run.results.push({ file: test.file, test: test.name, ...fields });
  const listed = new Set<string>();
  test.expectations.forEach((expectation, i) => {
    listed.add(pairKey(targets[i]!, expectation.rule));
    const seen = observed.get(targets[i]!, expectation.rule);
    const actual = actualOutcome(seen);
    const ok = actual === expectation.expected;
    const details = ok ? [] : [...(seen?.details ?? []), ...(expectation.expected === 'exempt' ? observed.expiredFor(targets[i]!, expectation.rule) : [])];
    row({ line: expectation.line, resource: expectation.resource, rule: expectation.rule, expected: expectation.expected, actual, ok, unlisted: false, details });
  });
  // A strict test fails on anything it does not list; every test fails on a rule that could not evaluate.
  for (const [pair, seen] of observed.entries) {
    if (listed.has(pair) || !(test.strict || seen.failed)) continue;
    row({ line: test.line, resource: label(seen.resource), rule: seen.rule, expected: 'pass', actual: actualOutcome(seen), ok: false, unlisted: true, details: seen.details });
  }

  const options = migrationOptions(test, policy);
  test.migrations.forEach((migration, i) => {
    const result = migrateObject(migrationTargets[i]!.object, options);
    const expected = canonicalYaml(expectedMigrations[i]);
    const actual = canonicalYaml(result.object);
    const ok = expected === actual;
    row({
      line: migration.line,
      resource: migration.resource,
      rule: 'migration',
      expected: migration.expectedAsWritten,
      actual: ok ? 'matches' : 'differs',
      ok,
      unlisted: false,
      details: ok ? [] : [...result.plan.warnings, ...(result.plan.skipped ? [`not migrated: ${result.plan.skipped}`] : [])],
      ...(!ok && { diff: createTwoFilesPatch(migration.expected, `${migration.resource} migrated`, expected, actual, 'expected', 'actual') }),
    });
  });
  return run;
}

async function policyOf(test: TestCase, rules: readonly Rule[], fail: Fail): Promise<Policy | undefined> {
  if (!test.policy) return defaultPolicy(rules);
  try {
    return await loadPolicyFile(test.policy.path, rules);
  } catch (error) {
    fail(test.policy, error instanceof PodpatternsError ? error.code : undefined, errorMessage(error));
    return undefined;
  }
}

/**
 * The documents of a test's resources: files and directories read by the walker and reader `audit` uses,
 * and inline manifests read by the same reader. Files the test itself names (its policy, expected
 * migrations) and other test files are not resources when a directory it lists holds them.
 */
async function readResources(test: TestCase, errors: AuditError[], fail: Fail): Promise<ManifestDocument[]> {
  const notResources = new Set([test.file, ...(test.policy ? [test.policy.path] : []), ...test.migrations.map((migration) => migration.expected)].map((path) => resolve(path)));
  const documents: ManifestDocument[] = [];
  for (const input of test.resources) {
    if ('inline' in input) {
      const parsed = parseManifests(input.inline, test.file);
      documents.push(...parsed.documents);
      errors.push(...parsed.errors.map((error) => testError(test.file, error.line ?? input.line, error.code, `${input.key}: ${error.message}`)));
      continue;
    }
    const collected = await collectSources([input.path], noStdin);
    for (const error of collected.errors) fail(input, error.code, `${error.source}: ${error.message}`);
    for (const source of collected.sources) {
      const named = source.name === input.path;
      if (!named && (basename(source.name) === TEST_FILE_NAME || notResources.has(resolve(source.name)))) continue;
      try {
        for await (const item of readManifests(source.open(), source.name, readOptions(source))) {
          if (!isInputError(item)) documents.push(item);
          else errors.push({ file: item.source, ...(item.line !== undefined && { line: item.line }), code: item.code, message: `${item.message} (a resource of ${test.file})` });
        }
      } catch (error) {
        fail(input, 'PODPATTERNS_ERR_INPUT_READ', `${source.name}: cannot be read: ${errorMessage(error)}`);
      }
    }
  }
  return documents;
}

/**
 * The object of an expected migrated manifest with the resource's kind, namespace and name: the file may hold
 * one object, or several (what `podpatterns migrate` prints for a file of many).
 */
async function readExpectedManifest(path: string, resource: ResourceRef, at: Written, fail: Fail): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    fail(at, 'PODPATTERNS_ERR_INPUT_READ', `expected migration ${path} cannot be read: ${errorMessage(error)}`);
    return undefined;
  }
  const parsed = parseManifests(text, path);
  for (const error of parsed.errors) fail(at, error.code, `expected migration ${path}${error.line !== undefined ? `, line ${error.line}` : ''}: ${error.message}`);
  const objects = parsed.documents.flatMap((document) => objectsIn(document.value)).map(({ object }) => object);
  const match = objects.length === 1 ? objects : objects.filter((object) => key(resourceRef(object)) === key(resource));
  if (parsed.errors.length > 0) return undefined;
  if (match.length !== 1) {
    const problem = match.length === 0 ? `has no ${label(resource)}` : `has ${match.length} objects named ${label(resource)}`;
    fail(at, 'PODPATTERNS_ERR_TEST_INVALID', `expected migration ${path} ${problem}`);
  }
  return match[0];
}

/** The settings `podpatterns migrate --policy` uses: the policy's, with the mode `apply` unless the policy sets one. */
function migrationOptions(test: TestCase, policy: Policy): MigrationOptions {
  const settings: MigrationSettings = { ...policy.migration, mode: policy.explicit.migration.mode ? policy.migration.mode : 'apply' };
  return { context: { ...test.context }, settings };
}

/** Key order and formatting do not matter: both sides are written the same way, keys sorted. */
function canonicalYaml(value: unknown): string {
  return stringify(value, { sortMapEntries: true, lineWidth: 0 });
}

/** What the rules did, per resource and rule. */
interface Observed {
  resource: ResourceRef;
  rule: string;
  severities: Severity[];
  exempted: boolean;
  failed: boolean;
  details: string[];
}

/** What the rules did, per resource and rule, from the audit of a test's resources. */
class Observations {
  readonly entries = new Map<string, Observed>();
  private readonly expired: readonly Exemption[];

  constructor(report: AuditReport) {
    for (const finding of report.findings) {
      const entry = this.at(finding.resource, finding.rule);
      entry.severities.push(finding.severity);
      entry.details.push(`${finding.severity} at ${finding.file}:${finding.line ?? '?'}: ${finding.message}`);
    }
    for (const error of report.errors) {
      if (!error.rule || !error.resource) continue;
      const entry = this.at(error.resource, error.rule);
      entry.failed = true;
      entry.details.push(error.message);
    }
    // The engine runs every rule and moves what an exemption covers to `exempted`: only a rule that fired is exempt.
    for (const exempted of report.exempted) {
      const entry = this.at(exempted.resource, exempted.rule);
      entry.exempted = true;
      entry.details.push(`${exempted.severity} at ${exempted.file}:${exempted.line ?? '?'}, exempted by ${describeAppliedExemption(exempted.exemption)}: ${exempted.message}`);
    }
    this.expired = report.expiredExemptions;
  }

  get(resource: ResourceRef, rule: string): Observed | undefined {
    return this.entries.get(pairKey(resource, rule));
  }

  /** Why an expected exemption may not have applied: the policy exemptions for the pair that are past their last day. */
  expiredFor(resource: ResourceRef, rule: string): string[] {
    return this.expired
      .filter((entry) => entry.namespace === resource.namespace && (entry.kind ?? resource.kind) === resource.kind && globMatch(entry.name ?? '*', resource.name))
      .filter((entry) => entry.rules.includes('*') || entry.rules.includes(rule))
      .map((entry) => `the policy exemption ${describeExemption(entry)} expired on ${entry.expires?.date ?? '?'} and no longer applies`);
  }

  private at(resource: ResourceRef, rule: string): Observed {
    const id = pairKey(resource, rule);
    let entry = this.entries.get(id);
    if (!entry) this.entries.set(id, (entry = { resource, rule, severities: [], exempted: false, failed: false, details: [] }));
    return entry;
  }
}

function actualOutcome(seen: Observed | undefined): Actual {
  if (!seen) return 'pass';
  if (seen.failed) return 'error';
  if (seen.severities.length > 0) return [...seen.severities].sort((a, b) => severityRank(a) - severityRank(b))[0]!;
  return seen.exempted ? 'exempt' : 'pass';
}

function key(resource: ResourceRef): string {
  return `${resource.namespace ?? ''}/${resource.kind}/${resource.name}`;
}

function pairKey(resource: ResourceRef, rule: string): string {
  return `${key(resource)}\0${rule}`;
}

/** `namespace/Kind/name`, or `Kind/name` for an object without a namespace. */
function label(resource: ResourceRef): string {
  return resource.namespace ? `${resource.namespace}/${resource.kind}/${resource.name}` : `${resource.kind}/${resource.name}`;
}

/** The objects of a test's resources, found by the names results give them. */
class ResourceIndex {
  private readonly objects: Array<{ ref: ResourceRef; object: KubeObject; where: string }> = [];

  constructor(documents: readonly ManifestDocument[]) {
    for (const document of documents) {
      for (const { object } of objectsIn(document.value)) this.objects.push({ ref: resourceRef(object), object, where: `${document.source}:${document.line}` });
    }
  }

  /** The one object a name means; a name that means none or several is an error of the test. */
  find(name: string, at: Written, fail: Fail): { ref: ResourceRef; object: KubeObject } {
    const parts = name.split('/');
    const [namespace, kind, objectName] = parts.length === 3 ? parts : [undefined, ...parts];
    const matches = this.objects.filter(({ ref }) => ref.kind === kind && ref.name === objectName && (namespace === undefined || ref.namespace === namespace));
    const found = matches[0];
    if (!found) {
      const known = [...new Set(this.objects.map(({ ref }) => label(ref)))];
      fail(at, 'PODPATTERNS_ERR_TEST_INVALID', `no resource ${name} among the test's resources${suggest(name, known) || (known.length > 0 && known.length <= 5 ? ` (they are ${known.join(', ')})` : '')}`);
      return { ref: { apiVersion: '', kind: '', name: '' }, object: {} };
    }
    if (matches.length > 1) {
      const places = matches.map((match) => `${label(match.ref)} at ${match.where}`).join(', ');
      fail(at, 'PODPATTERNS_ERR_TEST_INVALID', `${name} names ${matches.length} resources (${places}): ${namespace === undefined ? 'add the namespace, or ' : ''}give each test its own resources`);
    }
    return found;
  }
}
