import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Rule } from '../../../src/engine/types.js';
import { AFTER_003, BEFORE_003, CLASSIC_000, deployment, ISTIO_POD_002, job, logShipperPod001, NATIVE_000 } from '../../migration/seed-examples.js';
import { isObject, type KubeObject } from '../../../src/model/kube.js';
import { POD_BEARING_KINDS, objectsIn } from '../../../src/model/workload.js';
import { realWorldCorpus, seedArticles } from '../../support/corpus.js';

/** One object the differential test sends to the API server and to `podpatterns audit`. */
export interface DifferentialCase {
  /** Where it comes from, for reports: `real-world/istio-bookinfo.yaml#3`, `example port-conflict bad`. */
  source: string;
  object: KubeObject;
}

/** Every pod-bearing object of every manifest in the real-world corpus (List items included); none when it is absent. */
export function realWorldCases(): DifferentialCase[] {
  if (!realWorldCorpus.available) return [];
  const directory = realWorldCorpus.dir;
  return readdirSync(directory)
    .filter((file) => /\.ya?ml$/.test(file))
    .sort()
    .flatMap((file) => podBearing(readFileSync(join(directory, file), 'utf8'), `real-world/${file}`));
}

/**
 * The seed articles' manifests: the examples transcribed in test/migration/seed-examples.ts (the articles' text
 * lost its indentation in places), and every block that parses as printed, from an `apiVersion:` line to the
 * next line that is neither YAML nor blank (blocks without a pod spec are left out).
 */
export function seedCases(): DifferentialCase[] {
  if (!seedArticles.available) return [];
  const directory = seedArticles.dir;
  const transcribed: Array<[string, string]> = [
    ['000 classic Deployment', deployment(CLASSIC_000)],
    ['000 native Deployment', deployment(NATIVE_000)],
    ['000 classic, in a Job', job(CLASSIC_000)],
    ['000 native, in a Job', job(NATIVE_000)],
    ['003 before', job(BEFORE_003)],
    ['003 after', job(AFTER_003)],
    ['001 log-shipping Pod', logShipperPod001()],
    ['002 Istio-injected Pod', ISTIO_POD_002],
  ];
  const printed = readdirSync(directory)
    .filter((file) => file.endsWith('.txt'))
    .sort()
    .flatMap((file) => yamlBlocks(readFileSync(join(directory, file), 'utf8')).flatMap((block, index) => podBearing(block, `seeds/${file}#${index}`)))
    .filter(({ object }) => hasContainers(object));
  return [...transcribed.flatMap(([name, text]) => podBearing(text, `seed ${name}`)), ...printed];
}

/** Every rule's bad and fixed README example. */
export function exampleCases(rules: readonly Rule[]): DifferentialCase[] {
  return rules.flatMap((rule) => [
    ...podBearing(rule.example.bad, `example ${rule.id} bad`),
    ...podBearing(rule.example.fixed, `example ${rule.id} fixed`),
  ]);
}

function podBearing(text: string, source: string): DifferentialCase[] {
  const cases: DifferentialCase[] = [];
  parseAllDocuments(text).forEach((document, index) => {
    if (document.errors.length > 0) return;
    for (const { object } of objectsIn(document.toJS())) {
      if (POD_BEARING_KINDS.includes(object.kind ?? '')) cases.push({ source: `${source}#${index}`, object });
    }
  });
  return cases;
}

