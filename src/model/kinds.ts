/** Where the API serves a kind: what webhook rules, RBAC rules and list URLs name it by. */
export interface KindResource {
  kind: string;
  /** The version podpatterns reads it in: `apps/v1`, `v1` (the core group). */
  apiVersion: string;
  /** The plural resource name. */
  resource: string;
}

/** Every kind the rules read, the pod-bearing kinds in the order of POD_BEARING_KINDS. */
const KIND_RESOURCES: readonly KindResource[] = [
  { kind: 'Pod', apiVersion: 'v1', resource: 'pods' },
  { kind: 'Deployment', apiVersion: 'apps/v1', resource: 'deployments' },
  { kind: 'StatefulSet', apiVersion: 'apps/v1', resource: 'statefulsets' },
  { kind: 'DaemonSet', apiVersion: 'apps/v1', resource: 'daemonsets' },
  { kind: 'ReplicaSet', apiVersion: 'apps/v1', resource: 'replicasets' },
  { kind: 'ReplicationController', apiVersion: 'v1', resource: 'replicationcontrollers' },
  { kind: 'Job', apiVersion: 'batch/v1', resource: 'jobs' },
  { kind: 'CronJob', apiVersion: 'batch/v1', resource: 'cronjobs' },
  { kind: 'PodTemplate', apiVersion: 'v1', resource: 'podtemplates' },
  { kind: 'HorizontalPodAutoscaler', apiVersion: 'autoscaling/v2', resource: 'horizontalpodautoscalers' },
];

/** The resource of a kind; throws for a kind missing from the table, so a rule cannot declare one nobody can send it. */
export function kindResource(kind: string): KindResource {
  const found = KIND_RESOURCES.find((entry) => entry.kind === kind);
  if (!found) throw new Error(`no API resource is known for kind ${kind}: add it to src/model/kinds.ts`);
  return found;
}

/** `apps` of `apps/v1`, '' for the core group's `v1`. */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** One entry per API group, as webhook and admission policy rules list resources. */
export interface GroupResources {
  apiGroups: [string];
  resources: string[];
  apiVersions: [string];
}

/** The kinds' resources grouped by API group, groups and resources in the order the kinds come. */
export function resourcesByGroup(kinds: readonly string[]): GroupResources[] {
  const groups = new Map<string, GroupResources>();
  for (const kind of kinds) {
    const { apiVersion, resource } = kindResource(kind);
    const group = groupOf(apiVersion);
    const entry = groups.get(group) ?? { apiGroups: [group], resources: [], apiVersions: [apiVersion.slice(apiVersion.indexOf('/') + 1)] };
    groups.set(group, entry);
    if (!entry.resources.includes(resource)) entry.resources.push(resource);
  }
  return [...groups.values()];
}
