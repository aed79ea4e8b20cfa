import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** What the end-to-end suite reads from its environment; the one place it does. */
export interface E2eSettings {
  /** A kubeconfig of an existing cluster: no etcd or kube-apiserver is started. */
  kubeconfig: string | undefined;
  /** The address the cluster's API server reaches this machine at; the webhook servers then listen on every interface. */
  webhookHost: string;
  /** The existing cluster's audit log, when this machine can read it (JSON lines). */
  auditLog: string | undefined;
  /** The CLI the webhook servers run: a .ts file runs through tsx, a .js file (e.g. dist/cli/main.js) as it is. */
  podpatternsEntry: string;
  /** Whether E2E_PODPATTERNS_ENTRY chose it (the benchmark otherwise compiles the repository first). */
  podpatternsEntryGiven: boolean;
  /** Keep the run's folder (logs of every process, etcd data) instead of deleting it at the end. */
  keep: boolean;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): E2eSettings {
  return {
    kubeconfig: nonEmpty(env.E2E_KUBECONFIG),
    webhookHost: nonEmpty(env.E2E_WEBHOOK_HOST) ?? '127.0.0.1',
    auditLog: nonEmpty(env.E2E_AUDIT_LOG),
    podpatternsEntry: resolve(REPO_ROOT, nonEmpty(env.E2E_PODPATTERNS_ENTRY) ?? join('src', 'cli', 'main.ts')),
    podpatternsEntryGiven: nonEmpty(env.E2E_PODPATTERNS_ENTRY) !== undefined,
    keep: ['1', 'true'].includes(nonEmpty(env.E2E_KEEP)?.toLowerCase() ?? ''),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
