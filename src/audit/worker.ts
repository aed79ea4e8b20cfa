/*
 * A worker thread of an audit (see parallel.ts): it parses and checks the batches it is sent, with the settings it
 * was started with, and answers each with what the report needs. Like the command's entry point, it keeps V8's
 * compiled code on disk before loading the engine: a worker starts in about two thirds of the time with it.
 */
import nodeModule from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type { Part, WorkerSettings } from './batch.js';

nodeModule.enableCompileCache();
const [{ errorMessage }, { ALL_RULES }, { checkParts }, { relatedReaders }] = await Promise.all([
  import('../errors.js'),
  import('../rules/index.js'),
  import('./batch.js'),
  import('./check.js'),
]);

const { context, policy, rules: ids } = workerData as WorkerSettings;
const rules = ids.map((id) => {
  const rule = ALL_RULES.find((candidate) => candidate.id === id);
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
