import { Worker } from 'node:worker_threads';
import { PodpatternsError } from '../errors.js';

/** A message a pool worker answers with: the result of the job `id`, or why it failed. */
export type PoolReply<R> = { id: number; result: R } | { id: number; error: string };

interface Pending<R> {
  resolve(result: R): void;
  reject(error: Error): void;
}

/**
 * Worker threads that each take jobs and answer every one (`{ id, result }`, see PoolReply). A job goes to the
 * worker with the fewest jobs in flight. A worker that fails (an uncaught error, an exit, a message that
 * cannot be read) fails its jobs and every later one with an error that says so: nothing waits forever.
 */
export class WorkerPool<J, R> {
  private readonly workers: Array<{ worker: Worker; pending: Map<number, Pending<R>> }> = [];
  private nextId = 0;
  private failure: Error | undefined;

  constructor(
    size: number,
    url: URL,
    options: { workerData: unknown; execArgv?: string[] },
  ) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url, { workerData: options.workerData, ...(options.execArgv && { execArgv: options.execArgv }) });
      const entry = { worker, pending: new Map<number, Pending<R>>() };
      worker.on('message', (reply: PoolReply<R>) => {
        const pending = entry.pending.get(reply.id);
        if (!pending) return;
        entry.pending.delete(reply.id);
        if ('error' in reply) pending.reject(new PodpatternsError('PODPATTERNS_ERR_WORKER', `audit worker ${i + 1} of ${size} failed: ${reply.error}`));
        else pending.resolve(reply.result);
      });
      worker.on('error', (error) => this.fail(entry, `audit worker ${i + 1} of ${size} stopped: ${error.message}`));
      worker.on('messageerror', (error) => this.fail(entry, `audit worker ${i + 1} of ${size} sent a message that cannot be read: ${error.message}`));
      worker.on('exit', (code) => this.fail(entry, `audit worker ${i + 1} of ${size} exited (code ${code}) before answering`));
      this.workers.push(entry);
    }
  }

  /** The result of `job`, from whichever worker is least busy. */
  run(job: J, transfer: readonly ArrayBuffer[] = []): Promise<R> {
    if (this.failure) return Promise.reject(this.failure);
    const entry = this.workers.reduce((least, candidate) => (candidate.pending.size < least.pending.size ? candidate : least));
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      entry.pending.set(id, { resolve, reject });
      entry.worker.postMessage({ id, job }, transfer);
    });
  }

  /** Stops every worker; jobs still in flight fail. */
  async close(): Promise<void> {
    this.failure ??= new PodpatternsError('PODPATTERNS_ERR_WORKER', 'the audit workers were stopped');
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
  }

  /** A worker that failed takes its jobs with it, and the pool refuses new ones: the report would miss them. */
  private fail(entry: { pending: Map<number, Pending<R>> }, message: string): void {
    const error = new PodpatternsError('PODPATTERNS_ERR_WORKER', message);
    if (!this.failure) this.failure = error;
    for (const pending of entry.pending.values()) pending.reject(error);
    entry.pending.clear();
  }
}
