import type { Operation } from '../engine/types.js';
import { asArray, asString, isObject, stringMap, type KubeObject } from '../model/kube.js';
import type { MigrationSettings } from '../policy/policy.js';
import { MIGRATE_ANNOTATION, isFalse, lookup } from './annotations.js';

/** Where a migrated object keeps what the migration touches, as key paths from the object. */
export interface MigrationTarget {
  kind: 'Job' | 'CronJob' | 'Pod';
  object: KubeObject;
  specPath: string[];
  /** The pod template's metadata (the Pod's own for a Pod). */
  metadataPath: string[];
  /** Annotations that configure the migration, most specific first: pod template, Job template, object. */
  annotationSources: Record<string, string>[];
  labels: Record<string, string>;
}

export type TargetResult = { target: MigrationTarget } | { skipped: string };

const LAYOUT = {
  Job: { spec: ['spec', 'template', 'spec'], metadata: ['spec', 'template', 'metadata'] },
  CronJob: { spec: ['spec', 'jobTemplate', 'spec', 'template', 'spec'], metadata: ['spec', 'jobTemplate', 'spec', 'template', 'metadata'] },
  Pod: { spec: ['spec'], metadata: ['metadata'] },
} as const;

export function getIn(node: unknown, keys: readonly string[]): unknown {
  for (const key of keys) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

function annotationsAt(object: unknown, metadataKeys: readonly string[]): Record<string, string> {
  const metadata = getIn(object, metadataKeys);
  return stringMap(isObject(metadata) ? metadata.annotations : undefined);
}

/**
 * Decides whether an object is migrated. Jobs are, at creation only: their pod template is immutable
 * afterwards. CronJobs and bare Pods only when the settings opt in. Pods driven by a workflow engine never.
 */
export function migrationTarget(
  object: unknown,
  settings: MigrationSettings,
  operation: Operation | undefined,
  namespaceAnnotations: Record<string, string>,
): TargetResult {
  if (!isObject(object)) return { skipped: 'not a Kubernetes object' };
  const kind = asString(object.kind);
  if (kind !== 'Job' && kind !== 'CronJob' && kind !== 'Pod') return { skipped: `${kind ?? 'an object without kind'} is not migrated` };
  if (kind === 'CronJob' && !settings.cronJobs) return { skipped: 'CronJobs are not migrated (migration.cronJobs is off); the Jobs they create are' };
  if (kind === 'Pod' && !settings.pods) return { skipped: 'bare Pods are not migrated (migration.pods is off)' };
  // A CronJob's jobTemplate may change; a Job's template and a Pod's containers may not.
  if (operation !== undefined && operation !== 'CREATE' && !(kind === 'CronJob' && operation === 'UPDATE')) {
    return { skipped: `${kind} is only migrated when it is created` };
  }
  const owner = kind === 'Pod' ? asArray(getIn(object, ['metadata', 'ownerReferences'])).find(isObject) : undefined;
  if (owner) return { skipped: `Pod is owned by ${asString(owner.kind) ?? 'another object'} ${asString(owner.name) ?? ''}`.trim() };

  const layout = LAYOUT[kind];
  const spec = getIn(object, layout.spec);
  if (!isObject(spec)) return { skipped: `${kind} has no pod spec at ${layout.spec.join('.')}` };
  const annotationSources = [annotationsAt(object, layout.metadata)];
  if (kind === 'CronJob') annotationSources.push(annotationsAt(object, ['spec', 'jobTemplate', 'metadata']));
  if (kind !== 'Pod') annotationSources.push(annotationsAt(object, ['metadata']));

  if (isFalse(lookup(annotationSources, MIGRATE_ANNOTATION))) return { skipped: `opted out by ${MIGRATE_ANNOTATION}: "false"` };
  if (isFalse(namespaceAnnotations[MIGRATE_ANNOTATION])) return { skipped: `namespace opted out by ${MIGRATE_ANNOTATION}: "false"` };

  const metadata = getIn(object, layout.metadata);
  const labels = stringMap(isObject(metadata) ? metadata.labels : undefined);
  const engine = workflowEngine(labels, annotationSources[0] ?? {}, spec);
  if (engine) return { skipped: `${engine} pod: the workflow engine drives its containers itself` };

  return {
    target: { kind, object: object as KubeObject, specPath: [...layout.spec], metadataPath: [...layout.metadata], annotationSources, labels },
  };
}

/**
 * Workflow engines run their steps and helpers under their own control and stop them themselves:
 * Argo Workflows labels its pods `workflows.argoproj.io/workflow` and runs `wait` beside `main`; Tekton labels
 * them `tekton.dev/*` and names containers `step-*`/`sidecar-*`; Airflow's KubernetesPodOperator adds
 * `airflow-xcom-sidecar`.
 */
function workflowEngine(labels: Record<string, string>, annotations: Record<string, string>, spec: Record<string, unknown>): string | undefined {
  const names = new Set(asArray(spec.containers).filter(isObject).map((container) => asString(container.name)));
  if ('workflows.argoproj.io/workflow' in labels || (names.has('wait') && names.has('main'))) return 'Argo Workflows';
  if (Object.keys({ ...labels, ...annotations }).some((key) => key.startsWith('tekton.dev/'))) return 'Tekton';
  if (names.size > 0 && [...names].every((name) => /^(step|sidecar)-/.test(name ?? '')) && [...names].some((name) => name?.startsWith('step-'))) return 'Tekton';
  if (names.has('airflow-xcom-sidecar')) return 'Airflow';
  return undefined;
}
