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

/**
 * Which field holds a construct of the script: `command`, or `args` when the command is only the shell
 * (`command: [sh, -c]`, `args: [script]`) or the construct continues into the arguments.
 */
export function scriptField(container: Container, construct: string): 'command' | 'args' {
  if (stringsOf(container.args).length === 0) return 'command';
  if (stringsOf(container.command).length === 0) return 'args';
  return scriptOf({ command: container.command }).includes(construct) ? 'command' : 'args';
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/**
 * Recognises a command that never returns on its own: `sleep infinity`, `tail -f`, an unconditional loop
 * with no `break`/`exit`, or a backgrounded daemon followed by `wait`. Bounded loops (`until nc -z db; do
 * sleep 2; done`), `sleep 5`, `cp /bin/sleep …` and constructs sent to the background (`… &`) of a script that
 * does not `wait` for them are not long-running. Only the command is judged: an image's default entrypoint
 * is unknown here, so a container without a command is never reported.
 */
export function longRunningCommand(container: Container): LongRunningEvidence | undefined {
  const script = scriptOf(container);
  if (!script.trim()) return undefined;
  return sleepForever(script) ?? tailFollow(script) ?? endlessLoop(script) ?? daemonThenWait(script);
}

function sleepForever(script: string): LongRunningEvidence | undefined {
  for (const match of script.matchAll(/(?:^|[\s;&|(])(?:exec\s+)?(?:\/(?:usr\/)?bin\/)?sleep\s+([^\s;&|)]+)/g)) {
    const argument = match[1] ?? '';
    if (backgrounded(script, (match.index ?? 0) + match[0].length)) continue;
    if (/^(inf|infinity)$/i.test(argument)) return { construct: `sleep ${argument}`, reason: '`sleep infinity` never returns' };
    const duration = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(argument);
    if (duration && Number(duration[1]) * (SLEEP_UNITS[duration[2] ?? ''] ?? 1) >= LONG_SLEEP_SECONDS) {
      return { construct: `sleep ${argument}`, reason: `\`sleep ${argument}\` does not return for a day or more` };
    }
  }
  return undefined;
}

function tailFollow(script: string): LongRunningEvidence | undefined {
  for (const match of script.matchAll(/(?:^|[\s;&|(])(?:exec\s+)?(?:\/(?:usr\/)?bin\/)?tail((?:[ \t]+[^\s;&|)]+)*)/g)) {
    // Options may carry values (`-n +1`, `-n+1`, `--lines=10`): judge the flags token by token.
    const words = (match[1] ?? '').trim().split(/\s+/);
    const follows = words.some((word) => /^-[a-zA-Z]*[fF][a-zA-Z]*$|^--follow(=\w+)?$/.test(word));
    if (!follows || words.some((word) => word.startsWith('--pid'))) continue;
    if (backgrounded(script, (match.index ?? 0) + match[0].length)) continue;
    const construct = `tail ${words.join(' ')}`;
    return { construct, reason: `\`${construct}\` follows the file forever and never returns` };
  }
  return undefined;
}

/** `while true`, `while :`, `while [ 1 ]`, `while sleep N`, `until false`, `for (;;)` — with no break or exit in the body. */
const ENDLESS_LOOP = /\b(?:while\s+(?:true|:|\/bin\/true|\[\s*(?:1|true|"?1"?)\s*\]|\[\[\s*(?:1|true)\s*\]\]|sleep\s+[\d.]+[smhd]?)|until\s+(?:false|\/bin\/false)|for\s*\(\(\s*;\s*;\s*\)\))\s*;?\s*do\b/g;

function endlessLoop(script: string): LongRunningEvidence | undefined {
  for (const match of script.matchAll(ENDLESS_LOOP)) {
    const { body, end } = loopBody(script, (match.index ?? 0) + match[0].length);
    if (/(?:^|[\s;&|(])(?:break|exit|return)(?:\s|;|$)/.test(body) || backgrounded(script, end)) continue;
    const construct = match[0].replace(/\s*;?\s*do$/, '').trim();
    return { construct, reason: `\`${construct}\` loops forever: nothing in the loop breaks out or exits` };
  }
  return undefined;
}

/** The text between a `do` and its matching `done` (counting nested loops), and where that `done` ends. */
function loopBody(script: string, from: number): { body: string; end: number } {
  let depth = 1;
  const tokens = /\b(do|done)\b/g;
  tokens.lastIndex = from;
  for (let token = tokens.exec(script); token; token = tokens.exec(script)) {
    depth += token[1] === 'do' ? 1 : -1;
    if (depth === 0) return { body: script.slice(from, token.index), end: token.index + token[0].length };
  }
  return { body: script.slice(from), end: script.length };
}

/**
 * A construct started in the background (`… &`, `(…) &`) does not hold the script: the shell moves on and
 * exits when the script ends, unless the script ends by `wait`ing for its background jobs.
 */
function backgrounded(script: string, end: number): boolean {
  return /^\s*\)?\s*&(?!&)/.test(script.slice(end)) && !endsWithWait(script);
}

function endsWithWait(script: string): boolean {
  return /(?:^|[;\s])wait\s*;?\s*$/.test(script.trim());
}

/** Servers that stay in the foreground of their own process; started with `&` they keep running in the background. */
const DAEMON = /(?:^|[;\s(])((?:[\w.-]*\/)*(?:nginx|httpd|apache2|redis-server|envoy|haproxy|socat|sshd|crond|dockerd|memcached|mysqld|postgres|fluent-bit|fluentd|td-agent|promtail|vector|otelcol(?:-contrib)?|(?:nc|ncat)\s+-\w*l|python3?\s+-m\s+http\.server)\b[^;&]*?)\s*&(?!&)/;

function daemonThenWait(script: string): LongRunningEvidence | undefined {
  const daemon = DAEMON.exec(script);
  if (!daemon || !endsWithWait(script)) return undefined;
  const started = (daemon[1] ?? '').trim();
  return { construct: `${started} & … wait`, reason: `\`${started}\` is a server started in the background and the script then \`wait\`s for it, so it never returns` };
}
