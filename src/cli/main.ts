#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { PodpatternsError, errorMessage } from '../errors.js';
import { registerServe } from './serve.js';
import { registerMigrate } from './migrate.js';
import { registerAudit } from './audit.js';
import { registerCompile } from './compile.js';
import { registerRules } from './rules.js';
import { registerTest } from './test.js';
import { isEntryPoint } from './entry-point.js';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './exit-codes.js';

export function buildProgram(): Command {
  const program = new Command('podpatterns')
    .description('Admission webhook and CLI for multi-container pod patterns that break at runtime')
    .version(version)
    .showHelpAfterError()
    .exitOverride();
  // Each subcommand registers itself; adding one touches only its own file and this list.
  registerAudit(program);
  registerCompile(program);
  registerMigrate(program);
  registerRules(program);
  registerServe(program);
  registerTest(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    const code = error instanceof PodpatternsError ? error.code : 'PODPATTERNS_ERR_UNEXPECTED';
    process.stderr.write(`podpatterns: ${errorMessage(error)} [${code}]\n`);
    return EXIT_USAGE;
  }
}

if (isEntryPoint(import.meta.url)) process.exitCode = await main(process.argv);
