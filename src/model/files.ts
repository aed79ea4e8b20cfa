import { scriptOf } from './command.js';
import { asArray, asString, isObject, type Container } from './kube.js';

/** How a container's command uses the files at or under one directory. */
export interface DirectoryUse {
  /** It reads files there: `cat`, `tail -F`, `grep`, a `<` redirection, or runs a program from there. */
  reads: boolean;
  /** It changes files there: a `>`/`>>` redirection, `tee`, `cp`/`mv` into it, `sed -i`, `rm`, `mkdir`, …. */
  writes: boolean;
  /** It hands a path there to a program whose use of it is unknown (`redis-server /data/redis.conf`). */
  unknown: boolean;
}

/** What a container's command says about the files and Unix sockets it uses, by directory. */
export interface FileUse {
  /** The use of files at or under a directory the command names, undefined when it names none there. */
  under(directory: string): DirectoryUse | undefined;
  /** The command, args or env name a Unix socket (`unix:///csi/csi.sock`, `--csi-address=/csi/csi.sock`) at or under the directory. */
  socketUnder(directory: string): boolean;
}

/** Commands that only read the files they are given. */
const READERS = new Set([
  'cat', 'tail', 'head', 'less', 'more', 'grep', 'egrep', 'fgrep', 'zcat', 'wc', 'md5sum', 'sha1sum', 'sha256sum', 'stat', 'ls',
  'test', '[', '[[', 'diff', 'cmp', 'file', 'source', '.', 'readlink', 'realpath', 'du', 'find', 'inotifywait', 'jq',
]);
/** Commands that copy or link their leading path arguments into the last one. */
const COPIERS = new Set(['cp', 'mv', 'install', 'rsync', 'ln', 'scp']);
/** Commands that change every path they are given. */
const CHANGERS = new Set(['tee', 'rm', 'rmdir', 'mkdir', 'chmod', 'chown', 'chgrp', 'truncate', 'mkfifo', 'unlink', 'shred']);
/** Commands that print their arguments (`echo /data`) or only set timestamps and create empty files (`touch`). */
const HARMLESS = new Set(['echo', 'printf', 'touch', 'export', 'cd', 'pushd', 'popd', 'sleep', 'true', 'false', 'exit']);
/** Words that precede the command word of a simple command. */
const PREFIXES = new Set(['if', 'then', 'else', 'elif', 'do', 'while', 'until', 'exec', 'time', 'nohup', 'env', '!', 'command', 'builtin']);
/** A path longer than PATH_MAX is not a path a program can open. */
const PATH_MAX = 4096;
/** Directories deeper than this are not indexed: no mount path is that deep. */
const MAX_DEPTH = 24;

/**
 * Reads a container's script (see scriptOf) as a sequence of simple commands and records, for every absolute
 * path it names, whether the command reads it, changes it, or hands it to a program that may do either. A
 * rough reading of the shell, enough to tell `tail -F /var/log/app.log` (reads) from `echo x >> /var/log/app.log`
 * (writes); anything it does not know is `unknown`, never `reads`. Linear in the length of the script.
 */
