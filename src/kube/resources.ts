import { groupOf, kindResource, type KindResource } from '../model/kinds.js';

/** A kind `audit --cluster` lists, with where the API serves it. */
export type ListedKind = KindResource;

/**
 * Listed in this order: HPAs first (their targets are picked up while the workloads stream by), then every
 * controller before the kinds it creates, so an object's controller is known by the time the object is read.
 */
export const LISTED_KINDS: readonly ListedKind[] = [
  'HorizontalPodAutoscaler',
  'CronJob',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicationController',
  'ReplicaSet',
  'Job',
  'Pod',
].map(kindResource);

/** `deployments.apps`, `pods`: how RBAC and API errors name a resource. */
export function qualifiedResource(resource: ListedKind): string {
  const group = groupOf(resource.apiVersion);
  return group ? `${resource.resource}.${group}` : resource.resource;
}

/** `/apis/apps/v1/namespaces/shop/deployments`, `/api/v1/pods` (every namespace). */
export function collectionPath(apiVersion: string, resource: string, namespace?: string): string {
  const root = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return namespace === undefined ? `${root}/${resource}` : `${root}/namespaces/${encodeURIComponent(namespace)}/${resource}`;
}
