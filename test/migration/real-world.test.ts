import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/model/kube.js';
import { effectivePodRequest } from '../../src/model/resources.js';
import { planMigration } from '../../src/migration/index.js';
import { realWorldCorpus } from '../support/corpus.js';
import { applyPlan, EXPECTED_SIDECARS, names, objectsIn, options, podSpecOf, podSpecViolations, REAL_WORLD, realWorldObjects } from './support.js';

const jobs = realWorldObjects(['Job', 'CronJob']);
const withCronJobs = options({ settings: { cronJobs: true } });
const jobOf = (file: string): KubeObject => objectsIn(readFileSync(new URL(file, REAL_WORLD), 'utf8')).find((o) => o.kind === 'Job')!;
const key = (file: string, object: { kind?: string; metadata?: { name?: string } }): string => `${file} ${object.kind}/${object.metadata?.name}`;

describe.skipIf(!realWorldCorpus.available)('the Jobs and CronJobs of the real-world corpus', () => {
  it('holds the 11 Jobs and 5 CronJobs INDEX.md counts', () => {
    expect(jobs.filter(({ object }) => object.kind === 'Job')).toHaveLength(11);
    expect(jobs.filter(({ object }) => object.kind === 'CronJob')).toHaveLength(5);
  });

  it.each(jobs.map(({ file, object }) => [key(file, object), object] as const))('%s: moves exactly the sidecars INDEX.md names', (name, object) => {
    const plan = planMigration(object, withCronJobs);
    const expected = EXPECTED_SIDECARS[name] ?? [];
    expect(plan.moved).toEqual(expected);
    if (expected.length === 0) {
      expect(plan).toMatchObject({ action: 'none', patch: [], warnings: [] });
      return;
    }
    const migrated = applyPlan(object, plan);
    const before = podSpecOf(object);
    const after = podSpecOf(migrated);
    expect(podSpecViolations(after)).toEqual([]);
    expect(names(after.initContainers).slice(-expected.length)).toEqual(expected);
    for (const resource of ['cpu', 'memory']) expect(effectivePodRequest(after, resource)).toBe(effectivePodRequest(before, resource));
    expect(planMigration(migrated, withCronJobs)).toMatchObject({ action: 'none', patch: [] });
  });

  it('turns Istio\'s classic Job/pi into the layout Istio injects natively, but for the proxy\'s drain hook and Istio\'s status', () => {
    const classic = jobOf('istio-injected-classic-sidecar.yaml');
    const native = jobOf('istio-injected-native-sidecar.yaml');
    const migrated = podSpecOf(applyPlan(classic, planMigration(classic, options())));
    const expected = structuredClone(podSpecOf(native));
    delete (expected.initContainers![1] as { lifecycle?: unknown }).lifecycle;
    expect(migrated).toEqual(expected);
  });

  it('turns the Kubernetes docs\' legacy log-shipper Job/myjob into the docs\' native sidecar example', () => {
    const legacy = jobOf('k8s-website-classic-multicontainer.yaml');
    const native = jobOf('k8s-website-native-sidecars.yaml') as { spec: { template: Record<string, unknown> } };
    native.spec.template.metadata = { annotations: { 'podpatterns.io/migrated-sidecars': 'logshipper' } };
    expect(applyPlan(legacy, planMigration(legacy, options()))).toEqual(native);
  });
});
