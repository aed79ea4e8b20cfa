import { readWholeText } from '../input/manifest.js';
import type { ManifestSource } from '../input/sources.js';

/** The whole text of a test file the walker found, read as `migrate` reads a file it writes back. */
export function readText(source: ManifestSource): Promise<string> {
  return readWholeText(source.open(), source.name, readOptions(source));
}

export function readOptions(source: ManifestSource): { size?: number } {
  return source.size !== undefined ? { size: source.size } : {};
}

/** Tests never read standard input: `-` is not a path a test file can name. */
export const noStdin = (): Promise<string> => Promise.reject(new Error('tests read files, not standard input'));
