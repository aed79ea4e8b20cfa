import { parentPort, workerData } from 'node:worker_threads';
import type { Rule } from '../engine/types.js';
import { errorMessage } from '../errors.js';
import { checkParts, type Part, type WorkerSettings } from './batch.js';
import { relatedReaders } from './check.js';

/**
 * The work of an audit's worker thread (see parallel.ts): it parses and checks the batches it is sent, with the
 * settings it was started with, and answers each with what the report needs. `rules` are those the worker
 * knows; the settings name theirs by id. The thread's entry point (src/cli/audit-worker.ts) passes them.
 */
export function serveAuditWorker(known: readonly Rule[]): void {
  const { context, policy, rules: ids } = workerData as WorkerSettings;
  const rules = ids.map((id) => {
    const rule = known.find((candidate) => candidate.id === id);
    if (!rule) throw new Error(`unknown rule ${id}`);
    return rule;
  });
  const settings = { context, policy, rules };
  const related = relatedReaders(settings);
  parentPort!.on('message', ({ id, job }: { id: number; job: Part[] }) => {
    try {
      parentPort!.postMessage({ id, result: checkParts(job, settings, related) });
    } catch (error) {
      parentPort!.postMessage({ id, error: errorMessage(error) });
    }
  });
}
