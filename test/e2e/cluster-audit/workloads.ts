import {
  AutoscalingV2Api,
  type V1Container,
  type V1CronJob,
  type V1Deployment,
  type V2HorizontalPodAutoscaler,
  type V1Job,
  type V1OwnerReference,
  type V1Pod,
  type V1PodSpec,
  type V1ReplicaSet,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import type { Clients } from '../support/cluster.js';
import { conflictingContainers, cronJob, deployment, jobWithClassicLogShipper, pod, statefulSet } from '../support/manifests.js';

/**
 * What the cluster audit is run against. No controller-manager runs next to the test API server, so the
 * ReplicaSets, Jobs and Pods a controller would create are created here, with the ownerReferences it would set.
 */
export interface AuditedNamespaces {
  /** A Deployment on two conflicting ports with its ReplicaSet and Pod, bare Pods, an operator's StatefulSet. */
  shop: string;
  /** A CronJob with a classic log shipper, its Job and that Job's Pod, and a bare Job. */
  batch: string;
  /** An HPA scaling a two-container Deployment on pod-average CPU. */
  scale: string;
}

/** An app and a log shipper with CPU requests: the HPA rule's own example. */
export function appWithLogShipper(): V1Container[] {
  return [
    { name: 'app', image: 'registry.example.com/web-app:3.2.0', resources: { requests: { cpu: '250m', memory: '256Mi' } } },
    { name: 'log-shipper', image: 'cr.fluentbit.io/fluent/fluent-bit:3.2.4', resources: { requests: { cpu: '250m', memory: '64Mi' } } },
  ];
}

/** One container, pinned, with requests: nothing to find. */
export function cleanContainers(): V1Container[] {
  return [{ name: 'app', image: 'registry.example.com/web:1.4.2', resources: { requests: { cpu: '100m', memory: '64Mi' } } }];
}

export function controlledBy(owner: { apiVersion?: string; kind?: string; metadata?: { name?: string; uid?: string } }): V1OwnerReference[] {
  return [{ apiVersion: owner.apiVersion!, kind: owner.kind!, name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true, blockOwnerDeletion: true }];
}

function podOf(name: string, spec: V1PodSpec, owner: Parameters<typeof controlledBy>[0]): V1Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, ownerReferences: controlledBy(owner) }, spec };
}

export async function createShop(clients: Clients, namespace: string): Promise<void> {
  const web = await clients.apps.createNamespacedDeployment({ namespace, body: deployment('web', conflictingContainers(), 1) });
  const template = web.spec!.template;
  const replicaSet: V1ReplicaSet = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-5d9f8c7b6', labels: template.metadata!.labels!, ownerReferences: controlledBy(web) },
    spec: { replicas: 1, selector: web.spec!.selector, template },
  };
  const createdSet = await clients.apps.createNamespacedReplicaSet({ namespace, body: replicaSet });
  await clients.core.createNamespacedPod({ namespace, body: podOf('web-5d9f8c7b6-x2x7q', template.spec!, createdSet) });

  await clients.core.createNamespacedPod({ namespace, body: pod('debug', conflictingContainers()) });
  await clients.core.createNamespacedPod({ namespace, body: pod('clean', cleanContainers()) });

  // A database operator's custom resource controls this StatefulSet: podpatterns does not list that kind, so the
  // StatefulSet is the topmost object it audits, and the StatefulSet's Pods are covered by it.
  const operated: V1StatefulSet = statefulSet('orders-db', conflictingContainers());
  operated.metadata!.ownerReferences = controlledBy({ apiVersion: 'databases.example.com/v1', kind: 'Database', metadata: { name: 'orders', uid: '8a0f3c2e-52a4-4d0b-9d0e-6f1f5d1c9a11' } });
  const createdStatefulSet = await clients.apps.createNamespacedStatefulSet({ namespace, body: operated });
  for (const index of [0, 1]) await clients.core.createNamespacedPod({ namespace, body: podOf(`orders-db-${index}`, createdStatefulSet.spec!.template.spec!, createdStatefulSet) });
}

export async function createBatch(clients: Clients, namespace: string): Promise<void> {
  const classic = jobWithClassicLogShipper('template').spec!.template;
  const nightly: V1CronJob = cronJob('nightly', classic.spec!.containers);
  nightly.spec!.jobTemplate.spec!.template.spec = { ...classic.spec!, restartPolicy: 'Never' };
  const createdCronJob = await clients.batch.createNamespacedCronJob({ namespace, body: nightly });
  const job: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'nightly-29012345', ownerReferences: controlledBy(createdCronJob) },
    spec: createdCronJob.spec!.jobTemplate.spec!,
  };
  const createdJob = await clients.batch.createNamespacedJob({ namespace, body: job });
  await clients.core.createNamespacedPod({ namespace, body: podOf('nightly-29012345-7kq2m', createdJob.spec!.template.spec!, createdJob) });
  await clients.batch.createNamespacedJob({ namespace, body: jobWithClassicLogShipper('migrate') });
}

export async function createScale(clients: Clients, namespace: string): Promise<void> {
  const api: V1Deployment = deployment('api', appWithLogShipper(), 3);
  await clients.apps.createNamespacedDeployment({ namespace, body: api });
  const hpa: V2HorizontalPodAutoscaler = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'api' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
      minReplicas: 3,
      maxReplicas: 30,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    },
  };
  await clients.config.makeApiClient(AutoscalingV2Api).createNamespacedHorizontalPodAutoscaler({ namespace, body: hpa });
}
