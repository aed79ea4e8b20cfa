import { existsSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { JsonObject, KubeObject } from '../../../src/model/kube.js';
import { ALL_RULES } from '../../../src/rules/index.js';
import { AFTER_003, BEFORE_003, CLASSIC_000, ISTIO_POD_002, job as seedJob, logShipperPod001, NATIVE_000 } from '../../migration/seed-examples.js';
import { one, REAL_WORLD, realWorldObjects, SEEDS } from '../../migration/support.js';

/**
 * What the migration policy must do with a fixture, judged against the `/mutate` webhook and against the
 * object created with no mutation at all:
 * - `migrated`: the webhook changes it, and the policy's result is the same object;
 * - `unchanged`: neither changes it;
 * - `webhook-only`: the webhook changes it, the policy leaves it as sent (outside what CEL covers).
 */
export type Outcome = 'migrated' | 'unchanged' | 'webhook-only';

export interface MigrationFixture {
  /** Where it comes from, for the printout: `own`, `seed`, `README`, `real-world`. */
  source: string;
  /** What it shows. */
  title: string;
  /** A Job, CronJob or Pod with a unique name and no namespace. */
  object: KubeObject;
  expected: Outcome;
}

type Containers = JsonObject[];

interface JobOptions {
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  templateAnnotations?: Record<string, string>;
  templateLabels?: Record<string, string>;
  initContainers?: Containers;
  /** Fields of the Job spec besides the template. */
  jobSpec?: JsonObject;
  /** No `metadata` in the pod template at all. */
  bareTemplate?: boolean;
}

function job(name: string, containers: Containers, options: JobOptions = {}): KubeObject {
  const templateMetadata = { ...(options.templateAnnotations && { annotations: options.templateAnnotations }), ...(options.templateLabels && { labels: options.templateLabels }) };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, ...(options.annotations && { annotations: options.annotations }), ...(options.labels && { labels: options.labels }) },
    spec: {
      ...options.jobSpec,
      template: {
        ...(!options.bareTemplate && { metadata: templateMetadata }),
        spec: { restartPolicy: 'Never', ...(options.initContainers && { initContainers: options.initContainers }), containers },
      },
    },
  };
}

const APP = { name: 'app', image: 'registry.example.com/export:1.8.0', command: ['/bin/export', '--all'], resources: { requests: { cpu: '250m', memory: '256Mi' } } };
const SQL_PROXY = {
  name: 'cloud-sql-proxy',
  image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0',
  args: ['--port=5432', '--health-check', '--http-address=0.0.0.0', 'project:region:main'],
  ports: [{ name: 'sql', containerPort: 5432 }],
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
  securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false },
  startupProbe: { httpGet: { path: '/startup', port: 9090 }, periodSeconds: 1, failureThreshold: 30 },
  readinessProbe: { httpGet: { path: '/readiness', port: 9090 } },
  lifecycle: { preStop: { sleep: { seconds: 5 } } },
  env: [{ name: 'CSQL_PROXY_STRUCTURED_LOGS', value: 'true' }],
};
const FLUENT_BIT = {
  name: 'fluent-bit',
  image: 'fluent/fluent-bit:3.1.4',
  volumeMounts: [{ name: 'logs', mountPath: '/var/log/app', readOnly: true }],
  resources: { requests: { cpu: '20m', memory: '32Mi' } },
};
const OTEL = { name: 'otel', image: 'otel/opentelemetry-collector-contrib:0.110.0', args: ['--config=/conf/otel.yaml'] };
const ENVOY = { name: 'envoy', image: 'envoyproxy/envoy:v1.31.0', args: ['-c', '/etc/envoy/envoy.yaml'] };
const TAILER = { name: 'shipper', image: 'alpine:3.20', command: ['sh', '-c', 'tail -F /var/log/app/app.log'] };
const WAIT_FOR_DB = { name: 'wait-for-db', image: 'busybox:1.36', command: ['sh', '-c', 'until nc -z db 5432; do sleep 2; done'], resources: { requests: { cpu: '500m', memory: '256Mi' } } };
const VAULT_AGENT_NATIVE = { name: 'vault-agent', image: 'hashicorp/vault:1.17', restartPolicy: 'Always', args: ['agent', '-config=/vault/config.hcl'] };
const LOGS_VOLUME = { volumes: [{ name: 'logs', emptyDir: {} }] };

