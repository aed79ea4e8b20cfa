import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recognizeHelper } from '../../src/model/helpers.js';
import { longRunningCommand } from '../../src/model/command.js';
import { asArray, isObject, type JsonObject, type KubeObject } from '../../src/model/kube.js';
import { podModelOf } from '../../src/model/pod.js';
import { effectivePodRequest } from '../../src/model/resources.js';
import { planMigration } from '../../src/migration/index.js';
import { applyPlan, context, names, options, podSpecOf, podSpecViolations } from './support.js';

const IMAGES = [
  'registry.example.com/app:1.0',
  'perl:5.40',
  'busybox:1.36',
  'docker.io/istio/proxyv2:1.24.0',
  'cr.l5d.io/linkerd/proxy:stable-2.14.10',
  'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0',
  'gcr.io/cloudsql-docker/gce-proxy:1.33.2',
  'fluent/fluent-bit:3.1',
  'grafana/promtail:3.0.0',
  'timberio/vector:0.40.0-debian',
  'otel/opentelemetry-collector-contrib:0.110.0',
  'envoyproxy/envoy:v1.31.0',
  'nginx:1.27',
  'daprio/daprd:1.14.0',
];

const COMMANDS: Array<string[] | undefined> = [
  undefined,
  ['sh', '-c', 'tail -F /var/log/app.log'],
  ['sleep', 'infinity'],
  ['sh', '-c', 'while true; do sleep 5; done'],
  ['sh', '-c', 'echo done'],
  ['perl', '-Mbignum=bpi', '-wle', 'print bpi(2000)'],
  ['sh', '-c', 'until nc -z db 5432; do sleep 2; done'],
];

const quantity = (unit: 'cpu' | 'memory') => (unit === 'cpu' ? fc.constantFrom('50m', '100m', '250m', '1', '1500m') : fc.constantFrom('64Mi', '128Mi', '1Gi', '300M'));

const resources = fc.option(
  fc.record(
    { requests: fc.record({ cpu: quantity('cpu'), memory: quantity('memory') }, { requiredKeys: [] }), limits: fc.record({ cpu: quantity('cpu'), memory: quantity('memory') }, { requiredKeys: [] }) },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

const probe = (extra: fc.Arbitrary<JsonObject>) =>
  fc.option(
    extra.map((fields) => ({ exec: { command: ['true'] }, periodSeconds: 5, ...fields })),
    { nil: undefined },
  );

const regularContainer = fc.record(
  {
    image: fc.constantFrom(...IMAGES),
    command: fc.constantFrom(...COMMANDS),
    resources,
    livenessProbe: probe(fc.record({ successThreshold: fc.integer({ min: 1, max: 3 }) }, { requiredKeys: [] })),
    startupProbe: probe(fc.record({ successThreshold: fc.integer({ min: 1, max: 3 }) }, { requiredKeys: [] })),
    readinessProbe: probe(fc.record({ successThreshold: fc.integer({ min: 1, max: 3 }), terminationGracePeriodSeconds: fc.integer({ min: 1, max: 60 }) }, { requiredKeys: [] })),
    lifecycle: fc.option(fc.constant({ preStop: { exec: { command: ['sleep', '5'] } } }), { nil: undefined }),
    restartPolicy: fc.option(fc.constantFrom('Always', 'OnFailure', 'Never'), { nil: undefined }),
    restartPolicyRules: fc.option(fc.constant([{ action: 'Restart', exitCodes: { operator: 'In', values: [42] } }]), { nil: undefined }),
    resizePolicy: fc.option(fc.constant([{ resourceName: 'cpu', restartPolicy: 'NotRequired' }]), { nil: undefined }),
    'x-unknown-field': fc.option(fc.record({ kept: fc.boolean() }), { nil: undefined }),
  },
  { requiredKeys: ['image'] },
);

const initContainer = fc.oneof(
  fc.record({ image: fc.constantFrom('busybox:1.36', 'alpine:3.20'), command: fc.constant(['sh', '-c', 'echo init']), resources }, { requiredKeys: ['image', 'command'] }),
  fc.record(
    { image: fc.constantFrom(...IMAGES), restartPolicy: fc.constant('Always'), resources, startupProbe: probe(fc.constant({})) },
    { requiredKeys: ['image', 'restartPolicy'] },
  ),
);

/** Jobs with random init containers (regular and native), regular containers and migration annotations. */
const jobs = fc
  .tuple(
    fc.array(initContainer, { maxLength: 3 }),
    fc.array(regularContainer, { minLength: 1, maxLength: 4 }),
    fc.uniqueArray(fc.constantFrom('app', 'istio-proxy', 'linkerd-proxy', 'log-shipper', 'worker', 'sql', 'daprd', 'vault-agent', 'exporter', 'side'), { minLength: 8, maxLength: 8 }),
    fc.record({
      defaultContainer: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat(4) }),
      sidecars: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.array(fc.nat(4), { maxLength: 3 }) }),
      sidecarsFirst: fc.boolean(),
      restartPolicy: fc.constantFrom('Never', 'OnFailure'),
    }),
  )
  .map(([inits, regulars, pool, choices]): KubeObject => {
    const initContainers = inits.map((c, i) => strip({ name: `init-${pool[i]}`, ...c }));
    const containers = regulars.map((c, i) => strip({ name: pool[i]!, ...c }));
    // Index regulars.length names a container that does not exist: the annotations must cope with it.
    const pick = (index: number): string => pool[index % (regulars.length + 1)]!;
    const annotations: Record<string, string> = {};
    if (choices.defaultContainer !== null) annotations['kubectl.kubernetes.io/default-container'] = pick(choices.defaultContainer);
    if (choices.sidecars !== null) annotations['podpatterns.io/sidecars'] = choices.sidecars.map(pick).join(',');
    if (choices.sidecarsFirst) annotations['podpatterns.io/sidecars-first'] = 'true';
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'generated' },
      spec: {
        backoffLimit: 2,
        template: {
          ...(Object.keys(annotations).length > 0 && { metadata: { annotations } }),
          spec: { restartPolicy: choices.restartPolicy, ...(initContainers.length > 0 && { initContainers }), containers },
        },
      },
    };
  });