function yamlBlocks(text: string): string[] {
  const blocks: string[] = [];
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (/^apiVersion:\s*\S/.test(line)) {
      if (current) blocks.push(current.join('\n'));
      current = [line];
    } else if (current && (/^(\s+|- |[\w.-]+:|---\s*$|#|\s*$)/.test(line))) {
      current.push(line);
    } else if (current) {
      blocks.push(current.join('\n'));
      current = undefined;
    }
  }
  if (current) blocks.push(current.join('\n'));
  return blocks;
}

function hasContainers(object: KubeObject): boolean {
  const specs = [object.spec, isObject(object.spec) ? (object.spec as Record<string, unknown>).template : undefined, object.template];
  return JSON.stringify(specs).includes('"containers":[{');
}

const PINNED = 'registry.example.com/tool:1.0.0';

/**
 * Objects at the sizes the issue names as worst cases: 100 containers with 20 ports each (distinct, and all
 * declaring the same 20), 50 init containers, and scripts of tens of kilobytes.
 */
export function worstCaseCases(): DifferentialCase[] {
  const ports = (base: number) => Array.from({ length: 20 }, (_, j) => ({ containerPort: base + j }));
  const containers = (count: number, portsOf: (i: number) => Array<{ containerPort: number }>) =>
    Array.from({ length: count }, (_, i) => ({ name: `c${i}`, image: PINNED, ports: portsOf(i), resources: { requests: { cpu: '10m', memory: '16Mi' } } }));
  const pod = (name: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec });
  const longScript = Array.from({ length: 2000 }, (_, i) => `echo step ${i} >> /tmp/log;`).join(' ');
  const inits = (count: number) =>
    Array.from({ length: count }, (_, i) => ({
      name: `init${i}`,
      image: PINNED,
      ...(i % 2 === 1 && { restartPolicy: 'Always', resources: { requests: { cpu: '10m', memory: '16Mi' } } }),
      command: ['sh', '-c', `until nc -z db-${i} 5432; do sleep 2; done; ${longScript.slice(0, 2000)}`],
      ports: ports(20000 + i * 20),
    }));
  return [
    { source: 'worst case: 100 containers × 20 distinct ports', object: pod('wide-distinct', { containers: containers(100, (i) => ports(10000 + i * 20)) }) },
    { source: 'worst case: 100 containers × the same 20 ports', object: pod('wide-conflict', { containers: containers(100, () => ports(8000)) }) },
    {
      source: 'worst case: 50 init containers (every other one a native sidecar) and 20 containers',
      object: pod('deep-init', { initContainers: inits(50), containers: containers(20, (i) => ports(30000 + i * 20)) }),
    },
    {
      source: 'worst case: scripts of ~70 kB in command and args',
      object: pod('long-commands', {
        initContainers: [{ name: 'setup', image: PINNED, command: ['sh', '-c', `${longScript} ${longScript}`] }],
        containers: [
          { name: 'app', image: PINNED, command: ['sh', '-c'], args: [`${longScript} exec server`] },
          { name: 'helper', image: PINNED, command: ['sh', '-c', `${longScript}; while true; do sleep 5; done`], resources: { requests: { cpu: '10m', memory: '16Mi' } } },
        ],
      }),
    },
  ];
}

/**
 * Beyond the worst cases: 1,310 distinct ports that all end in 00 (every multiple of 100 under TCP and UDP) fall
 * into one of port-conflict's buckets, whose search then passes the per-expression cost limit.
 */
export function beyondBudgetCase(): DifferentialCase {
  const ports = [...Array.from({ length: 655 }, (_, i) => ({ containerPort: (i + 1) * 100 })), ...Array.from({ length: 655 }, (_, i) => ({ containerPort: (i + 1) * 100, protocol: 'UDP' }))];
  const containers = Array.from({ length: Math.ceil(ports.length / 20) }, (_, i) => ({
    name: `c${i}`,
    image: PINNED,
    ports: ports.slice(i * 20, i * 20 + 20),
    resources: { requests: { cpu: '10m', memory: '16Mi' } },
  }));
  return { source: 'beyond the budget: 1,310 ports in one bucket', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'beyond' }, spec: { containers } } };
}

/**
 * Pods and workloads nobody wrote by hand: fast-check draws them (a fixed seed, so a run can be repeated) from
 * the pieces the compiled rules look at: init containers and native sidecars, ports that collide or not,
 * helper and unpinned images, privileges, restart policies, preStop sleeps, memory emptyDirs and shared mounts,
 * the default-container annotation. Objects the API server refuses are counted and left out by the caller.
 */