export function fileUseOf(container: Container): FileUse {
  const uses = new Map<string, DirectoryUse>();
  const sockets = new Set<string>();
  const script = scriptOf(container);
  if (script.includes('/')) for (const command of script.split(/;|&&|\|\||[|&\n(){}`]|\$\(/)) useCommand(command, uses);
  const texts = [script, ...asArray(container.env).map((entry) => (isObject(entry) ? (asString(entry.value) ?? '') : ''))];
  for (const text of texts) {
    if (!text.includes('unix:') && !text.includes('.sock')) continue;
    for (const match of text.matchAll(SOCKET)) {
      const path = normalisePath(match[1] ?? match[2] ?? '');
      if (path) for (const directory of ancestors(path)) sockets.add(directory);
    }
  }
  return {
    under: (directory) => uses.get(normalisePath(directory)),
    socketUnder: (directory) => sockets.has(normalisePath(directory)),
  };
}

/** `unix:///run/x.sock`, `unix:/csi/csi.sock`, or a path ending in `.sock`/`.socket`. */
const SOCKET = /unix:(?:\/\/)?(\/[^\s'",;]+)|(?<![\w.-])(\/[^\s'",;=]*\.sock(?:et)?)(?![\w.-])/g;

function useCommand(command: string, uses: Map<string, DirectoryUse>): void {
  // Only absolute paths are recorded: a command that names none changes nothing.
  if (!command.includes('/')) return;
  const words = command.trim().split(/\s+/).map(unquote).filter(Boolean);
  let program: string | undefined;
  const paths: string[] = [];
  let inPlace = false;
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    // Redirections apply whatever the command is, and may come before it (`> /x echo hi`).
    const redirect = word.includes('>') || word.includes('<') ? /^(?:\d*|&)(>>?|<)(.*)$/.exec(word) : null;
    if (redirect) {
      const target = redirect[2] || words[++index];
      if (target?.startsWith('/')) record(uses, target, redirect[1] === '<' ? 'reads' : 'writes');
      continue;
    }
    if (program === undefined) {
      if (PREFIXES.has(word) || (word.includes('=') && /^[A-Za-z_]\w*=/.test(word))) continue;
      // Flags first: only args, handed to the image's entrypoint, a program of unknown use.
      program = word.startsWith('-') ? '' : word;
      // Running a program from a directory reads it.
      if (word.startsWith('/')) record(uses, word, 'reads');
      if (program !== '') continue;
    }
    if (word.startsWith('-') && (/^-\w*i/.test(word) || word.startsWith('--in-place'))) inPlace = true;
    const path = word.includes('/') ? /(?:^|=)(\/[^\s=]*)$/.exec(word)?.[1] : undefined;
    if (path) paths.push(path);
  }
  if (program === undefined) return;
  const name = program.slice(program.lastIndexOf('/') + 1);
  if (HARMLESS.has(name)) return;
  paths.forEach((path, index) => {
    const use: keyof DirectoryUse = READERS.has(name)
      ? 'reads'
      : CHANGERS.has(name) || (name === 'sed' && inPlace)
        ? 'writes'
        : COPIERS.has(name)
          ? index === paths.length - 1 ? 'writes' : 'reads'
          : name === 'sed' ? 'reads' : 'unknown';
    record(uses, path, use);
  });
}

function record(uses: Map<string, DirectoryUse>, path: string, use: keyof DirectoryUse): void {
  const normalised = normalisePath(path);
  if (!normalised) return;
  for (const directory of ancestors(normalised)) {
    let entry = uses.get(directory);
    if (!entry) {
      entry = { reads: false, writes: false, unknown: false };
      uses.set(directory, entry);
    }
    entry[use] = true;
  }
}

/** `/var/log/app/x.log` → `/var/log/app/x.log`, `/var/log/app`, `/var/log`, `/var` (the root is left out). */
function ancestors(path: string): string[] {
  const result: string[] = [];
  let end = path.length;
  for (let depth = 0; end > 0 && depth < MAX_DEPTH; depth++) {
    result.push(path.slice(0, end));
    end = path.lastIndexOf('/', end - 1);
  }
  return result;
}

/** An absolute path without `.` segments, repeated or trailing slashes; '' for anything else. */
export function normalisePath(path: string): string {
  if (!path.startsWith('/') || path.length > PATH_MAX) return '';
  // Most paths are already written so: no empty or `.` segment, no trailing slash.
  if (!path.endsWith('/') && !path.includes('//') && !path.includes('/.')) return path;
  const segments = path.split('/').filter((segment) => segment !== '' && segment !== '.');
  return segments.length === 0 ? '' : `/${segments.join('/')}`;
}

function unquote(word: string): string {
  if (!isQuote(word.charCodeAt(0)) && !isQuote(word.charCodeAt(word.length - 1))) return word;
  return word.replace(/^['"]+|['"]+$/g, '');
}

function isQuote(code: number): boolean {
  return code === 0x22 || code === 0x27;
}