const withLogs = (object: KubeObject): KubeObject => {
  const spec = (object.spec as { template: { spec: JsonObject } }).template.spec;
  Object.assign(spec, LOGS_VOLUME);
  return object;
};

/** The high-confidence helper images, to fill a large pod with sidecars the webhook recognises. */
const HELPER_IMAGES = [
  'docker.io/istio/proxyv2:1.24.0',
  'cr.l5d.io/linkerd/proxy:stable-2.14.10',
  'gcr.io/cloudsql-docker/gce-proxy:1.33.2',
  'fluent/fluent-bit:3.1.4',
  'grafana/promtail:3.4.0',
  'timberio/vector:0.41.1-distroless-libc',
  'otel/opentelemetry-collector-contrib:0.110.0',
  'daprio/daprd:1.14.4',
];

function manyContainers(count: number, image: (index: number) => string): Containers {
  return Array.from({ length: count }, (_, index) => ({
    name: `helper-${String(index).padStart(2, '0')}-with-a-descriptive-name`,
    image: image(index),
    args: Array.from({ length: 6 }, (_, arg) => `--setting-${arg}=/etc/helper-${index}/configuration-file-${arg}.yaml`),
    env: [{ name: 'HELPER_INDEX', value: String(index) }],
    resources: { requests: { cpu: '5m', memory: '16Mi' } },
  }));
}

