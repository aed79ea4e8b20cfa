import type { AuditError } from '../report/types.js';
import type { ExpectationResult, TestRun } from './run.js';

/** Everything `podpatterns test` found: the runs of the tests it could read, and the errors of the rest. */
export interface TestReport {
  /** Test files found. */
  files: number;
  runs: TestRun[];
  /** Test files or documents that could not be read as tests. */
  errors: AuditError[];
}

export interface TestSummary {
  files: number;
  tests: number;
  expectations: number;
  passed: number;
  failed: number;
  errors: number;
}

export function summarize(report: TestReport): TestSummary {
  const results = report.runs.flatMap((run) => run.results);
  const passed = results.filter((result) => result.ok).length;
  return {
    files: report.files,
    tests: report.runs.length,
    expectations: results.length,
    passed,
    failed: results.length - passed,
    errors: allErrors(report).length,
  };
}

export function allErrors(report: TestReport): AuditError[] {
  return [...report.errors, ...report.runs.flatMap((run) => run.errors)];
}

const COLUMNS = ['TEST FILE', 'RESOURCE', 'RULE', 'EXPECTED', 'ACTUAL', 'RESULT'] as const;

/**
 * A table with one row per expectation, then what went wrong for each failed row (the rule's findings, the
 * migration diff), then one summary line. Errors go to standard error, rendered by the caller.
 */
export function renderTestText(report: TestReport): string {
  const results = report.runs.flatMap((run) => run.results);
  const rows = results.map((result) => [
    result.file,
    result.resource,
    result.rule,
    result.unlisted ? 'pass (unlisted)' : result.expected,
    result.actual,
    result.ok ? 'ok' : 'FAIL',
  ]);
  let text = rows.length > 0 ? table([[...COLUMNS], ...rows]) : '';
  const failed = results.filter((result) => !result.ok);
  if (failed.length > 0) text += `\n${failed.map(failure).join('\n')}`;
  return `${text}${rows.length > 0 ? '\n' : ''}${summaryLine(summarize(report))}\n`;
}

function table(rows: readonly string[][]): string {
  const widths = COLUMNS.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n') + '\n';
}

function failure(result: ExpectationResult): string {
  const where = `${result.file}:${result.line} (${result.test})`;
  const head =
    result.rule === 'migration'
      ? `FAIL ${where}: ${result.resource} migrated differs from the expected ${result.expected}`
      : result.unlisted
        ? `FAIL ${where}: ${result.resource} ${result.rule}: ${result.actual === 'error' ? 'the rule failed here' : `${result.actual}, and the strict test does not list it`}`
        : `FAIL ${where}: ${result.resource} ${result.rule}: expected ${result.expected}, got ${result.actual}`;
  const details = result.details.map((detail) => `  ${detail}\n`).join('');
  const diff = result.diff ? result.diff.replace(/^={3,}\n/m, '').replace(/^/gm, '  ').replace(/ +$/gm, '') : '';
  return `${head}\n${details}${diff}`;
}

function summaryLine(summary: TestSummary): string {
  const tests = `${summary.tests} ${summary.tests === 1 ? 'test' : 'tests'} in ${summary.files} ${summary.files === 1 ? 'file' : 'files'}`;
  const expectations = `${summary.expectations} ${summary.expectations === 1 ? 'expectation' : 'expectations'}: ${summary.passed} passed, ${summary.failed} failed`;
  const errors = summary.errors > 0 ? `, ${summary.errors} ${summary.errors === 1 ? 'error' : 'errors'}` : '';
  return `${tests}, ${expectations}${errors}`;
}

/**
 * The `--output json` document. Keys are stable and always present (`null` when a value does not apply).
 *
 * - `results[]`: `file`, `test` (metadata.name), `line` (of the expectation), `resource`, `rule` (`migration`
 *   for an expected migrated manifest), `expected`, `actual` (`error` when the rule failed), `ok`, `unlisted`
 *   (a pair the results do not list: a finding in a strict test, or a rule that failed), `details`, `diff`.
 * - `errors[]`: `file`, `line`, `code`, `message`: test files, policies and resources that could not be read.
 * - `summary`: counts of `files`, `tests`, `expectations`, `passed`, `failed`, `errors`.
 */
export function renderTestJson(report: TestReport): string {
  const document = {
    results: report.runs.flatMap((run) => run.results).map((result) => ({
      file: result.file,
      test: result.test,
      line: result.line,
      resource: result.resource,
      rule: result.rule,
      expected: result.expected,
      actual: result.actual,
      ok: result.ok,
      unlisted: result.unlisted,
      details: result.details,
      diff: result.diff ?? null,
    })),
    errors: allErrors(report).map((error) => ({ file: error.file, line: error.line ?? null, code: error.code ?? null, message: error.message })),
    summary: summarize(report),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
