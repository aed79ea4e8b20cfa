import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';

export interface ReloaderOptions<T> {
  /** What the files hold, for logs: `policy`, `serving certificate`. */
  what: string;
  files: readonly string[];
  /** Fallback re-read period, for file systems whose events get lost. */
  intervalMs: number;
  /** Turns the files' contents into the value to use; throws when they are invalid. */
  load(contents: readonly string[]): T;
  apply(value: T): void;
  onResult(result: 'success' | 'failure'): void;
  logger: Logger;
}

/** Events come in bursts (a Secret update swaps a symlink and touches several names): wait for the burst to end. */
const SETTLE_MS = 150;

/**
 * Reloads a group of files when they change: fs.watch on their directories, because Kubernetes Secret and
 * ConfigMap volumes update by swapping the `..data` symlink (the files themselves never change in place, so
 * watching them misses the update), plus a periodic re-read as a fallback. A change that does not load is
 * logged and the last good value stays in use; the same bad content is not reported twice.
 */
export class FileReloader<T> {
  private lastDigest: string | undefined;
  private readonly watchers: FSWatcher[] = [];
  private interval: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(private readonly options: ReloaderOptions<T>) {}

  /** Loads the files (throws when they do not load: there is no last good value yet), then watches them. */
  async start(): Promise<T> {
    const contents = await this.read();
    const value = this.options.load(contents);
    this.lastDigest = digest(contents);
    for (const directory of new Set(this.options.files.map((file) => dirname(file)))) this.watchDirectory(directory);
    this.interval = setInterval(() => this.schedule(0), this.options.intervalMs);
    this.interval.unref();
    return value;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.interval);
    clearTimeout(this.settle);
    for (const watcher of this.watchers) watcher.close();
  }

  /** Re-reads the files now; resolves once any change is applied (or rejected). */
  async check(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.reload().finally(() => {
      this.running = undefined;
    });
    await this.running;
    if (this.again && !this.closed) {
      this.again = false;
      await this.check();
    }
  }

  private schedule(delay: number): void {
    if (this.closed) return;
    clearTimeout(this.settle);
    this.settle = setTimeout(() => void this.check(), delay);
    this.settle.unref();
  }

  private watchDirectory(directory: string): void {
    const { logger, what, intervalMs } = this.options;
    try {
      const watcher = watch(directory, { persistent: false }, () => this.schedule(SETTLE_MS));
      watcher.on('error', (error) => {
        logger.warn({ directory, err: errorMessage(error) }, `cannot watch the ${what} directory any more: re-reading every ${intervalMs}ms`);
        watcher.close();
      });
      this.watchers.push(watcher);
    } catch (error) {
      logger.warn({ directory, err: errorMessage(error) }, `cannot watch the ${what} directory: re-reading every ${intervalMs}ms`);
    }
  }

  private async reload(): Promise<void> {
    const { what, files, logger } = this.options;
    let contents: string[];
    try {
      contents = await this.read();
    } catch (error) {
      // Mid-swap or removed: keep serving, and try again on the next event or tick.
      logger.warn({ files, err: errorMessage(error) }, `cannot read the ${what}: keeping the last good one`);
      return;
    }
    const current = digest(contents);
    if (current === this.lastDigest || this.closed) return;
    this.lastDigest = current;
    try {
      this.options.apply(this.options.load(contents));
      this.options.onResult('success');
      logger.info({ files }, `${what} reloaded`);
    } catch (error) {
      this.options.onResult('failure');
      logger.error({ files, err: errorMessage(error) }, `invalid ${what} change: keeping the last good one`);
    }
  }

  private read(): Promise<string[]> {
    return Promise.all(this.options.files.map((file) => readFile(file, 'utf8')));
  }
}

function digest(contents: readonly string[]): string {
  const hash = createHash('sha256');
  for (const content of contents) hash.update(content).update('\u0000');
  return hash.digest('hex');
}
