import { basename, resolve, sep } from 'node:path';
import type { Rule } from '../engine/types.js';
import { collectSources } from '../input/sources.js';
import { errorMessage } from '../errors.js';
import { parseTestFile, testError } from './load.js';
import type { TestReport } from './render.js';
import { noStdin, readText } from './read.js';
import { runTest } from './run.js';
import { TEST_FILE_NAME } from './schema.js';

/**
 * Finds and runs the tests the command line names: every `podpatterns-test.yaml` under the directories
 * given (found by the walker `audit` uses), and files given by name whatever their name. A test file or
 * test that cannot be read is an error of its own; the others still run.
 */
export async function runTestPaths(paths: readonly string[], rules: readonly Rule[]): Promise<TestReport> {
  const collected = await collectSources(paths, noStdin);
  const named = new Set(paths);
  const sources = collected.sources.filter((source) => named.has(source.name) || basename(source.name) === TEST_FILE_NAME);
  const report: TestReport = { files: sources.length, runs: [], errors: [] };
  // Other files of the tree (manifests, policies) are the tests' business: only the walk's own failures count here.
  for (const error of collected.errors) {
    if (named.has(error.source) || basename(error.source) === TEST_FILE_NAME) report.errors.push(testError(error.source, error.line ?? 0, error.code, error.message));
  }
  for (const path of paths) {
    const under = resolve(path);
    const found = sources.some((source) => resolve(source.name) === under || resolve(source.name).startsWith(`${under}${sep}`));
    if (!found && !report.errors.some((error) => error.file === path)) {
      report.errors.push(testError(path, 0, 'PODPATTERNS_ERR_TEST_READ', `no ${TEST_FILE_NAME} in this directory or below it`));
    }
  }
  for (const source of sources) {
    let text: string;
    try {
      text = await readText(source);
    } catch (error) {
      report.errors.push(testError(source.name, 0, 'PODPATTERNS_ERR_TEST_READ', `cannot be read: ${errorMessage(error)}`));
      continue;
    }
    const loaded = parseTestFile(text, source.name, rules);
    report.errors.push(...loaded.errors);
    for (const test of loaded.tests) report.runs.push(await runTest(test, rules));
  }
  return report;
}
