import type { Container } from './kube.js';

export interface LongRunningEvidence {
  /** The construct that keeps the process alive, quoted from the command, e.g. `sleep infinity`. */
  construct: string;
  /** Why it never returns, for messages. */
  reason: string;
}

const SHELLS = /^(?:\/(?:usr\/)?bin\/)?(?:ba|da|a|z|k)?sh$/;
/** At least a day: an init container that sleeps that long never lets the pod start in practice. */
const LONG_SLEEP_SECONDS = 86_400;
const SLEEP_UNITS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * The script a container runs: the `-c` argument of a shell, else command and args joined.
 * Kubernetes appends `args` to `command`, so `command: [sh, -c]` with `args: [script]` is the same script.
 */
export function scriptOf(container: Container): string {
  const argv = [...stringsOf(container.command), ...stringsOf(container.args)];
  const [first, second, ...rest] = argv;
  if (first !== undefined && SHELLS.test(first) && second !== undefined && /^-\w*c\w*$/.test(second)) return rest.join(' ');
  return argv.join(' ');
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/**
 * Recognises a command that never returns on its own: `sleep infinity`, `tail -f`, an unconditional loop
 * with no `break`/`exit`, or a backgrounded daemon followed by `wait`. Bounded loops (`until nc -z db; do
 * sleep 2; done`), `sleep 5` and `cp /bin/sleep …` are not long-running. Only the command is judged: an
 * image's default entrypoint is unknown here, so a container without a command is never reported.
 */
export function longRunningCommand(container: Container): LongRunningEvidence | undefined {
  const script = scriptOf(container);
  if (!script.trim()) return undefined;
  return sleepForever(script) ?? tailFollow(script) ?? endlessLoop(script) ?? daemonThenWait(script);
}

function sleepForever(script: string): LongRunningEvidence | undefined {
  for (const match of script.matchAll(/(?:^|[\s;&|(])(?:exec\s+)?(?:\/(?:usr\/)?bin\/)?sleep\s+([^\s;&|)]+)/g)) {
    const argument = match[1] ?? '';
    if (/^(inf|infinity)$/i.test(argument)) return { construct: `sleep ${argument}`, reason: '`sleep infinity` never returns' };
    const duration = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(argument);
    if (duration && Number(duration[1]) * (SLEEP_UNITS[duration[2] ?? ''] ?? 1) >= LONG_SLEEP_SECONDS) {
      return { construct: `sleep ${argument}`, reason: `\`sleep ${argument}\` does not return for a day or more` };
    }
  }
  return undefined;
}

function tailFollow(script: string): LongRunningEvidence | undefined {
  const match = /(?:^|[\s;&|(])(?:exec\s+)?(?:\/(?:usr\/)?bin\/)?tail\s+((?:-[-\w=]+\s+)*)([^\s;&|)]*)/.exec(script);
  if (!match) return undefined;
  const flags = match[1] ?? '';
  if (!/(^|\s)(-[a-zA-Z]*[fF][a-zA-Z]*|--follow(=\w+)?)(\s|$)/.test(flags) || /--pid/.test(flags)) return undefined;
  const construct = `tail ${flags}${match[2] ?? ''}`.trim();
  return { construct, reason: `\`${construct}\` follows the file forever and never returns` };
}

/** `while true`, `while :`, `while [ 1 ]`, `while sleep N`, `until false`, `for (;;)` — with no break or exit in the body. */
const ENDLESS_LOOP = /\b(?:while\s+(?:true|:|\/bin\/true|\[\s*(?:1|true|"?1"?)\s*\]|\[\[\s*(?:1|true)\s*\]\]|sleep\s+[\d.]+[smhd]?)|until\s+(?:false|\/bin\/false)|for\s*\(\(\s*;\s*;\s*\)\))\s*;?\s*do\b/g;

function endlessLoop(script: string): LongRunningEvidence | undefined {
  for (const match of script.matchAll(ENDLESS_LOOP)) {
    const body = loopBody(script, (match.index ?? 0) + match[0].length);
    if (/(?:^|[\s;&|(])(?:break|exit|return)(?:\s|;|$)/.test(body)) continue;
    const construct = match[0].replace(/\s*;?\s*do$/, '').trim();
    return { construct, reason: `\`${construct}\` loops forever: nothing in the loop breaks out or exits` };
  }
  return undefined;
}

/** The text between a `do` and its matching `done`, counting nested loops. */
function loopBody(script: string, from: number): string {
  let depth = 1;
  const tokens = /\b(do|done)\b/g;
  tokens.lastIndex = from;
  for (let token = tokens.exec(script); token; token = tokens.exec(script)) {
    depth += token[1] === 'do' ? 1 : -1;
    if (depth === 0) return script.slice(from, token.index);
  }
  return script.slice(from);
}

/** Servers that stay in the foreground of their own process; started with `&` they keep running in the background. */
const DAEMON = /(?:^|[;\s(])((?:nginx|httpd|apache2|redis-server|envoy|haproxy|socat|sshd|crond|dockerd|memcached|mysqld|postgres|(?:nc|ncat)\s+-\w*l|python3?\s+-m\s+http\.server)\b[^;&]*?)\s*&(?!&)/;

function daemonThenWait(script: string): LongRunningEvidence | undefined {
  const daemon = DAEMON.exec(script);
  if (!daemon || !/(?:^|[;\s])wait\s*;?\s*$/.test(script.trim())) return undefined;
  const started = (daemon[1] ?? '').trim();
  return { construct: `${started} & … wait`, reason: `\`${started}\` is a server started in the background and the script then \`wait\`s for it, so it never returns` };
}
