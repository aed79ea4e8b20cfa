import type { V1Container, V1CronJob, V1DaemonSet, V1Deployment, V1Job, V1Pod, V1PodSpec, V1PodTemplateSpec, V1StatefulSet } from '@kubernetes/client-node';

/** Two containers that both listen on 8080/TCP: the port-conflict rule's own bad example. */
export function conflictingContainers(): V1Container[] {
  return [
    { name: 'app', image: 'registry.example.com/web:1.4.2', ports: [{ containerPort: 8080 }] },
    { name: 'metrics-proxy', image: 'registry.example.com/metrics-proxy:0.9.0', ports: [{ containerPort: 8080 }] },
  ];
}

/** The same two containers on distinct ports: nothing to find. */
export function distinctContainers(): V1Container[] {
  return [
    { name: 'app', image: 'registry.example.com/web:1.4.2', ports: [{ containerPort: 8080 }] },
    { name: 'metrics-proxy', image: 'registry.example.com/metrics-proxy:0.9.0', args: ['--listen=:9090'], ports: [{ containerPort: 9090 }] },
  ];
}

export function pod(name: string, containers: V1Container[]): V1Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers } };
}

function template(name: string, spec: V1PodSpec): V1PodTemplateSpec {
  return { metadata: { labels: { app: name } }, spec };
}

export function deployment(name: string, containers: V1Container[], replicas = 2): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: template(name, { containers }) },
  };
}

export function statefulSet(name: string, containers: V1Container[]): V1StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: { serviceName: name, replicas: 1, selector: { matchLabels: { app: name } }, template: template(name, { containers }) },
  };
}

export function daemonSet(name: string, containers: V1Container[]): V1DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name },
    spec: { selector: { matchLabels: { app: name } }, template: template(name, { containers }) },
  };
}

export function cronJob(name: string, containers: V1Container[]): V1CronJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: {
      schedule: '*/5 * * * *',
      jobTemplate: { spec: { template: { spec: { containers, restartPolicy: 'OnFailure' } } } },
    },
  };
}

/**
 * The Job of the Kubernetes sidecar documentation (concepts/workloads/pods/sidecar-containers), written the
 * classic way: the `tail -F` log shipper sits next to the job's container, so the pod never completes.
 */
export function jobWithClassicLogShipper(name: string): V1Job {
  const data = [{ name: 'data', mountPath: '/opt' }];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      template: {
        spec: {
          containers: [
            { name: 'myjob', image: 'alpine:latest', command: ['sh', '-c', 'echo "logging" > /opt/logs.txt'], volumeMounts: data },
            { name: 'logshipper', image: 'alpine:latest', command: ['sh', '-c', 'tail -F /opt/logs.txt'], volumeMounts: data },
          ],
          restartPolicy: 'Never',
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    },
  };
}