function ownFixtures(): MigrationFixture[] {
  const own = (title: string, expected: Outcome, object: KubeObject): MigrationFixture => ({ source: 'own', title, object, expected });
  const names = (names: string) => ({ 'podpatterns.io/sidecars': names });
  return [
    own('moves a helper the webhook only moves when named (envoy), named on the pod template', 'migrated', job('named-envoy', [APP, ENVOY], { templateAnnotations: names('envoy') })),
    own('moves only the container the Job annotation names, keeping a recognised helper in place', 'migrated', withLogs(job('named-on-job', [APP, SQL_PROXY, { ...TAILER, volumeMounts: FLUENT_BIT.volumeMounts }], { annotations: names(' shipper , ') }))),
    own('changes nothing when the annotation names a container that does not exist', 'unchanged', job('named-missing', [APP, SQL_PROXY], { annotations: names('cloud-sql-proxy,sql-proxy') })),
    own('changes nothing when the annotation names the default-container', 'unchanged', job('named-main', [APP, SQL_PROXY], { annotations: names('app'), templateAnnotations: { 'kubectl.kubernetes.io/default-container': 'app' } })),
    own('changes nothing when the annotation names every container', 'unchanged', job('named-every', [APP, SQL_PROXY], { annotations: names('app,cloud-sql-proxy') })),
    own('changes nothing when the annotation names a regular init container', 'unchanged', job('named-init', [APP, SQL_PROXY], { annotations: names('wait-for-db'), initContainers: [WAIT_FOR_DB] })),
    own('moves the named classic container and skips a named one that is already native', 'migrated', job('named-native', [APP, ENVOY], { annotations: names('vault-agent,envoy'), initContainers: [VAULT_AGENT_NATIVE] })),
    own('honours podpatterns.io/migrate: "false" on the Job', 'unchanged', job('opt-out-job', [APP, SQL_PROXY], { annotations: { 'podpatterns.io/migrate': 'false' } })),
    own('honours podpatterns.io/migrate: " No " on the pod template', 'unchanged', job('opt-out-template', [APP, SQL_PROXY], { templateAnnotations: { 'podpatterns.io/migrate': ' No ' } })),
    own('lets the pod template say "true" where the Job says "false" (the most specific wins)', 'migrated', job('opt-in-template', [APP, SQL_PROXY], { annotations: { 'podpatterns.io/migrate': 'false' }, templateAnnotations: { 'podpatterns.io/migrate': 'true' } })),
    own('puts the sidecars before the existing init containers with podpatterns.io/sidecars-first: "yes"', 'migrated', job('sidecars-first', [APP, SQL_PROXY, OTEL], { initContainers: [WAIT_FOR_DB], annotations: { 'podpatterns.io/sidecars-first': 'yes' } })),
    own('appends the sidecars after the existing init containers, in their order', 'migrated', withLogs(job('after-init', [FLUENT_BIT, APP, OTEL], { initContainers: [WAIT_FOR_DB, VAULT_AGENT_NATIVE] }))),
    own('leaves an already migrated Job alone', 'unchanged', job('already-migrated', [APP], { initContainers: [{ ...SQL_PROXY, restartPolicy: 'Always' }], templateAnnotations: { 'podpatterns.io/migrated-sidecars': 'cloud-sql-proxy' } })),
    own('moves a new classic helper of a migrated Job and adds it to podpatterns.io/migrated-sidecars', 'migrated', withLogs(job('migrated-again', [APP, FLUENT_BIT], { initContainers: [{ ...SQL_PROXY, restartPolicy: 'Always' }], templateAnnotations: { 'podpatterns.io/migrated-sidecars': 'cloud-sql-proxy' } }))),
    own('leaves a helper with livenessProbe.successThreshold 3 to the webhook (the API server rejects it as sent)', 'webhook-only', job('liveness-threshold', [APP, { ...SQL_PROXY, livenessProbe: { tcpSocket: { port: 5432 }, successThreshold: 3 } }])),
    own('leaves a helper with startupProbe.successThreshold 2 to the webhook', 'webhook-only', job('startup-threshold', [APP, { ...SQL_PROXY, startupProbe: { tcpSocket: { port: 5432 }, successThreshold: 2 } }])),
    own('leaves a helper whose readiness probe sets terminationGracePeriodSeconds to the webhook', 'webhook-only', job('readiness-grace', [APP, { ...SQL_PROXY, readinessProbe: { tcpSocket: { port: 5432 }, terminationGracePeriodSeconds: 10 } }])),
    own('leaves a helper with its own restartPolicy OnFailure (container restart rules) to the webhook', 'webhook-only', job('container-on-failure', [APP, { ...SQL_PROXY, restartPolicy: 'OnFailure' }])),
    own('leaves a helper with restartPolicyRules to the webhook', 'webhook-only', job('restart-rules', [APP, { ...SQL_PROXY, restartPolicy: 'Never', restartPolicyRules: [{ action: 'Restart', exitCodes: { operator: 'In', values: [42] } }] }])),
    own('leaves a Job with a tail -F container beside a helper to the webhook', 'webhook-only', withLogs(job('helper-and-tail', [APP, FLUENT_BIT, TAILER]))),
    own('leaves a Job with a finite sleep beside a helper to the webhook (CEL cannot tell it ends)', 'webhook-only', withLogs(job('helper-and-sleep', [APP, FLUENT_BIT, { name: 'warmup', image: 'busybox:1.36', command: ['sh', '-c', 'sleep 5; echo warm'] }]))),
    own('never moves the main container the default-container annotation names, even a helper image', 'unchanged', job('default-helper', [SQL_PROXY, APP], { templateAnnotations: { 'kubectl.kubernetes.io/default-container': 'cloud-sql-proxy' } })),
    own('keeps the first of two helpers as the main container and moves the other', 'migrated', withLogs(job('all-helpers', [SQL_PROXY, FLUENT_BIT]))),
    own('skips a medium-confidence helper listed first when choosing the main container', 'migrated', job('reloader-first', [{ name: 'config-reloader', image: 'jimmidyson/configmap-reload:v0.13.1' }, APP, { name: 'promtail', image: 'grafana/promtail:3.4.0' }])),
    own('leaves Argo Workflows pods alone', 'unchanged', job('argo', [APP, SQL_PROXY], { templateLabels: { 'workflows.argoproj.io/workflow': 'nightly' } })),
    own('leaves Tekton steps alone', 'unchanged', withLogs(job('tekton', [{ name: 'step-build', image: 'golang:1.23', command: ['go', 'build'] }, { ...FLUENT_BIT, name: 'sidecar-logs' }]))),
    own('leaves Airflow pods alone', 'unchanged', job('airflow', [{ name: 'base', image: 'apache/airflow:2.10.0' }, { name: 'airflow-xcom-sidecar', image: 'alpine:3.20', command: ['sh', '-c', 'trap "exit 0" INT; while true; do sleep 1; done;'] }, { ...OTEL }])),
    own('sets Istio\'s native-sidecar switch on a pod template Istio will inject', 'migrated', job('istio-label', [APP], { templateLabels: { 'sidecar.istio.io/inject': 'true' } })),
    own('moves a helper and sets the switch for an istio.io/rev pod template', 'migrated', withLogs(job('istio-rev', [APP, FLUENT_BIT], { templateLabels: { 'istio.io/rev': 'canary' } }))),
    own('keeps an explicit sidecar.istio.io/nativeSidecar: "false"', 'unchanged', job('istio-native-false', [APP], { templateLabels: { 'sidecar.istio.io/inject': 'true' }, templateAnnotations: { 'sidecar.istio.io/nativeSidecar': 'false' } })),
    own('sets Linkerd\'s native-sidecar switches on a pod template Linkerd will inject', 'migrated', job('linkerd', [APP], { templateAnnotations: { 'linkerd.io/inject': 'enabled' } })),
    own('changes nothing in a pod spec with a duplicate container name (the API server rejects it)', 'unchanged', job('duplicate-names', [APP, SQL_PROXY], { initContainers: [{ ...WAIT_FOR_DB, name: 'cloud-sql-proxy' }] })),
    own('recognises a helper image behind a registry port, with tag and digest', 'migrated', job('registry-port', [APP, { name: 'mesh', image: `registry.local:5000/mirror/istio/proxyv2:1.24.0@sha256:${'a'.repeat(64)}` }])),
    own('creates the pod template metadata when there is none', 'migrated', job('bare-template', [APP, SQL_PROXY], { bareTemplate: true })),
    own('migrates objects labelled podpatterns.io/ignore like any other: no selector skips them unseen', 'migrated', job('ignored', [APP, SQL_PROXY], { labels: { 'podpatterns.io/ignore': 'true' } })),
    own('migrates a Job whose helper uses a pre-native workaround and whose podFailurePolicy reads exit codes (the warnings stay the webhook\'s)', 'migrated', job('workarounds', [{ ...APP, command: ['sh', '-c', '/bin/export --all; curl -X POST localhost:9091/quitquitquit'] }, { ...SQL_PROXY, args: [...SQL_PROXY.args, '--quitquitquit'] }], { jobSpec: { podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { operator: 'NotIn', values: [0] } }] } } })),
    own('leaves a single-container Job alone', 'unchanged', job('single', [SQL_PROXY])),
    own('moves 49 recognised helpers out of a 50-container Job', 'migrated', job('fifty-helpers', [APP, ...manyContainers(49, (index) => HELPER_IMAGES[index % HELPER_IMAGES.length]!)])),
    own('moves the 49 containers the annotation names out of a 50-container Job', 'migrated', job('fifty-named', [APP, ...manyContainers(49, (index) => `registry.example.com/tools/worker-${index}:1.0`)], {
      annotations: names(manyContainers(49, () => '').map((container) => container.name).join(',')),
    })),
    own('migrates a bare Pod with a helper when Pods are opted in', 'migrated', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bare-pod' },
      spec: { restartPolicy: 'Never', containers: [APP, SQL_PROXY] },
    }),
    own('leaves a Pod that has an owner alone', 'unchanged', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'owned-pod', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'export', uid: '6f1c3c1e-2f1a-4a43-9d43-0c7f2a1f4e11' }] },
      spec: { restartPolicy: 'Never', containers: [APP, SQL_PROXY] },
    }),
    own('migrates a CronJob\'s job template when CronJobs are opted in', 'migrated', {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly-export' },
      spec: { schedule: '0 3 * * *', jobTemplate: { metadata: { annotations: names('envoy') }, spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [APP, ENVOY] } } } } },
    }),
  ];
}