function strip(object: Record<string, unknown>): JsonObject {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

const annotationsOf = (job: KubeObject): Record<string, string> =>
  ((job.spec as { template: { metadata?: { annotations?: Record<string, string> } } }).template.metadata?.annotations ?? {});

describe('migration properties over generated Jobs', () => {
  it('produces a patch that applies and adds nothing the API server would reject', () => {
    fc.assert(
      fc.property(jobs, (job) => {
        const plan = planMigration(job, options());
        const after = podSpecOf(applyPlan(job, plan));
        // Generated input may already be invalid (a liveness probe with successThreshold 3): judge what the migration adds.
        const before = new Set(podSpecViolations(podSpecOf(job)));
        expect(podSpecViolations(after).filter((violation) => !before.has(violation))).toEqual([]);
        expect(asArray(after.containers).length).toBeGreaterThan(0);
        const init = asArray(after.initContainers).filter(isObject);
        for (const name of plan.moved) expect(init.find((c) => c.name === name)?.restartPolicy).toBe('Always');
        expect(names(after.containers)).toEqual(names(podSpecOf(job).containers).filter((name) => !plan.moved.includes(name)));
      }),
      { numRuns: 300 },
    );
  });

  it('never moves the main container', () => {
    fc.assert(
      fc.property(jobs, (job) => {
        const plan = planMigration(job, options());
        const declared = annotationsOf(job)['kubectl.kubernetes.io/default-container'];
        const main = names(podSpecOf(job).containers).includes(declared ?? '') ? declared : undefined;
        if (main) expect(plan.moved).not.toContain(main);
        if (annotationsOf(job)['podpatterns.io/sidecars'] === undefined) expect(plan.moved).not.toContain(podModelOf(job)!.main!.name);
      }),
      { numRuns: 300 },
    );
  });

  it('moves only named containers, well-known sidecar images or endless commands', () => {
    fc.assert(
      fc.property(jobs, (job) => {
        const named = annotationsOf(job)['podpatterns.io/sidecars'];
        for (const name of planMigration(job, options()).moved) {
          const original = asArray(podSpecOf(job).containers).filter(isObject).find((c) => c.name === name)!;
          if (named !== undefined) expect(named.split(',')).toContain(name);
          else expect(recognizeHelper(original)?.confidence === 'high' || longRunningCommand(original) !== undefined).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the effective cpu and memory request when the sidecars go after the init containers', () => {
    fc.assert(
      fc.property(jobs, (job) => {
        fc.pre(annotationsOf(job)['podpatterns.io/sidecars-first'] === undefined);
        const after = podSpecOf(applyPlan(job, planMigration(job, options())));
        for (const resource of ['cpu', 'memory']) expect(effectivePodRequest(after, resource)).toBeCloseTo(effectivePodRequest(podSpecOf(job), resource), 9);
      }),
      { numRuns: 300 },
    );
  });

  it('changes nothing on a second pass', () => {
    fc.assert(
      fc.property(jobs, (job) => {
        const migrated = applyPlan(job, planMigration(job, options()));
        const again = planMigration(migrated, options());
        expect(again.patch).toEqual([]);
        expect(again.moved).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps warnings short and audit annotation keys valid, in every mode and version', () => {
    fc.assert(
      fc.property(
        jobs,
        fc.constantFrom('apply', 'dry-run', 'off'),
        fc.constantFrom('1.27', '1.28', '1.29', '1.33', '1.35'),
        fc.constantFrom('1.26', '1.28', '1.29', '1.35'),
        (job, mode, api, kubelet) => {
          const plan = planMigration(job, options({ context: context(api, kubelet), settings: { mode } }));
          for (const warning of plan.warnings) expect(warning.length).toBeLessThanOrEqual(120);
          for (const key of Object.keys(plan.auditAnnotations)) expect(key).toMatch(/^[A-Za-z0-9_.-]{1,63}$/);
          if (plan.action !== 'patch') expect(plan.patch).toEqual([]);
          const supported = !['1.27', '1.28'].includes(api) && !['1.26', '1.28'].includes(kubelet);
          if (!supported || mode === 'off') expect(plan.action).toBe('none');
          if (!supported && mode !== 'off' && planMigration(job, options()).moved.length > 0) expect(plan.warnings.join(' ')).toMatch(/needs? Kubernetes 1\.29\+ \((API server|oldest kubelet) 1\.2[678]/);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports in dry-run exactly what apply would move', () => {
    fc.assert(
      fc.property(jobs, (job) => {
        const applied = planMigration(job, options());
        const dryRun = planMigration(job, options({ settings: { mode: 'dry-run' } }));
        expect(dryRun.moved).toEqual(applied.moved);
        expect(dryRun.auditAnnotations['would-migrate-sidecars']).toBe(applied.auditAnnotations['migrated-sidecars']);
      }),
      { numRuns: 200 },
    );
  });
});
