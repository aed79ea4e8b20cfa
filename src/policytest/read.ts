import type { ManifestSource } from '../input/sources.js';

/** The whole text of a file the walker found: tests, and the manifests they read. */
export function readText(source: ManifestSource): Promise<string> {
  return source.read();
}

/** Tests never read standard input: `-` is not a path a test file can name. */
export const noStdin = (): Promise<string> => Promise.reject(new Error('tests read files, not standard input'));
