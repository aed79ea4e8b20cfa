import type { Container } from './kube.js';

export interface LongRunningEvidence {
  /** The construct that keeps the process alive, quoted from the command, e.g. `sleep infinity` (cut to MAX_QUOTE). */
  construct: string;
  /** Why it never returns, for messages. */
  reason: string;
  /**
   * Which field holds the construct: `command`, or `args` when the command is only the shell
   * (`command: [sh, -c]`, `args: [script]`) or the construct continues into the arguments.
   */
  field: 'command' | 'args';
}

const SHELLS = /^(?:\/(?:usr\/)?bin\/)?(?:ba|da|a|z|k)?sh$/;
/** At least a day: an init container that sleeps that long never lets the pod start in practice. */
const LONG_SLEEP_SECONDS = 86_400;
const SLEEP_UNITS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };
/** Constructs are quoted in messages: a command may be megabytes long, a message should not be. */
const MAX_QUOTE = 120;

/**
 * The script a container runs: the `-c` argument of a shell, else command and args joined.
 * Kubernetes appends `args` to `command`, so `command: [sh, -c]` with `args: [script]` is the same script.
 */
export function scriptOf(container: Container): string {
  return scriptParts(container).script;
}

/** The script, and how many of its leading characters come from `command` (the rest from `args`). */
function scriptParts(container: Container): { script: string; fromCommand: number } {
  const command = stringsOf(container.command);
  const argv = [...command, ...stringsOf(container.args)];
  const [first, second] = argv;
  const shell = first !== undefined && SHELLS.test(first) && second !== undefined && /^-\w*$/.test(second) && second.includes('c');
  const words = shell ? argv.slice(2) : argv;
  const commandWords = shell ? Math.max(command.length - 2, 0) : command.length;
  const script = words.join(' ');
  const fromCommand = commandWords === 0 ? 0 : words.slice(0, commandWords).join(' ').length;
  return { script, fromCommand };
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** What a scanner found: the construct as quoted and where it ends in the script. */
interface Found {
  construct: string;
  reason: string;
  end: number;
}

/** The script and what is known about it as a whole, shared by the scanners so none rescans it. */
interface Script {
  text: string;
  /** The script ends by `wait`ing for its background jobs. */
  waits: boolean;
}

/**
 * Why no rule that needs longRunningCommand has a CEL form: it reads the script as a shell would, which CEL's
 * regular expressions cannot.
 */
export const LONG_RUNNING_COMMAND_IN_CEL =
  'telling a command that never returns from one that ends needs the engine\'s shell reading (which `do` closes which loop, ' +
  'what follows each `sleep` or `tail`, whether the script ends with `wait`), and CEL\'s regular expressions give no match positions and no lookahead';

/**
 * Recognises a command that never returns on its own: `sleep infinity`, `tail -f`, an unconditional loop
 * with no `break`/`exit`, or a backgrounded daemon followed by `wait`. Bounded loops (`until nc -z db; do
 * sleep 2; done`), `sleep 5`, `cp /bin/sleep …` and constructs sent to the background (`… &`) of a script that
 * does not `wait` for them are not long-running. Only the command is judged: an image's default entrypoint
 * is unknown here, so a container without a command is never reported. Linear in the length of the script:
 * each scanner reads it once.
 */
export function longRunningCommand(container: Container): LongRunningEvidence | undefined {
  const { script: text, fromCommand } = scriptParts(container);
  if (!text.trim()) return undefined;
  const script: Script = { text, waits: endsWithWait(text) };
  const found = sleepForever(script) ?? tailFollow(script) ?? endlessLoop(script) ?? daemonThenWait(script);
  if (!found) return undefined;
  const field = stringsOf(container.args).length === 0 ? 'command' : fromCommand === 0 || found.end > fromCommand ? 'args' : 'command';
  return { construct: found.construct, reason: found.reason, field };
}

function quote(construct: string): string {
  return construct.length <= MAX_QUOTE ? construct : `${construct.slice(0, MAX_QUOTE - 1)}…`;
}

function sleepForever(script: Script): Found | undefined {
  for (const match of script.text.matchAll(/(?:^|[\s;&|(])(?:exec\s+)?(?:\/(?:usr\/)?bin\/)?sleep\s+([^\s;&|)]+)/g)) {
    const argument = match[1] ?? '';
    const end = (match.index ?? 0) + match[0].length;
    if (backgrounded(script, end)) continue;
    const construct = quote(`sleep ${argument}`);
    if (/^(inf|infinity)$/i.test(argument)) return { construct, reason: '`sleep infinity` never returns', end };
    const duration = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(argument);
    if (duration && Number(duration[1]) * (SLEEP_UNITS[duration[2] ?? ''] ?? 1) >= LONG_SLEEP_SECONDS) {
      return { construct, reason: `\`${construct}\` does not return for a day or more`, end };
    }
  }
  return undefined;
}

function tailFollow(script: Script): Found | undefined {
  for (const match of script.text.matchAll(/(?:^|[\s;&|(])(?:exec\s+)?(?:\/(?:usr\/)?bin\/)?tail((?:[ \t]+[^\s;&|)]+)*)/g)) {
    // Options may carry values (`-n +1`, `-n+1`, `--lines=10`): judge the flags token by token.
    const words = (match[1] ?? '').trim().split(/\s+/);
    const follows = words.some((word) => (/^-[a-zA-Z]*$/.test(word) && /[fF]/.test(word)) || /^--follow(=\w+)?$/.test(word));
    if (!follows || words.some((word) => word.startsWith('--pid'))) continue;
    const end = (match.index ?? 0) + match[0].length;
    if (backgrounded(script, end)) continue;
    const construct = quote(`tail ${words.join(' ')}`);
    return { construct, reason: `\`${construct}\` follows the file forever and never returns`, end };
  }
  return undefined;
}

/** `while true`, `while :`, `while [ 1 ]`, `while sleep N`, `until false`, `for (;;)` — with no break or exit in the body. */
const ENDLESS_LOOP = /\b(?:while\s+(?:true|:|\/bin\/true|\[\s*(?:1|true|"?1"?)\s*\]|\[\[\s*(?:1|true)\s*\]\]|sleep\s+[\d.]+[smhd]?)|until\s+(?:false|\/bin\/false)|for\s*\(\(\s*;\s*;\s*\)\))\s*(?:;\s*)?do\b/g;

function endlessLoop(script: Script): Found | undefined {
  let loops: LoopIndex | undefined;
  for (const match of script.text.matchAll(ENDLESS_LOOP)) {
    loops ??= loopIndex(script.text);
    const bodyStart = (match.index ?? 0) + match[0].length;
    const done = loops.doneAfter.get(bodyStart - 2) ?? { start: script.text.length, end: script.text.length };
    if (loops.exitsBetween(bodyStart, done.start) || backgrounded(script, done.end)) continue;
    const construct = quote(match[0].slice(0, -2).trimEnd().replace(/;$/, '').trim());
    return { construct, reason: `\`${construct}\` loops forever: nothing in the loop breaks out or exits`, end: bodyStart };
  }
  return undefined;
}

interface LoopIndex {
  /** Where each `do` (by its start) finds its `done`, counting nested loops. */
  doneAfter: Map<number, { start: number; end: number }>;
  /** Whether a `break`, `exit` or `return` lies wholly between two positions. */
  exitsBetween(from: number, to: number): boolean;
}

/** One pass over the script pairs every `do` with its `done` and records where the loop exits are. */
function loopIndex(text: string): LoopIndex {
  const doneAfter = new Map<number, { start: number; end: number }>();
  const open: number[] = [];
  for (const token of text.matchAll(/\b(do|done)\b/g)) {
    if (token[1] === 'do') open.push(token.index);
    else if (open.length > 0) doneAfter.set(open.pop()!, { start: token.index, end: token.index + token[0].length });
  }
  const exits: Array<{ start: number; end: number }> = [];
  for (const exit of text.matchAll(/(?:^|[\s;&|(])(break|exit|return)(?=\s|;|$)/g)) {
    const start = exit.index + exit[0].length - exit[1]!.length;
    exits.push({ start, end: start + exit[1]!.length });
  }
  return {
    doneAfter,
    exitsBetween(from, to) {
      // Exits are sorted and never overlap: the first one that starts at or after `from` decides.
      let low = 0;
      let high = exits.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (exits[middle]!.start < from) low = middle + 1;
        else high = middle;
      }
      const first = exits[low];
      return first !== undefined && first.end <= to;
    },
  };
}

const SPACES = /\s*/y;

/**
 * A construct started in the background (`… &`, `(…) &`) does not hold the script: the shell moves on and
 * exits when the script ends, unless the script ends by `wait`ing for its background jobs.
 */
function backgrounded(script: Script, end: number): boolean {
  if (script.waits) return false;
  const text = script.text;
  let at = skipSpaces(text, end);
  if (text[at] === ')') at = skipSpaces(text, at + 1);
  return text[at] === '&' && text[at + 1] !== '&';
}

function skipSpaces(text: string, from: number): number {
  SPACES.lastIndex = from;
  SPACES.exec(text);
  return SPACES.lastIndex;
}

function endsWithWait(text: string): boolean {
  let script = text.trim();
  if (script.endsWith(';')) script = script.slice(0, -1).trimEnd();
  if (!script.endsWith('wait')) return false;
  const before = script.length - 'wait'.length - 1;
  return before < 0 || /[;\s]/.test(script[before]!);
}

/** Servers that stay in the foreground of their own process; started with `&` they keep running in the background. */
const DAEMON = /(?:^|[;\s(])((?:[\w.-]*\/)*(?:nginx|httpd|apache2|redis-server|envoy|haproxy|socat|sshd|crond|dockerd|memcached|mysqld|postgres|fluent-bit|fluentd|td-agent|promtail|vector|otelcol(?:-contrib)?|nc\s+-\w*l|ncat\s+-\w*l|python3?\s+-m\s+http\.server)\b)/g;

/**
 * A daemon started in the background (`nginx … &`, nothing but its arguments up to the `&`) in a script that
 * ends by `wait`ing for it. One pass: the daemons in order, and for each the next `;` or `&` after it, found by
 * a cursor that only moves forward.
 */
function daemonThenWait(script: Script): Found | undefined {
  if (!script.waits) return undefined;
  const text = script.text;
  const separators = /[;&]/g;
  let separator = -1;
  for (const daemon of text.matchAll(DAEMON)) {
    const start = daemon.index + daemon[0].length - daemon[1]!.length;
    const nameEnd = daemon.index + daemon[0].length;
    if (separator < nameEnd) {
      separators.lastIndex = nameEnd;
      separator = separators.exec(text)?.index ?? Number.POSITIVE_INFINITY;
    }
    if (separator === Number.POSITIVE_INFINITY) return undefined;
    if (text[separator] !== '&' || text[separator + 1] === '&') continue;
    const started = quote(text.slice(start, separator).trim());
    return { construct: `${started} & … wait`, reason: `\`${started}\` is a server started in the background and the script then \`wait\`s for it, so it never returns`, end: separator };
  }
  return undefined;
}
