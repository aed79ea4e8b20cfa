import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { REPO } from '../cli/run.js';

const { bin } = createRequire(import.meta.url)('../../package.json') as { bin: Record<string, string> };

/** The source of the file the package installs as `podpatterns` (dist/cli/x.js is built from src/cli/x.ts). */
const ENTRY = `${REPO}${bin.podpatterns!.replace(/^(\.\/)?dist\//, 'src/').replace(/\.js$/, '.ts')}`;

/** That entry through tsx, as a command line: what `podpatterns` runs in these tests. */
export const SOURCE_CLI: readonly string[] = [process.execPath, '--import', pathToFileURL(`${REPO}node_modules/tsx/dist/loader.mjs`).href, ENTRY];

/** Manifests a repository might hold: a Deployment with a port conflict, a clean one, a workflow, a text file. */
export const FIXTURES = fileURLToPath(new URL('../fixtures/ci/', import.meta.url));
