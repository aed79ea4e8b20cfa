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
