import fc from 'fast-check';
import type { JsonObject, KubeObject } from '../../../src/model/kube.js';

/**
 * Jobs nobody wrote by hand, for the migration policy: helper and ordinary images, commands that end and that
 * never end, probes valid and invalid on a native sidecar, container restart rules, every annotation the
 * migration reads (with names that exist, that do not, that name init containers), mesh and workflow labels.
 */

const IMAGES = [
  'registry.example.com/app:1.0',
  'busybox:1.36',
  'docker.io/istio/proxyv2:1.24.0',
  'cr.l5d.io/linkerd/proxy:stable-2.14.10',
  'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0',
  'registry.local:5000/fluent/fluent-bit:3.1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  'grafana/promtail:3.0.0',
  'otel/opentelemetry-collector-contrib:0.110.0',
  'envoyproxy/envoy:v1.31.0',
  'jimmidyson/configmap-reload:v0.13.1',
  'quay.io/prometheus/node-exporter:v1.8.2',
  'daprio/daprd:1.14.0',
];

const COMMANDS: Array<string[] | undefined> = [
  undefined,
  undefined,
  ['sh', '-c', 'tail -F /var/log/app.log'],
  ['sleep', 'infinity'],
  ['sh', '-c', 'while true; do date; sleep 5; done'],
  ['sh', '-c', 'echo done'],
  ['sh', '-c', 'sleep 5; echo warm'],
  ['/bin/export', '--all', '--format=parquet'],
  ['sh', '-c', 'nginx & wait'],
];

const NAMES = ['app', 'istio-proxy', 'linkerd-proxy', 'vault-agent', 'daprd', 'log-shipper', 'metrics', 'config-reloader', 'worker', 'sql', 'wait', 'step-a'];

/** `value` once in `oneIn` draws, else undefined. */
const sometimes = <T>(value: fc.Arbitrary<T>, oneIn: number) => fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value });

const probe = (fields: fc.Arbitrary<JsonObject>) => sometimes(fields.map((extra) => ({ tcpSocket: { port: 8080 }, periodSeconds: 5, ...extra })), 3);

const regular = fc.record(
  {
    image: fc.constantFrom(...IMAGES),
    command: fc.constantFrom(...COMMANDS),
    args: sometimes(fc.constantFrom(['--config=/etc/app.yaml'], ['-c', '/etc/envoy.yaml', '--log-level', 'info']), 2),
    resources: sometimes(fc.constant({ requests: { cpu: '50m', memory: '64Mi' } }), 2),
    // Invalid on any container, and so rejected as sent; the webhook fixes them on the sidecars it moves.
    livenessProbe: probe(fc.constantFrom({}, {}, {}, {}, {}, { successThreshold: 3 })),
    startupProbe: probe(fc.constantFrom({}, {}, {}, {}, {}, { successThreshold: 2 })),
    readinessProbe: probe(fc.constantFrom({}, {}, {}, {}, {}, { terminationGracePeriodSeconds: 10 })),
    lifecycle: sometimes(fc.constant({ preStop: { sleep: { seconds: 3 } } }), 3),
    restartPolicy: sometimes(fc.constantFrom('Always', 'OnFailure', 'Never'), 6),
    withRules: fc.boolean(),
  },
  { requiredKeys: ['image', 'withRules'] },
);

const init = fc.oneof(
  fc.record({ image: fc.constantFrom('busybox:1.36'), command: fc.constant(['sh', '-c', 'echo init']) }),
  fc.record({ image: fc.constantFrom(...IMAGES), restartPolicy: fc.constant('Always') }),
);

/** A name of the pool by index: past the containers' own it names a container that does not exist. */
const pickers = fc.array(fc.nat(7), { maxLength: 3 });

export const generatedJobs = fc
  .tuple(
    fc.array(init, { maxLength: 2 }),
    fc.array(regular, { minLength: 1, maxLength: 5 }),
    fc.shuffledSubarray(NAMES, { minLength: NAMES.length, maxLength: NAMES.length }),
    fc.record({
      defaultContainer: sometimes(fc.nat(6), 3),
      sidecars: sometimes(pickers, 2),
      sidecarsOnJob: fc.boolean(),
      sidecarsFirst: sometimes(fc.constantFrom('true', 'Yes', 'false'), 3),
      migrate: sometimes(fc.constantFrom('false', ' No ', 'true'), 5),
      migrated: sometimes(fc.constantFrom('vault-agent', 'old-proxy, vault-agent'), 4),
      labels: sometimes(fc.constantFrom<Record<string, string>>({ 'sidecar.istio.io/inject': 'true' }, { 'sidecar.istio.io/inject': 'false' }, { 'istio.io/rev': 'canary' }, { 'workflows.argoproj.io/workflow': 'w' }), 4),
      linkerd: sometimes(fc.constantFrom('enabled', 'disabled'), 5),
      bareTemplate: fc.boolean(),
      restartPolicy: fc.constantFrom('Never', 'OnFailure'),
    }),
  )
  .map(([inits, regulars, pool, choices]): KubeObject => {
    const initContainers = inits.map((container, index) => ({ name: `init-${pool[index]}`, ...container }));
    const containers = regulars.map(({ withRules, ...container }, index) => {
      const shaped: JsonObject = Object.fromEntries(Object.entries({ name: pool[index + 2]!, ...container }).filter(([, value]) => value !== undefined));
      // Restart rules need a restartPolicy of their own.
      if (withRules && shaped.restartPolicy !== undefined) shaped.restartPolicyRules = [{ action: 'Restart', exitCodes: { operator: 'In', values: [42] } }];
      return shaped;
    });
    const named = [...initContainers, ...containers].map((container) => String(container.name));
    const pick = (index: number) => named[index] ?? `missing-${index}`;
    const template: Record<string, string> = {};
    const job: Record<string, string> = {};
    if (choices.defaultContainer !== undefined) template['kubectl.kubernetes.io/default-container'] = pick(choices.defaultContainer);
    if (choices.sidecars !== undefined) (choices.sidecarsOnJob ? job : template)['podpatterns.io/sidecars'] = choices.sidecars.map(pick).join(',');
    if (choices.sidecarsFirst !== undefined) job['podpatterns.io/sidecars-first'] = choices.sidecarsFirst;
    if (choices.migrate !== undefined) (choices.sidecarsOnJob ? template : job)['podpatterns.io/migrate'] = choices.migrate;
    if (choices.migrated !== undefined) template['podpatterns.io/migrated-sidecars'] = choices.migrated;
    if (choices.linkerd !== undefined) template['linkerd.io/inject'] = choices.linkerd;
    const metadata = { ...(Object.keys(template).length > 0 && { annotations: template }), ...(choices.labels && { labels: choices.labels }) };
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'generated', ...(Object.keys(job).length > 0 && { annotations: job }) },
      spec: {
        template: {
          ...(!(choices.bareTemplate && Object.keys(metadata).length === 0) && { metadata }),
          spec: { restartPolicy: choices.restartPolicy, ...(initContainers.length > 0 && { initContainers }), containers },
        },
      },
    };
  });
