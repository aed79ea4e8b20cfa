import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProcessOptions {
  /** For messages: `etcd`, `kube-apiserver`, `podpatterns A`. */
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr go here, so a chatty process never blocks on a full pipe nobody reads. */
  logFile: string;
  /** Where a record of the live process is kept, so a teardown in another process can check it is gone. */
  pidDirectory?: string;
}

const live = new Set<ManagedProcess>();

/** A child process that is stopped by its pid, and killed when this process exits for any reason. */
export class ManagedProcess {
  private status: ExitStatus | undefined;
  readonly exited: Promise<ExitStatus>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly logFile: string,
    private readonly pidFile: string | undefined,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.status = { code, signal };
        live.delete(this);
        if (this.pidFile) rmSync(this.pidFile, { force: true });
        resolve(this.status);
      });
    });
  }

  static async start(options: ProcessOptions): Promise<ManagedProcess> {
    installExitHandlers();
    const log = openSync(options.logFile, 'a');
    let child: ChildProcess;
    const [command, ...args] = [...dieWithParent(), options.command, ...options.args] as [string, ...string[]];
    try {
      child = spawn(command, args, {
        stdio: ['ignore', log, log],
        env: options.env ?? process.env,
        ...(options.cwd && { cwd: options.cwd }),
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', (error) => reject(new Error(`${options.name}: cannot start ${options.command}: ${error.message}`)));
      });
    } finally {
      closeSync(log);
    }
    const pid = child.pid!;
    const pidFile = options.pidDirectory === undefined ? undefined : join(options.pidDirectory, String(pid));
    if (pidFile) writeFileSync(pidFile, JSON.stringify({ name: options.name, pid, startTime: startTimeOf(pid) }));
    const managed = new ManagedProcess(options.name, child, pid, options.logFile, pidFile);
    live.add(managed);
    return managed;
  }

  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  get running(): boolean {
    return this.status === undefined;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) process.kill(this.pid, signal);
  }

  /** SIGTERM, then SIGKILL when it has not exited within `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<ExitStatus> {
    if (!this.running) return this.status!;
    this.signal('SIGTERM');
    const cancel = new AbortController();
    const timer = sleep(timeoutMs, 'timeout' as const, { signal: cancel.signal }).catch(() => undefined);
    const first = await Promise.race([this.exited, timer]);
    cancel.abort();
    if (first === 'timeout') this.signal('SIGKILL');
    return this.exited;
  }

  kill(): Promise<ExitStatus> {
    this.signal('SIGKILL');
    return this.exited;
  }

  logs(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  /** The last lines of the log, for error messages. */
  async tail(lines = 30): Promise<string> {
    return (await this.logs()).trimEnd().split('\n').slice(-lines).join('\n');
  }
}

let wrapper: string[] | undefined;

/**
 * `setpriv --pdeathsig KILL` (util-linux) where there is one: the kernel kills the child when this process
 * dies in a way no handler sees (SIGKILL, OOM killer). setpriv execs the command, so the pid stays the same.
 */
function dieWithParent(): string[] {
  if (wrapper === undefined) {
    const found = process.platform === 'linux' && (process.env.PATH ?? '').split(delimiter).some((folder) => existsSync(join(folder, 'setpriv')));
    wrapper = found ? ['setpriv', '--pdeathsig', 'KILL', '--'] : [];
  }
  return wrapper;
}

let handlersInstalled = false;

/**
 * Kills every live child when this process ends: normally, on an uncaught error, or on a signal (a signal's
 * default action would end the process without the 'exit' event).
 */
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAllNow();
      process.off(signal, onSignal);
      // Someone else (the test runner) handles the signal; otherwise die of it as if nobody had listened.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function killAllNow(): void {
  for (const managed of live) {
    try {
      process.kill(managed.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The kernel's start time of a process (Linux /proc/<pid>/stat field 22); tells a pid apart from its reuse. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export interface LeakedProcess {
  name: string;
  pid: number;
}

/**
 * Processes recorded in `pidDirectory` that are still running (the record is removed when a process exits
 * while its parent watches). Each is killed; the list says which were left behind.
 */
export async function reapLeftovers(pidDirectory: string): Promise<LeakedProcess[]> {
  const leaked: LeakedProcess[] = [];
  let entries: string[];
  try {
    entries = readdirSync(pidDirectory);
  } catch {
    return leaked;
  }
  for (const entry of entries) {
    const file = join(pidDirectory, entry);
    const record = JSON.parse(readFileSync(file, 'utf8')) as { name: string; pid: number; startTime?: string };
    rmSync(file, { force: true });
    if (!isAlive(record.pid) || startTimeOf(record.pid) !== record.startTime) continue;
    leaked.push({ name: record.name, pid: record.pid });
    process.kill(record.pid, 'SIGKILL');
  }
  for (let waited = 0; waited < 5000 && leaked.some(({ pid }) => isAlive(pid)); waited += 100) await sleep(100);
  return leaked;
}
