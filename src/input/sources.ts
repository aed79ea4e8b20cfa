import { createReadStream, type Stats } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { errorMessage } from '../errors.js';
import type { InputError } from './manifest.js';

/** Where manifests come from: a file, or standard input. */
export interface ManifestSource {
  /** The file as the user named it (directory entries joined to the directory given), or `stdin`. */
  name: string;
  /** Bytes, when known before reading (regular files). */
  size?: number;
  /** The file to read again, for a regular file. */
  path?: string;
  /** The content, piece by piece. */
  open(): AsyncIterable<Uint8Array>;
}

/** Standard input, as a stream, or as one text (tests). */
export type StdinReader = () => AsyncIterable<Uint8Array> | Promise<string>;

export const STDIN_NAME = 'stdin';
export const MANIFEST_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];
/** Large pieces: fewer turns of the event loop per megabyte read. */
const READ_PIECE_BYTES = 1 << 20;
/** Regular files up to this size are read in one call: most manifests, and one turn of the event loop each. */
const READ_WHOLE_BYTES = 8 << 20;

/**
 * Expands the paths of the command line, for every command that reads manifests: `-` is standard input, a
 * file is read whatever its name and kind (`<(helm template …)` is a pipe), a directory contributes its
 * `.yaml`, `.yml` and `.json` regular files, recursively and sorted, leaving out hidden entries and
 * `node_modules`, and following symbolic links once. Inside directories, anything else with a manifest
 * name (a named pipe, a socket, a device) is never opened, as reading it could block forever: it is
 * reported as skipped. A path that cannot be read is an error; the others are still checked.
 */
export async function collectSources(paths: readonly string[], readStdin: StdinReader): Promise<{ sources: ManifestSource[]; errors: InputError[] }> {
  const sources: ManifestSource[] = [];
  const errors: InputError[] = [];
  const seen = new Set<string>();
  const addFile = (name: string, info: Stats | undefined): void => {
    const absolute = resolve(name);
    if (seen.has(absolute)) return;
    seen.add(absolute);
    sources.push({
      name,
      ...(info?.isFile() && { size: info.size, path: absolute }),
      open: () => (info?.isFile() && info.size <= READ_WHOLE_BYTES ? whole(absolute) : createReadStream(absolute, { highWaterMark: READ_PIECE_BYTES })),
    });
  };

  for (const path of paths) {
    if (path === '-') {
      if (!seen.has(STDIN_NAME)) sources.push({ name: STDIN_NAME, open: () => stdinPieces(readStdin) });
      seen.add(STDIN_NAME);
      continue;
    }
    try {
      const info = await stat(path);
      if (!info.isDirectory()) {
        addFile(path, info);
        continue;
      }
      const errorsBefore = errors.length;
      const found = await manifestFiles(path, new Set(), errors);
      if (found.length === 0 && errors.length === errorsBefore) {
        errors.push({ source: path, code: 'PODPATTERNS_ERR_INPUT_READ', message: `directory has no ${MANIFEST_EXTENSIONS.join(', ')} files` });
      }
      for (const file of found) addFile(file.path, file.info);
    } catch (error) {
      errors.push({ source: path, code: 'PODPATTERNS_ERR_INPUT_READ', message: `cannot be read: ${errorMessage(error)}` });
    }
  }
  return { sources, errors };
}

async function* whole(path: string): AsyncIterable<Uint8Array> {
  yield await readFile(path);
}

async function* stdinPieces(readStdin: StdinReader): AsyncIterable<Uint8Array> {
  const input = readStdin();
  if (input instanceof Promise) yield Buffer.from(await input, 'utf8');
  else yield* input;
}

interface FoundFile {
  path: string;
  info: Stats;
}

async function manifestFiles(directory: string, visited: Set<string>, errors: InputError[]): Promise<FoundFile[]> {
  // Symbolic links may loop back to a parent directory.
  const real = await realpath(directory);
  if (visited.has(real)) return [];
  visited.add(real);
  const entries = (await readdir(directory, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: FoundFile[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(directory, entry.name);
    const isManifest = MANIFEST_EXTENSIONS.includes(extname(entry.name).toLowerCase());
    if (!entry.isDirectory() && !entry.isSymbolicLink() && !isManifest) continue;
    let info: Stats;
    try {
      // Follows symbolic links: a link to a directory is walked, a link to a pipe is a pipe.
      info = await stat(path);
    } catch (error) {
      if (entry.isSymbolicLink() && !isManifest) continue;
      errors.push({ source: path, code: 'PODPATTERNS_ERR_INPUT_READ', message: `cannot be read: ${errorMessage(error)}` });
      continue;
    }
    if (info.isDirectory()) files.push(...(await manifestFiles(path, visited, errors)));
    else if (!isManifest) continue;
    else if (info.isFile()) files.push({ path, info });
    else errors.push({ source: path, code: 'PODPATTERNS_ERR_INPUT_READ', message: `skipped: ${fileKind(info)}, not a regular file, so it is not read (reading it could wait forever)` });
  }
  return files;
}

function fileKind(info: Stats): string {
  if (info.isFIFO()) return 'a named pipe';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  return 'a special file';
}