/** The migration's examples from the articles in ../shared/seeds, as the unit tests transcribe them (001 is read from its file). */
function seedFixtures(): MigrationFixture[] {
  const seed = (title: string, expected: Outcome, name: string, text: string): MigrationFixture => {
    const object = one(text);
    object.metadata = { ...object.metadata, name };
    return { source: 'seed', title, object, expected };
  };
  return [
    seed('article 000: the classic promtail log shipper in a Job', 'migrated', 'seed-000-classic', seedJob(CLASSIC_000)),
    seed('article 000: the native form of the same Job', 'unchanged', 'seed-000-native', seedJob(NATIVE_000)),
    seed('article 003: "Before", a never-ending init container (not a classic sidecar)', 'unchanged', 'seed-003-before', seedJob(BEFORE_003)),
    seed('article 003: "After", restartPolicy: Always on an entry of containers', 'migrated', 'seed-003-after', seedJob(AFTER_003)),
    seed('article 002: the Pod Istio injects', 'migrated', 'seed-002-istio', ISTIO_POD_002),
    ...(existsSync(SEEDS) ? [seed('article 001: the log-shipping Pod', 'migrated', 'seed-001-pod', logShipperPod001())] : []),
  ];
}

/** What the README's rule examples (bad and fixed) of Jobs, CronJobs and Pods become; the rest stay as they are. */
const README_MIGRATED: ReadonlySet<string> = new Set([
  'classic-sidecar-in-job bad',
  'restart-policy-on-container bad',
  'memory-emptydir-no-size-limit bad',
  'memory-emptydir-no-size-limit fixed',
]);

