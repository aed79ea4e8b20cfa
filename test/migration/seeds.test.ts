import { describe, expect, it } from 'vitest';
import { planMigration } from '../../src/migration/index.js';
import { seedArticles } from '../support/corpus.js';
import { AFTER_003, BEFORE_003, CLASSIC_000, deployment, ISTIO_POD_002, job, logShipperPod001, NATIVE_000 } from './seed-examples.js';
import { applyPlan, container, names, one, options, podSpecOf, podSpecViolations, version } from './support.js';

describe('the articles\' classic and native sidecar examples', () => {
  it('leaves article 000\'s classic Deployment alone: only Jobs are migrated', () => {
    expect(planMigration(one(deployment(CLASSIC_000)), options()).skipped).toBe('Deployment is not migrated');
  });

  it('turns article 000\'s classic log shipper into its native form in a Job, keeping what it has and adding no probe', () => {
    const classic = one(job(CLASSIC_000));
    const migrated = applyPlan(classic, planMigration(classic, options()));
    const native = podSpecOf(one(job(NATIVE_000)));
    delete (native.initContainers![0] as { startupProbe?: unknown }).startupProbe;
    expect(podSpecOf(migrated)).toEqual(native);
  });

  it('leaves article 003\'s "Before" alone: the never-ending init container is not a classic sidecar', () => {
    const plan = planMigration(one(job(BEFORE_003)), options());
    expect(plan).toMatchObject({ action: 'none', patch: [] });
  });

  it('corrects article 003\'s "After", which keeps restartPolicy: Always in containers, into a real native sidecar', () => {
    const after = one(job(AFTER_003));
    // Accepted from 1.35 (ContainerRestartRules), where it restarts log-shipper forever and the Job never completes.
    expect(podSpecViolations(podSpecOf(after), version('1.34'))).toEqual(['containers[log-shipper].restartPolicy needs 1.35']);
    const plan = planMigration(after, options({ context: { kubernetesVersion: version('1.34'), minKubeletVersion: version('1.34') } }));
    const spec = podSpecOf(applyPlan(after, plan));
    expect(names(spec.initContainers)).toEqual(['log-shipper']);
    expect(names(spec.containers)).toEqual(['app']);
    expect(container(spec, 'log-shipper')).toEqual({ name: 'log-shipper', image: 'fluent/fluent-bit:3.0', restartPolicy: 'Always', command: ['fluent-bit', '-c', '/etc/fluent-bit.conf'] });
    expect(podSpecViolations(spec, version('1.34'))).toEqual([]);
  });

  it.skipIf(!seedArticles.available)('migrates article 001\'s log-shipping Pod when bare Pods are opted in', () => {
    const pod = one(logShipperPod001());
    expect(planMigration(pod, options()).action).toBe('none');
    const plan = planMigration(pod, options({ settings: { pods: true } }));
    expect(plan.moved).toEqual(['log-shipper']);
    expect(names(podSpecOf(applyPlan(pod, plan)).containers)).toEqual(['main-app']);
  });

  it('switches article 002\'s Istio-injected Pod to a native istio-proxy when bare Pods are opted in', () => {
    const pod = one(ISTIO_POD_002);
    expect(planMigration(pod, options({ settings: { pods: true } })).patch).toEqual([
      { op: 'add', path: '/metadata/annotations/sidecar.istio.io~1nativeSidecar', value: 'true' },
    ]);
  });
});
