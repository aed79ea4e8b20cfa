import { fileURLToPath, pathToFileURL } from 'node:url';
import { REPO } from '../cli/run.js';

/** The CLI from source through tsx, as a command line: what `podpatterns` runs in these tests. */
export const SOURCE_CLI: readonly string[] = [
  process.execPath,
  '--import',
  pathToFileURL(`${REPO}node_modules/tsx/dist/loader.mjs`).href,
  fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)),
];

/** Manifests a repository might hold: a Deployment with a port conflict, a clean one, a workflow, a text file. */
export const FIXTURES = fileURLToPath(new URL('../fixtures/ci/', import.meta.url));