function readmeFixtures(): MigrationFixture[] {
  return ALL_RULES.flatMap((rule) =>
    (['bad', 'fixed'] as const).flatMap((which) =>
      parseAllDocuments(rule.example[which])
        .map((document) => document.toJS() as KubeObject)
        .filter((object) => ['Job', 'CronJob', 'Pod'].includes(String(object?.kind)))
        .map((object, index) => {
          object.metadata = { ...object.metadata, name: `readme-${rule.id}-${which}${index > 0 ? `-${index}` : ''}`.slice(0, 63) };
          return { source: 'README', title: `${rule.id} ${which} example`, object, expected: README_MIGRATED.has(`${rule.id} ${which}`) ? 'migrated' : 'unchanged' } satisfies MigrationFixture;
        }),
    ),
  );
}

const REAL_WORLD_OUTCOMES: Readonly<Record<string, Outcome>> = {
  'istio-injected-classic-sidecar.yaml Job/pi': 'migrated',
  'istio-injected-classic-sidecar.yaml CronJob/hellocron': 'migrated',
  // The log shipper is recognised by its `tail -F` alone.
  'k8s-website-classic-multicontainer.yaml Job/myjob': 'webhook-only',
};

/** Every Job and CronJob of ../shared/real-world, and each CronJob's job template as the Job it creates. */
function realWorldFixtures(): MigrationFixture[] {
  return realWorldObjects(['Job', 'CronJob']).flatMap(({ file, object }, index) => {
    const key = `${file} ${object.kind}/${object.metadata?.name}`;
    const expected = REAL_WORLD_OUTCOMES[key] ?? 'unchanged';
    const name = `rw-${index}-${object.metadata?.name ?? ''}`.slice(0, 52).replace(/-+$/, '');
    const copy = structuredClone(object);
    copy.metadata = { ...copy.metadata, name };
    delete copy.metadata.namespace;
    const fixtures: MigrationFixture[] = [{ source: 'real-world', title: key, object: copy, expected }];
    if (object.kind === 'CronJob') {
      const template = (object.spec as { jobTemplate: { metadata?: JsonObject; spec: JsonObject } }).jobTemplate;
      fixtures.push({
        source: 'real-world',
        title: `${key}'s job template, as the Job it creates`,
        object: { apiVersion: 'batch/v1', kind: 'Job', metadata: { ...structuredClone(template.metadata ?? {}), name: `${name}-job` }, spec: structuredClone(template.spec) },
        expected,
      });
    }
    return fixtures;
  });
}

export interface FixtureSet {
  fixtures: MigrationFixture[];
  /** One line each for corpora that are absent here and so left out. */
  missing: string[];
}

export function migrationFixtures(): FixtureSet {
  const missing: string[] = [];
  const fixtures = [...ownFixtures(), ...readmeFixtures()];
  fixtures.push(...seedFixtures());
  if (!existsSync(SEEDS)) missing.push('../shared/seeds is absent: article 001\'s Pod is left out');
  if (existsSync(REAL_WORLD)) fixtures.push(...realWorldFixtures());
  else missing.push('../shared/real-world is absent: the real-world Jobs are left out');
  return { fixtures, missing };
}