export function generatedCases(count: number, seed = 20261203): DifferentialCase[] {
  const images = fc.constantFrom(
    'registry.example.com/app:1.2.3', 'busybox', 'nginx:latest', 'fluent/fluent-bit:3.0.7', 'docker.io/istio/proxyv2:1.24.0',
    'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0', 'quay.io/brancz/kube-rbac-proxy:v0.18.2', 'prom/node-exporter:main',
    'registry.example.com/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', 'localhost:5000/tool',
  );
  const port = fc.record({ containerPort: fc.constantFrom(53, 80, 8080, 9090, 15090), protocol: fc.constantFrom(undefined, 'TCP', 'UDP'), name: fc.constantFrom(undefined, 'http', 'metrics', 'dns') });
  const securityContext = fc.constantFrom(
    undefined, { privileged: true }, { capabilities: { add: ['NET_ADMIN'] } }, { capabilities: { add: ['cap_sys_admin', 'NET_ADMIN'] } }, { capabilities: { drop: ['ALL'] } },
    { capabilities: { add: ['NET_BIND_SERVICE', 'all'] } }, { capabilities: { add: ['SYS_PTRACE', 'NET_ADMIN'] } }, { allowPrivilegeEscalation: true },
    { runAsNonRoot: true, runAsUser: 1000, capabilities: { drop: ['ALL'] } },
  );
  // Probes on a named port the container may lack, one of the pod's names, or a number.
  const probe = fc.constantFrom(undefined, undefined, { httpGet: { path: '/ready', port: 'http' } }, { tcpSocket: { port: 'metrics' } }, { tcpSocket: { port: 'admin' } }, { httpGet: { path: '/', port: 8080 } });
  const preStop = fc.constantFrom(
    undefined,
    ['sh', '-c', 'sleep 45 && curl -s -X POST http://127.0.0.1:8080/drain'],
    ['sleep', '20'],
    ['/bin/sleep', 'infinity'],
    ['sh', '-c', 'sleep 1m 30s; echo done'],
    ['sh', '-c', 'echo start; sleep 40 | tee /tmp/x'],
    ['bash', '-c', 'exec sleep .5m && sleep 5s'],
  );
  const mount = fc.record({ name: fc.constantFrom('data', 'cache', 'config', 'shm'), mountPath: fc.constantFrom('/data', '/var/cache', '/tmp', '/etc/app'), readOnly: fc.constantFrom(undefined, true, false), subPath: fc.constantFrom(undefined, 'a', 'a/b', '') });
  const container = (native: boolean) =>
    fc.record({
      image: images,
      ports: fc.array(port, { maxLength: 3 }),
      resources: fc.constantFrom(undefined, { requests: { cpu: '100m' } }, { requests: { cpu: '250m', memory: '64Mi' } }, { limits: { memory: '1.5Gi', cpu: '1' } }),
      securityContext,
      preStop: native ? preStop : fc.constant(undefined),
      mounts: fc.uniqueArray(mount, { maxLength: 3, selector: (entry) => entry.mountPath }),
      restartPolicy: native ? fc.constant('Always') : fc.constantFrom(undefined, undefined, 'Always'),
      probes: fc.record({ startupProbe: probe, readinessProbe: probe, livenessProbe: probe }),
    });
  const pod = fc.record({
    inits: fc.array(fc.oneof(container(false), container(true)), { maxLength: 3 }),
    regulars: fc.array(container(false), { minLength: 1, maxLength: 4 }),
    kind: fc.constantFrom('Pod', 'Deployment', 'Job', 'CronJob', 'StatefulSet', 'DaemonSet'),
    shareProcessNamespace: fc.constantFrom(undefined, true),
    hostNetwork: fc.constantFrom(undefined, undefined, true),
    hostPID: fc.constantFrom(undefined, undefined, true),
    hostIPC: fc.constantFrom(undefined, undefined, true),
    grace: fc.constantFrom(undefined, 10, 60),
    memoryVolume: fc.constantFrom('none', 'bounded', 'unbounded'),
    defaultContainer: fc.constantFrom(undefined, 'c1', 'missing'),
  });
  return fc.sample(pod, { seed, numRuns: count }).map((drawn, index) => ({ source: `generated #${index}`, object: generatedObject(drawn) }));
}

type Drawn = Record<string, unknown>;

