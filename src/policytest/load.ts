import { dirname, isAbsolute, join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { EvaluationContext, Rule } from '../engine/types.js';
import { compareVersions, formatVersion, NEWEST_KNOWN_VERSION, parseVersion, type KubeVersion } from '../model/version.js';
import type { ErrorCode } from '../errors.js';
import { formatKeyPath, suggest, type KeyPath } from '../policy/keys.js';
import type { AuditError } from '../report/types.js';
import { schemaProblems, TEST_KIND, type Outcome, type TestDocument } from './schema.js';

/** Where in a test file something was written: its line and key, for messages. */
export interface Written {
  line: number;
  /** `results[2].resources[0]`. */
  key: string;
}

/** A path (file or directory) to read manifests from, or a manifest written in the test file itself. */
export type ResourceInput = Written & ({ path: string } | { inline: string });

export interface Expectation extends Written {
  /** As written: `Kind/name` or `namespace/Kind/name`. */
  resource: string;
  rule: string;
  expected: Outcome;
}

export interface MigrationExpectation extends Written {
  resource: string;
  /** The expected migrated manifest, resolved against the test file's directory. */
  expected: string;
  /** The same, as written in the test file. */
  expectedAsWritten: string;
}

/** One Test document, checked and with its paths resolved against the test file's directory. */
export interface TestCase {
  file: string;
  name: string;
  /** Line of the document in its file. */
  line: number;
  policy?: Written & { path: string };
  context: Pick<EvaluationContext, 'kubernetesVersion' | 'minKubeletVersion'>;
  strict: boolean;
  resources: ResourceInput[];
  expectations: Expectation[];
  migrations: MigrationExpectation[];
}

/** The tests of one file, and why any of its documents cannot be run. */
export interface LoadedTestFile {
  tests: TestCase[];
  errors: AuditError[];
}

/**
 * Reads the Test documents of one test file. Every problem is reported with the file, line and key, each
 * document on its own: a broken document never hides the others.
 */
export function parseTestFile(text: string, file: string, rules: readonly Rule[]): LoadedTestFile {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const loaded: LoadedTestFile = { tests: [], errors: [] };
  const list = Array.isArray(documents) ? documents : [];
  list.forEach((document, index) => {
    const syntax = document.errors[0];
    if (syntax) {
      loaded.errors.push(testError(file, lineCounter.linePos(syntax.pos[0]).line, 'PODPATTERNS_ERR_TEST_SYNTAX', syntax.message.split('\n')[0]!));
      return;
    }
    if (document.contents === null) return;
    const located = new LocatedDocument(document, lineCounter, text);
    const test = checkTest(document.toJS() as unknown, located, file, index, rules, loaded.errors);
    if (test) loaded.tests.push(test);
  });
  if (loaded.tests.length === 0 && loaded.errors.length === 0) {
    loaded.errors.push(testError(file, 1, 'PODPATTERNS_ERR_TEST_INVALID', `has no ${TEST_KIND} document`));
  }
  return loaded;
}

export function testError(file: string, line: number, code: ErrorCode, message: string): AuditError {
  return { file, ...(line > 0 && { line }), code, message };
}

function checkTest(value: unknown, located: LocatedDocument, file: string, index: number, rules: readonly Rule[], errors: AuditError[]): TestCase | undefined {
  const before = errors.length;
  const fail = (keyPath: KeyPath, problem: string): void => {
    errors.push(testError(file, located.lineOf(keyPath), 'PODPATTERNS_ERR_TEST_INVALID', `${formatKeyPath(keyPath) || '(top level)'}: ${problem}`));
  };
  const problems = schemaProblems(value, suggest);
  for (const { keyPath, problem } of problems.sort((a, b) => located.lineOf(a.keyPath) - located.lineOf(b.keyPath))) fail(keyPath, problem);
  if (problems.length > 0) return undefined;
  const test = value as TestDocument;
  const directory = dirname(file);
  const resolve = (path: string): string => (isAbsolute(path) ? path : join(directory, path));
  const written = (keyPath: KeyPath): Written => ({ line: located.lineOf(keyPath), key: formatKeyPath(keyPath) });

  if (!test.results && !test.migrations) fail([], 'has neither results nor migrations: nothing to check');
  const context = clusterOf(test, fail);

  const resources: ResourceInput[] = test.resources.map((resource, i) => {
    if (typeof resource === 'string') return { ...written(['resources', i]), path: resolve(resource) };
    for (const key of ['apiVersion', 'kind'] as const) {
      if (typeof resource[key] !== 'string' || resource[key] === '') fail(['resources', i], `an inline manifest needs ${key}`);
    }
    return { ...written(['resources', i]), inline: located.standaloneText(['resources', i]) };
  });

  const ids = rules.map((rule) => rule.id);
  const expectations: Expectation[] = [];
  const listed = new Map<string, number>();
  (test.results ?? []).forEach((entry, i) => {
    if (!ids.includes(entry.rule)) fail(['results', i, 'rule'], `unknown rule '${entry.rule}'${suggest(entry.rule, ids)}`);
    entry.resources.forEach((resource, j) => {
      const at = ['results', i, 'resources', j];
      const pair = `${resource}\0${entry.rule}`;
      const earlier = listed.get(pair);
      if (earlier !== undefined) fail(at, `${resource} is already expected for ${entry.rule} at line ${earlier}`);
      listed.set(pair, located.lineOf(at));
      expectations.push({ ...written(at), resource, rule: entry.rule, expected: entry.result });
    });
  });

  const migrations: MigrationExpectation[] = [];
  (test.migrations ?? []).forEach((entry, i) => {
    const earlier = migrations.find((migration) => migration.resource === entry.resource);
    if (earlier) fail(['migrations', i, 'resource'], `${entry.resource} already has an expected migration at line ${earlier.line}`);
    migrations.push({ ...written(['migrations', i, 'resource']), resource: entry.resource, expected: resolve(entry.expected), expectedAsWritten: entry.expected });
  });

  if (errors.length > before) return undefined;
  return {
    file,
    name: test.metadata?.name ?? `document ${index + 1}`,
    line: located.lineOf([]),
    ...(test.policy !== undefined && { policy: { ...written(['policy']), path: resolve(test.policy) } }),
    context,
    strict: test.strict ?? false,
    resources,
    expectations,
    migrations,
  };
}

function clusterOf(test: TestDocument, fail: (keyPath: KeyPath, problem: string) => void): TestCase['context'] {
  const read = (key: 'kubernetesVersion' | 'minKubeletVersion'): KubeVersion | undefined => {
    const text = test.cluster?.[key];
    return text === undefined ? undefined : parseVersion(text);
  };
  const kubernetesVersion = read('kubernetesVersion') ?? NEWEST_KNOWN_VERSION;
  const minKubeletVersion = read('minKubeletVersion') ?? kubernetesVersion;
  if (compareVersions(minKubeletVersion, kubernetesVersion) > 0) {
    // Kubelets may be older than the API server, never newer (https://kubernetes.io/releases/version-skew-policy/).
    fail(['cluster', 'minKubeletVersion'], `${formatVersion(minKubeletVersion)} is newer than kubernetesVersion ${formatVersion(kubernetesVersion)}: kubelets are never newer than the API server`);
  }
  return { kubernetesVersion, minKubeletVersion };
}

/** One parsed YAML document with the positions of its keys. */
class LocatedDocument {
  constructor(
    private readonly document: Document,
    private readonly lineCounter: LineCounter,
    private readonly source: string,
  ) {}

  /** The line of a key (or list item), or of the deepest part of its path that exists. */
  lineOf(keyPath: KeyPath): number {
    const node = this.nodeAt(keyPath);
    return node?.range ? this.lineCounter.linePos(node.range[0]).line : 0;
  }

  /**
   * The source text of a mapping nested in the test file, as a document of its own: an inline manifest is read
   * by the same reader as manifest files (kubectl's reading of `yes`, `0644`, …), not as the test file is.
   */
  standaloneText(keyPath: KeyPath): string {
    const node = this.document.getIn(keyPath, true) as Node | undefined;
    if (!node?.range) return '';
    const [start, end] = node.range;
    const indent = this.lineCounter.linePos(start).col - 1;
    const lines = this.source.slice(start, end).split('\n');
    const dedented = lines.map((line, i) => (i === 0 ? line : line.slice(Math.min(indent, line.length - line.trimStart().length))));
    return `${'\n'.repeat(this.lineCounter.linePos(start).line - 1)}${dedented.join('\n')}\n`;
  }

  private nodeAt(keyPath: KeyPath): Node | undefined {
    let node: unknown = this.document.contents;
    let found = node as Node | undefined;
    for (const key of keyPath) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(key));
        if (!pair) break;
        found = (pair.key as Node) ?? found;
        node = pair.value;
      } else if (isSeq(node) && typeof key === 'number' && node.items[key] !== undefined) {
        node = node.items[key];
        found = node as Node;
      } else {
        break;
      }
    }
    return found;
  }
}
