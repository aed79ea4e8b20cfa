import type { CoreV1Api } from '@kubernetes/client-node';
import { refusalOf } from './cluster.js';
import { conflictingContainers, distinctContainers, pod } from './manifests.js';

export type Outcome = 'admitted' | 'denied' | 'failed';

export interface CreateResult {
  name: string;
  expected: Exclude<Outcome, 'failed'>;
  outcome: Outcome;
  /** The API server's message when it refused. */
  message?: string;
}

export interface CreateStream {
  /** Every create answered so far. */
  readonly results: CreateResult[];
  /** Lets the stream end: after `extra` more creates have been answered. */
  finish(extra?: number): Promise<CreateResult[]>;
  /** Resolves when `count` creates have been answered. */
  answered(count: number): Promise<void>;
}

/**
 * A steady stream of pod creates with `concurrency` in flight, every second pod a port conflict: in an enforce
 * namespace those must be denied and the others admitted, whatever happens to the webhook servers meanwhile.
 */
export function startCreateStream(core: CoreV1Api, namespace: string, options: { concurrency: number; prefix: string }): CreateStream {
  const results: CreateResult[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let sent = 0;
  let stopAt = Number.POSITIVE_INFINITY;

  const one = async (index: number): Promise<void> => {
    const violating = index % 2 === 0;
    const name = `${options.prefix}-${index}`;
    const result: CreateResult = { name, expected: violating ? 'denied' : 'admitted', outcome: 'admitted' };
    try {
      await core.createNamespacedPod({ namespace, body: pod(name, violating ? conflictingContainers() : distinctContainers()) });
    } catch (error) {
      const refused = refusalOf(error);
      result.message = refused?.message ?? (error as Error).message;
      result.outcome = refused?.message.includes('denied the request') ? 'denied' : 'failed';
    }
    results.push(result);
    for (const waiter of waiters.filter((candidate) => results.length >= candidate.count)) waiter.resolve();
  };
  const worker = async () => {
    while (sent < stopAt) await one(sent++);
  };
  const workers = Promise.all(Array.from({ length: options.concurrency }, worker));

  return {
    results,
    answered: (count) => (results.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
    finish: async (extra = 0) => {
      stopAt = sent + extra;
      await workers;
      return results;
    },
  };
}

/** The results whose outcome is not the expected one, for an assertion message that says what went wrong. */
export function wrongVerdicts(results: readonly CreateResult[]): string[] {
  return results.filter((result) => result.outcome !== result.expected).map((result) => `${result.name}: expected ${result.expected}, got ${result.outcome}${result.message ? ` (${result.message})` : ''}`);
}