function generatedObject(drawn: Drawn): KubeObject {
  const toContainer = (entry: Record<string, unknown>, name: string) => {
    const c: Record<string, unknown> = { name, image: entry.image };
    // A port name once per container: the API server refuses it twice in one.
    const names = new Set<unknown>();
    const ports = (entry.ports as Array<Record<string, unknown>>).map((p) => {
      const named = p.name !== undefined && !names.has(p.name);
      names.add(p.name);
      return { containerPort: p.containerPort, ...(p.protocol !== undefined && { protocol: p.protocol }), ...(named && { name: p.name }) };
    });
    if (ports.length > 0) c.ports = ports;
    // Probes only where the API server takes them: native sidecars and regular containers.
    if (name.startsWith('c') || entry.restartPolicy === 'Always') {
      for (const [field, value] of Object.entries(entry.probes as Record<string, unknown>)) if (value !== undefined) c[field] = value;
    }
    if (entry.resources) c.resources = entry.resources;
    if (entry.securityContext) c.securityContext = entry.securityContext;
    if (entry.restartPolicy) c.restartPolicy = entry.restartPolicy;
    if (entry.preStop) c.lifecycle = { preStop: { exec: { command: entry.preStop } } };
    const mounts = (entry.mounts as Array<Record<string, unknown>>).map((m) => Object.fromEntries(Object.entries(m).filter(([, value]) => value !== undefined)));
    if (mounts.length > 0) c.volumeMounts = mounts;
    return c;
  };
  const kind = drawn.kind as string;
  const runsToCompletion = kind === 'Job' || kind === 'CronJob';
  const spec: Record<string, unknown> = {
    ...((drawn.inits as unknown[]).length > 0 && { initContainers: (drawn.inits as Array<Record<string, unknown>>).map((entry, i) => toContainer(entry, `i${i}`)) }),
    containers: (drawn.regulars as Array<Record<string, unknown>>).map((entry, i) => toContainer(entry, `c${i}`)),
    volumes: [
      { name: 'data', emptyDir: {} },
      { name: 'cache', emptyDir: drawn.memoryVolume === 'none' ? {} : { medium: 'Memory', ...(drawn.memoryVolume === 'bounded' && { sizeLimit: '64Mi' }) } },
      { name: 'config', configMap: { name: 'app-config' } },
      { name: 'shm', emptyDir: { medium: 'Memory' } },
    ],
    ...(runsToCompletion && { restartPolicy: 'Never' }),
    ...(drawn.shareProcessNamespace !== undefined && { shareProcessNamespace: drawn.shareProcessNamespace }),
    ...(drawn.hostNetwork !== undefined && { hostNetwork: drawn.hostNetwork }),
    // The API server refuses hostPID together with shareProcessNamespace.
    ...(drawn.hostPID !== undefined && drawn.shareProcessNamespace === undefined && { hostPID: drawn.hostPID }),
    ...(drawn.hostIPC !== undefined && { hostIPC: drawn.hostIPC }),
    ...(drawn.grace !== undefined && { terminationGracePeriodSeconds: drawn.grace }),
  };
  const metadata = { labels: { app: 'generated' }, ...(drawn.defaultContainer !== undefined && { annotations: { 'kubectl.kubernetes.io/default-container': String(drawn.defaultContainer) } }) };
  const template = { metadata, spec };
  const selector = { matchLabels: { app: 'generated' } };
  switch (kind) {
    case 'Pod':
      return { apiVersion: 'v1', kind, metadata: { name: 'generated', ...metadata }, spec };
    case 'Job':
      return { apiVersion: 'batch/v1', kind, metadata: { name: 'generated' }, spec: { template } };
    case 'CronJob':
      return { apiVersion: 'batch/v1', kind, metadata: { name: 'generated' }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template } } } };
    case 'StatefulSet':
      return { apiVersion: 'apps/v1', kind, metadata: { name: 'generated' }, spec: { serviceName: 'generated', selector, template } };
    default:
      return { apiVersion: 'apps/v1', kind, metadata: { name: 'generated' }, spec: { selector, template } };
  }
}
