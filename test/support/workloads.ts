/**
 * Generated workloads for audits of large inputs (bench:audit, the parallel audit tests): Deployments, Jobs and
 * Pods of 1–4 containers, about a third of them with something a rule reports. The same seed gives the same
 * objects, so runs compare.
 */

export function generatedWorkloads(count: number, seed = 42): Array<Record<string, unknown>> {
  const next = random(seed);
  return Array.from({ length: count }, (_, index) => workload(next, index));
}

/** Deterministic, so runs compare. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}


const APPS = ['checkout', 'cart', 'catalog', 'payments', 'search', 'ledger', 'mailer', 'reports', 'billing', 'gateway'];
const SIDECARS = [
  { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.22.3', port: 15090 },
  { name: 'log-shipper', image: 'cr.fluentbit.io/fluent/fluent-bit:3.0.7', port: 2020 },
  { name: 'metrics', image: 'quay.io/prometheus/statsd-exporter:v0.26.1', port: 9102 },
  { name: 'config-reloader', image: 'ghcr.io/jimmidyson/configmap-reload:v0.13.1', port: 9533 },
];

function container(name: string, image: string, port: number, withResources: boolean, main: boolean): Record<string, unknown> {
  return {
    name,
    image,
    ports: [{ name: 'http', containerPort: port }],
    ...(main && { env: [{ name: 'LOG_LEVEL', value: 'info' }], readinessProbe: { httpGet: { path: '/ready', port } } }),
    ...(withResources && { resources: { requests: { cpu: '100m', memory: '128Mi' } } }),
  };
}

/** 1–4 containers; about a third of the objects carry something a rule reports. */
function podSpec(next: () => number, app: string, index: number, kind: string): Record<string, unknown> {
  const flawed = next() < 0.33;
  const tag = flawed && next() < 0.3 ? 'latest' : `1.${index % 40}.${index % 7}`;
  const containers = [container(app, `registry.example.com/shop/${app}:${tag}`, 8080, true, true)];
  const sidecars = Math.floor(next() * 4);
  for (let i = 0; i < sidecars; i++) {
    const sidecar = SIDECARS[i]!;
    const clash = flawed && i === 0 && next() < 0.2;
    containers.push(container(sidecar.name, sidecar.image, clash ? 8080 : sidecar.port, !flawed || next() < 0.5, false));
  }
  return {
    serviceAccountName: app,
    ...(kind === 'Job' ? { restartPolicy: 'Never' } : {}),
    containers,
    volumes: [{ name: 'tmp', emptyDir: flawed && next() < 0.3 ? { medium: 'Memory' } : {} }],
  };
}

function workload(next: () => number, index: number): Record<string, unknown> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const app = pick(APPS);
  const kind = pick(['Deployment', 'Deployment', 'Deployment', 'Job', 'Pod']);
  const metadata = {
    name: `${app}-${index}`,
    namespace: `team-${index % 25}`,
    labels: { 'app.kubernetes.io/name': app, 'app.kubernetes.io/instance': `${app}-${index}` },
  };
  const template = { metadata: { labels: { 'app.kubernetes.io/name': app } }, spec: podSpec(next, app, index, kind) };
  if (kind === 'Pod') return { apiVersion: 'v1', kind, metadata, spec: template.spec };
  if (kind === 'Job') return { apiVersion: 'batch/v1', kind, metadata, spec: { backoffLimit: 2, template } };
  return { apiVersion: 'apps/v1', kind, metadata, spec: { replicas: 3, selector: { matchLabels: { 'app.kubernetes.io/name': app } }, template } };
}
