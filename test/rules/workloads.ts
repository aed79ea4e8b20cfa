import { stringify } from 'yaml';
import { realWorldCorpus } from '../support/corpus.js';

export interface Workload {
  kind: string;
  yaml: string;
  /** Where the pod spec sits in the document, e.g. `spec.template.spec`. */
  specPath: string;
}

const TEMPLATED: Readonly<Record<string, string>> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  ReplicationController: 'v1',
  Job: 'batch/v1',
};

/**
 * The same pod spec carried by every kind podpatterns reads a pod from: Pod, the templated workloads,
 * CronJob, PodTemplate, and a Deployment inside a List.
 */
export function everyWorkloadKind(podSpec: Record<string, unknown>): Workload[] {
  const metadata = { name: 'w', namespace: 'team-a' };
  const template = { metadata: { labels: { app: 'w' } }, spec: podSpec };
  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec: { template } };
  const workloads: Workload[] = [{ kind: 'Pod', yaml: stringify({ apiVersion: 'v1', kind: 'Pod', metadata, spec: podSpec }), specPath: 'spec' }];
  for (const [kind, apiVersion] of Object.entries(TEMPLATED)) {
    workloads.push({ kind, yaml: stringify({ apiVersion, kind, metadata, spec: { template } }), specPath: 'spec.template.spec' });
  }
  workloads.push(
    {
      kind: 'CronJob',
      yaml: stringify({ apiVersion: 'batch/v1', kind: 'CronJob', metadata, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template } } } }),
      specPath: 'spec.jobTemplate.spec.template.spec',
    },
    { kind: 'PodTemplate', yaml: stringify({ apiVersion: 'v1', kind: 'PodTemplate', metadata, template }), specPath: 'template.spec' },
    { kind: 'List', yaml: stringify({ apiVersion: 'v1', kind: 'List', items: [deployment] }), specPath: 'items[0].spec.template.spec' },
  );
  return workloads;
}

/** A manifest of the real-world corpus (test/support/corpus.ts); the tests that read it are skipped when it is absent. */
export function realWorld(file: string): string {
  return realWorldCorpus.read(file);
}
