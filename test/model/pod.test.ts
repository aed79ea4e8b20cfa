import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/model/kube.js';
import { podModelOf } from '../../src/model/pod.js';

const pod = (ownerReferences: unknown[]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'export-7x2kq', ownerReferences },
  spec: { restartPolicy: 'Never', containers: [{ name: 'export', image: 'registry.example.com/export:1.8.0' }] },
});

describe('the pod model of a Pod', () => {
  it('treats a Pod a Job owns as a Job pod: it runs to completion', () => {
    const model = podModelOf(pod([{ apiVersion: 'batch/v1', kind: 'Job', name: 'export', uid: 'u', controller: true }]))!;
    expect(model.runToCompletion).toBe(true);
    expect(model.ownerJob).toBe('export');
    expect(model.kind).toBe('Pod');
  });

  it('does not for Pods of other owners, of a Job kind in another API group, or of no owner', () => {
    for (const owners of [[{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f' }], [{ apiVersion: 'example.com/v1', kind: 'Job', name: 'x' }], []]) {
      const model = podModelOf(pod(owners))!;
      expect(model.runToCompletion).toBe(false);
      expect(model.ownerJob).toBeUndefined();
    }
  });

  it('keeps Job and CronJob templates running to completion', () => {
    const job: KubeObject = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: { spec: { containers: [{ name: 'a' }] } } } };
    expect(podModelOf(job)!.runToCompletion).toBe(true);
  });
});

describe('the pod model of a workload', () => {
  const job: KubeObject = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'export', namespace: 'batch' },
    spec: {
      template: {
        metadata: { annotations: { 'kubectl.kubernetes.io/default-container': 'export' }, labels: { app: 'export' } },
        spec: {
          restartPolicy: 'Never',
          initContainers: [
            { name: 'migrate', image: 'registry.example.com/migrate:3' },
            { name: 'proxy', image: 'docker.io/istio/proxyv2:1.27.0', restartPolicy: 'Always', ports: [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'tcp' }] },
            'not a container',
          ],
          containers: [
            { name: 'config-reloader', image: 'quay.io/prometheus-operator/prometheus-config-reloader:v0.80.0' },
            { name: 'export', image: 'registry.example.com/export:1.8.0', ports: [{ containerPort: 8080 }, null, { hostPort: 9000, hostIP: '10.0.0.1' }] },
          ],
        },
      },
    },
  };

  it('orders containers by start phase: init containers one at a time, native sidecars from their turn on, the rest last', () => {
    const model = podModelOf(job, 'items[0]')!;
    expect(model.containers.map(({ name, kind, role, firstPhase, lastPhase }) => ({ name, kind, role, firstPhase, lastPhase }))).toEqual([
      { name: 'migrate', kind: 'init', role: 'init', firstPhase: 0, lastPhase: 0 },
      { name: 'proxy', kind: 'native-sidecar', role: 'sidecar', firstPhase: 1, lastPhase: Number.POSITIVE_INFINITY },
      { name: 'config-reloader', kind: 'regular', role: 'sidecar', firstPhase: 2, lastPhase: Number.POSITIVE_INFINITY },
      { name: 'export', kind: 'regular', role: 'main', firstPhase: 2, lastPhase: Number.POSITIVE_INFINITY },
    ]);
    expect(model.containers[3]!.path).toBe('items[0].spec.template.spec.containers[1]');
    expect(model.main?.name).toBe('export');
    expect(model.sidecars.map((c) => c.name)).toEqual(['proxy', 'config-reloader']);
    expect(model.longRunning.map((c) => c.name)).toEqual(['proxy', 'config-reloader', 'export']);
    expect(model.inits.map((c) => c.name)).toEqual(['migrate']);
    expect(model.resource).toEqual({ apiVersion: 'batch/v1', kind: 'Job', namespace: 'batch', name: 'export' });
    expect(model.annotations).toEqual({ 'kubectl.kubernetes.io/default-container': 'export' });
    expect(model.labels).toEqual({ app: 'export' });
  });

  it('picks as main the first regular container that is not a well-known helper when no default is named', () => {
    const unnamed = structuredClone(job) as { spec: { template: { metadata: unknown } } };
    unnamed.spec.template.metadata = {};
    const model = podModelOf(unnamed as KubeObject)!;
    expect(model.containers[2]!.helper).toMatchObject({ kind: 'config-reloader' });
    expect(model.main?.name).toBe('export');
  });

  it("reads a container's ports once, with the API's defaults, keeping each entry's position", () => {
    const model = podModelOf(job)!;
    const exporter = model.containers[3]!;
    expect(exporter.ports).toEqual([
      { index: 0, containerPort: 8080, protocol: 'TCP', hostIP: '' },
      { index: 2, hostPort: 9000, protocol: 'TCP', hostIP: '10.0.0.1' },
    ]);
    expect(exporter.ports).toBe(exporter.ports);
    expect(model.containers[1]!.ports).toEqual([{ index: 0, name: 'http-envoy-prom', containerPort: 15090, protocol: 'TCP', hostIP: '' }]);
  });

  it("reads a container's image, command and requests for every rule that asks", () => {
    const sleeper: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        initContainers: [{ name: 'wait', image: 'busybox', command: ['sh', '-c', 'sleep infinity'] }],
        containers: [{ name: 'app', image: 'registry.example.com/app@sha256:abc', resources: { limits: { cpu: '500m' }, requests: { memory: '64Mi' } } }],
      },
    };
    const [wait, app] = podModelOf(sleeper)!.containers;
    expect(wait!.longRunningCommand).toMatchObject({ field: 'command' });
    expect(app!.longRunningCommand).toBeUndefined();
    expect(app!.image).toEqual({ repository: 'registry.example.com/app', name: 'app', digest: 'sha256:abc' });
    expect(wait!.image).toEqual({ repository: 'busybox', name: 'busybox' });
    expect(app!.request('cpu')).toBe(0.5);
    expect(app!.request('memory')).toBe(64 * 2 ** 20);
    expect(wait!.request('cpu')).toBeUndefined();
  });

  it('carries no pod for objects without a pod spec, or with a malformed one', () => {
    expect(podModelOf({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } })).toBeUndefined();
    expect(podModelOf({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { template: 'x' } })).toBeUndefined();
  });
});
