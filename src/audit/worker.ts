/*
 * A worker thread of an audit (see parallel.ts): it parses and checks the batches it is sent, with the settings it
 * was started with, and answers each with what the report needs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import { ALL_RULES } from '../rules/index.js';
import { checkParts, type Part, type WorkerSettings } from './batch.js';
import { relatedReaders, type AuditSettings } from './check.js';

const { context, policy, rules: ids } = workerData as WorkerSettings;
const rules = ids.map((id) => {
  const rule = ALL_RULES.find((candidate) => candidate.id === id);
  if (!rule) throw new Error(`unknown rule ${id}`);
  return rule;
});
const settings: AuditSettings = { context, policy, rules };
const related = relatedReaders(settings);

parentPort!.on('message', ({ id, job }: { id: number; job: Part[] }) => {
  try {
    parentPort!.postMessage({ id, result: checkParts(job, settings, related) });
  } catch (error) {
    parentPort!.postMessage({ id, error: errorMessage(error) });
  }
});
