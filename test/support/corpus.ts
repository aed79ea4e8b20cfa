import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Reference material kept beside the repository rather than in it: the real-world corpus of upstream manifests
 * and the seed articles the product grew from. Each is found through its environment variable, else at its
 * default place beside the repository. When the variable is unset and the default place is empty, the tests
 * that read it are skipped (global-setup.ts says so in one line); a variable that is set must name a
 * directory, so a run that asks for the corpus (CI sets both variables) never skips it.
 */
export interface Corpus {
  /** What it is, for messages: "the real-world corpus". */
  description: string;
  variable: string;
  /** The directory looked at: the variable's value, else the default, resolved against the repository root. */
  dir: string;
  /** Whether the variable was set. */
  requested: boolean;
  available: boolean;
  /** The directory as a URL ending in `/`, for `new URL(file, corpus.url)`. */
  url: URL;
  read(file: string): string;
}

const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function locate(description: string, variable: string, fallback: string): Corpus {
  const value = process.env[variable];
  const requested = value !== undefined && value !== '';
  const dir = resolve(REPOSITORY_ROOT, requested ? value : fallback);
  return {
    description,
    variable,
    dir,
    requested,
    available: statSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false,
    url: pathToFileURL(join(dir, '/')),
    read: (file) => readFileSync(join(dir, file), 'utf8'),
  };
}

export const realWorldCorpus = locate('the real-world corpus', 'PODPATTERNS_REAL_WORLD', '../shared/real-world');
export const seedArticles = locate('the seed articles', 'PODPATTERNS_SEEDS', '../shared/seeds');
export const CORPORA: readonly Corpus[] = [realWorldCorpus, seedArticles];
