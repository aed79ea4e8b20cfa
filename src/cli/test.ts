import { Option, type Command } from 'commander';
import { TEST_FILE_NAME } from '../policytest/file-name.js';
import { renderTextErrors } from '../report/text.js';
import { ALL_RULES } from '../rules/index.js';
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './exit-codes.js';

interface TestFlags {
  output: 'text' | 'json';
}

export function registerTest(program: Command): void {
  program
    .command('test')
    .description(`Run the declarative policy tests (${TEST_FILE_NAME}) under the given directories: expected verdicts per resource and rule, and expected migrations`)
    .argument('<paths...>', `directories searched recursively for ${TEST_FILE_NAME}, or test files`)
    .addOption(new Option('-o, --output <format>', 'report format').choices(['text', 'json']).default('text'))
    .action(async (paths: string[], flags: TestFlags) => {
      process.exitCode = await runTests(paths, flags);
    });
}

/** Exit codes: 0 every expectation holds, 1 one does not, 2 a test file, policy or resource could not be read or named something unknown. */
async function runTests(paths: string[], flags: TestFlags): Promise<number> {
  // Loaded here, not at start-up: the test runner brings a schema validator and the migration the other commands never use.
  const [{ runTestPaths }, { allErrors, renderTestJson, renderTestText, summarize }] = await Promise.all([import('../policytest/suite.js'), import('../policytest/render.js')]);
  const report = await runTestPaths(paths, ALL_RULES);
  process.stdout.write(flags.output === 'json' ? renderTestJson(report) : renderTestText(report));
  const errors = allErrors(report);
  if (errors.length > 0) {
    process.stderr.write(renderTextErrors(errors, { color: false }));
    return EXIT_USAGE;
  }
  return summarize(report).failed > 0 ? EXIT_FINDINGS : EXIT_OK;
}
