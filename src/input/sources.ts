import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { errorMessage } from '../policy/errors.js';
import type { InputError } from './manifest.js';

/** Where manifests come from: a file, or standard input. */
export interface ManifestSource {
  /** The file as the user named it (directory entries joined to the directory given), or `stdin`. */
  name: string;
  read(): Promise<string>;
}

export const STDIN_NAME = 'stdin';
export const MANIFEST_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];

/**
 * Expands the paths of the command line: `-` is standard input, a file is read whatever its name, a
 * directory contributes its `.yaml`, `.yml` and `.json` files, recursively and sorted, leaving out hidden
 * entries and `node_modules`. A path that cannot be read is an error; the others are still checked.
 */
export async function collectSources(
  paths: readonly string[],
  readStdin: () => Promise<string>,
): Promise<{ sources: ManifestSource[]; errors: InputError[] }> {
  const sources: ManifestSource[] = [];
  const errors: InputError[] = [];
  const seen = new Set<string>();
  const addFile = (name: string, absolute: string): void => {
    if (seen.has(absolute)) return;
    seen.add(absolute);
    sources.push({ name, read: () => readFile(absolute, 'utf8') });
  };

  for (const path of paths) {
    if (path === '-') {
      if (!seen.has(STDIN_NAME)) sources.push({ name: STDIN_NAME, read: readStdin });
      seen.add(STDIN_NAME);
      continue;
    }
    try {
      const info = await stat(path);
      if (!info.isDirectory()) {
        addFile(path, resolve(path));
        continue;
      }
      const files = await manifestFiles(path, new Set());
      if (files.length === 0) errors.push({ source: path, code: 'PODPATTERNS_ERR_INPUT_READ', message: `directory has no ${MANIFEST_EXTENSIONS.join(', ')} files` });
      for (const file of files) addFile(file, resolve(file));
    } catch (error) {
      errors.push({ source: path, code: 'PODPATTERNS_ERR_INPUT_READ', message: `cannot be read: ${errorMessage(error)}` });
    }
  }
  return { sources, errors };
}

async function manifestFiles(directory: string, visited: Set<string>): Promise<string[]> {
  // Symbolic links may loop back to a parent directory.
  const real = await realpath(directory);
  if (visited.has(real)) return [];
  visited.add(real);
  const entries = (await readdir(directory, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(directory, entry.name);
    const isDirectory = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isDirectory() === true);
    if (isDirectory) files.push(...(await manifestFiles(path, visited)));
    else if (MANIFEST_EXTENSIONS.includes(extname(entry.name).toLowerCase())) files.push(path);
  }
  return files;
}
