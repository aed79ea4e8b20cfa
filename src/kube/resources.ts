/** A kind `audit --cluster` lists, with where the API serves it. */
export interface ListedKind {
  kind: string;
  apiVersion: string;
  /** The plural resource name in URLs and RBAC rules. */
  resource: string;
}

/**
 * Listed in this order: HPAs first (their targets are picked up while the workloads stream by), then every
 * controller before the kinds it creates, so an object's controller is known by the time the object is read.
 */
export const LISTED_KINDS: readonly ListedKind[] = [
  { kind: 'HorizontalPodAutoscaler', apiVersion: 'autoscaling/v2', resource: 'horizontalpodautoscalers' },
  { kind: 'CronJob', apiVersion: 'batch/v1', resource: 'cronjobs' },
  { kind: 'Deployment', apiVersion: 'apps/v1', resource: 'deployments' },
  { kind: 'StatefulSet', apiVersion: 'apps/v1', resource: 'statefulsets' },
  { kind: 'DaemonSet', apiVersion: 'apps/v1', resource: 'daemonsets' },
  { kind: 'ReplicationController', apiVersion: 'v1', resource: 'replicationcontrollers' },
  { kind: 'ReplicaSet', apiVersion: 'apps/v1', resource: 'replicasets' },
  { kind: 'Job', apiVersion: 'batch/v1', resource: 'jobs' },
  { kind: 'Pod', apiVersion: 'v1', resource: 'pods' },
];

/** `deployments.apps`, `pods`: how RBAC and API errors name a resource. */
export function qualifiedResource(resource: ListedKind): string {
  const group = groupOf(resource.apiVersion);
  return group ? `${resource.resource}.${group}` : resource.resource;
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** `/apis/apps/v1/namespaces/shop/deployments`, `/api/v1/pods` (every namespace). */
export function collectionPath(apiVersion: string, resource: string, namespace?: string): string {
  const root = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return namespace === undefined ? `${root}/${resource}` : `${root}/namespaces/${encodeURIComponent(namespace)}/${resource}`;
}
