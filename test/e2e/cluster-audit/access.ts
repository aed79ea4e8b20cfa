import { readFile, writeFile } from 'node:fs/promises';
import { RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { RUN_LABEL, type Clients, type E2eCluster } from '../support/cluster.js';

/** Everything `audit --cluster` lists, as RBAC names it (the chart's ClusterRole grants the same). */
export const AUDIT_READ_RULES = [
  { apiGroups: [''], resources: ['pods', 'replicationcontrollers'], verbs: ['list', 'get'] },
  { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'], verbs: ['list', 'get'] },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['list', 'get'] },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list', 'get'] },
];

/**
 * A kubeconfig file for the server `config` points at, authenticating with `token`. The test API server's
 * static token file holds only the admin, so other users are ServiceAccounts with TokenRequest tokens.
 */
export async function writeKubeconfig(file: string, config: KubeConfig, user: { name: string; token: string }, namespace?: string): Promise<void> {
  const cluster = config.getCurrentCluster()!;
  const ca = cluster.caData ?? (cluster.caFile ? (await readFile(cluster.caFile)).toString('base64') : undefined);
  await writeFile(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster: { server: cluster.server, ...(ca && { 'certificate-authority-data': ca }) } }],
      users: [{ name: user.name, user: { token: user.token } }],
      contexts: [{ name: user.name, context: { cluster: 'e2e', user: user.name, ...(namespace && { namespace }) } }],
      'current-context': user.name,
    }),
    { mode: 0o600 },
  );
}

/**
 * A ServiceAccount that may list the audited kinds in `allowed` only, and list namespaces (so `--all-namespaces`
 * goes namespace by namespace); it may not list nodes. Returns a token for it from the TokenRequest API.
 */
export async function namespaceAuditor(clients: Clients, cluster: E2eCluster, allowed: string): Promise<{ name: string; token: string; cleanup: () => Promise<void> }> {
  const rbac = clients.config.makeApiClient(RbacAuthorizationV1Api);
  const name = 'auditor';
  const subject = { kind: 'ServiceAccount', name, namespace: allowed };
  const labels = { [RUN_LABEL]: cluster.runId };
  const clusterWide = `podpatterns-e2e-namespace-lister-${cluster.runId}`;
  await clients.core.createNamespacedServiceAccount({ namespace: allowed, body: { metadata: { name, labels } } });
  await rbac.createNamespacedRole({ namespace: allowed, body: { metadata: { name, labels }, rules: AUDIT_READ_RULES } });
  await rbac.createNamespacedRoleBinding({ namespace: allowed, body: { metadata: { name, labels }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [subject] } });
  await rbac.createClusterRole({ body: { metadata: { name: clusterWide, labels }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['list'] }] } });
  await rbac.createClusterRoleBinding({
    body: { metadata: { name: clusterWide, labels }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterWide }, subjects: [subject] },
  });
  const request = await clients.core.createNamespacedServiceAccountToken({ namespace: allowed, name, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  return {
    name: `system:serviceaccount:${allowed}:${name}`,
    token: request.status!.token!,
    cleanup: async () => {
      await rbac.deleteClusterRoleBinding({ name: clusterWide });
      await rbac.deleteClusterRole({ name: clusterWide });
    },
  };
}
