import { asNumber, isObject } from '../model/kube.js';
import type { ContainerModel, PodModel } from '../model/pod.js';
import type { Rule, RuleFinding } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;

type LocalhostFacts = { port: number };
const PROBE_HANDLERS = ['httpGet', 'tcpSocket', 'grpc'] as const;

interface InjectedSidecar {
  name: string;
  ports: readonly number[];
  /** Pod annotation or label keys (or key prefixes ending in `/`) that ask for the injection, unless set to "false". */
  keys: readonly string[];
  container: RegExp;
}

/**
 * Mesh and runtime sidecars that admission webhooks add to the pod after the manifest is written: an app that
 * talks to them (`localhost:15020/quitquitquit`, `localhost:3500`) is right even though the manifest shows no
 * such container. Ports from the projects' docs (Istio "Ports used by Istio", Linkerd proxy, Dapr sidecar).
 */
const INJECTED_SIDECARS: readonly InjectedSidecar[] = [
  { name: 'istio-proxy', ports: [15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15053, 15090], keys: ['sidecar.istio.io/', 'proxy.istio.io/', 'istio.io/rev'], container: /^istio-proxy$/ },
  { name: 'linkerd-proxy', ports: [4140, 4143, 4190, 4191], keys: ['linkerd.io/inject', 'config.linkerd.io/', 'config.alpha.linkerd.io/', 'config.beta.linkerd.io/'], container: /^linkerd-proxy$/ },
  { name: 'daprd', ports: [3500, 9090, 50001, 50002], keys: ['dapr.io/enabled'], container: /^daprd$/ },
];

/** Containers of a pod share one loopback interface: `localhost:PORT` only answers if a container of the pod listens there. */
export const localhostPortNotDeclared: Rule<LocalhostFacts> = {
  id: 'localhost-port-not-declared',
  defaultSeverity: 'warn',
  kinds: POD_BEARING_KINDS,
  summary: 'A container is told to reach localhost:PORT but no container of the pod serves that port.',
  description:
    'Containers of a pod share one network namespace, so an app reaches its ambassador or sidecar on ' +
    '`localhost:PORT`. When an env value or argument points at a loopback port (`localhost`, `127.0.0.1`, `[::1]`, ' +
    'or a `*_HOST=localhost` with its `*_PORT`) that no container declares as a `containerPort`, probes, or is told ' +
    'to listen on in its own args or env (`--port=8081`, `--web.listen-address=127.0.0.1:9101`, ' +
    '`LISTEN_ADDR=127.0.0.1:4140`, a Cloud SQL proxy\'s `=tcp:3306`), the connection is refused at runtime: ' +
    'typically an ambassador wired to the wrong port, or a sidecar that was renamed or removed. An address in a ' +
    'flag or variable whose name says it is the container\'s own listener (listen, bind, serve, or a bare ' +
    '`--port`/`--address`/`--http-endpoint`) is a listener, not a connection, and the well-known ports of mesh ' +
    'sidecars the pod asks to have injected (Istio, Linkerd, Dapr annotations) count as served. Pods with `hostNetwork` are skipped: ' +
    'their localhost is the node\'s, where node daemons listen too. Fix: point the address at the port the ' +
    'sidecar listens on, or declare the port in the `ports` of the container that serves it.',
  example: {
    bad: `apiVersion: v1
kind: Pod
metadata:
  name: orders
spec:
  containers:
    - name: orders
      image: registry.example.com/orders:1.8.0
      env:
        - name: DB_HOST
          value: localhost:5433
    - name: pgbouncer
      image: bitnami/pgbouncer:1.23.1
      env:
        - name: PGBOUNCER_PORT
          value: "5432"
        - name: POSTGRESQL_HOST
          value: postgres-primary.database.svc.cluster.local
      ports:
        - containerPort: 5432
      resources:
        requests: { cpu: 50m, memory: 32Mi }
`,
    fixed: `apiVersion: v1
kind: Pod
metadata:
  name: orders
spec:
  containers:
    - name: orders
      image: registry.example.com/orders:1.8.0
      env:
        - name: DB_HOST
          value: localhost:5432
    - name: pgbouncer
      image: bitnami/pgbouncer:1.23.1
      env:
        - name: PGBOUNCER_PORT
          value: "5432"
        - name: POSTGRESQL_HOST
          value: postgres-primary.database.svc.cluster.local
      ports:
        - containerPort: 5432
      resources:
        requests: { cpu: 50m, memory: 32Mi }
`,
  },
  problem: ({ port }) => `connects to undeclared localhost:${port}`,
  evaluate({ pods }) {
    const findings: RuleFinding<LocalhostFacts>[] = [];
    for (const pod of pods) {
      // With hostNetwork, localhost is the node's loopback: kubelet and node daemons answer there.
      if (pod.spec.hostNetwork === true || !pod.containers.some(mentionsLoopback)) continue;
      const served = servedPorts(pod);
      const seen = new Set<string>();
      let listed: { known: string[]; ports: string } | undefined;
      for (const container of pod.containers) {
        for (const mention of container.endpoints.connects) {
          const key = `${mention.path}/${mention.port}`;
          if (served.has(mention.port) || seen.has(key)) continue;
          seen.add(key);
          listed ??= listing(served);
          const { known } = listed;
          findings.push({
            container: container.name,
            path: mention.path,
            facts: { port: mention.port },
            message:
              `container '${container.name}' connects to ${mention.text} (${mention.source}), but no container of the pod declares ` +
              `port ${mention.port}, probes it or is told to listen on it in its args or env: unless a process listens there ` +
              `undeclared (a port set only in a config file), the connection is refused, an ambassador or sidecar wired to the ` +
              `wrong port` + (known.length > 0 ? `; the pod serves ${known.join(', ')}.` : '; the pod declares no ports.'),
            fix:
              `Point ${mention.source} of container '${container.name}' (${mention.path}) at the port the intended container listens on` +
              (known.length > 0 ? ` (one of ${listed.ports})` : '') +
              `, or, if a container does listen on ${mention.port}, add \`containerPort: ${mention.port}\` to its ports.`,
          });
        }
      }
    }
    return findings;
  },
  cel: () => ({
    unavailable: 'webhook-only',
    reason:
      'reading the addresses a container connects to and listens on out of its env values and arguments (URLs, host:port pairs, ' +
      'listen flags, *_HOST/*_PORT pairs, injected mesh sidecars) needs the engine\'s endpoint parser, which CEL does not reproduce',
  }),
};

const LOOPBACK = /localhost|127\.0\.0\.1|::1/i;

/** A cheap first look: most pods name no loopback address at all, and parsing their endpoints is the costly part. */
function mentionsLoopback(container: ContainerModel): boolean {
  const { args, command, env } = container.spec;
  if (anyLoopback(args) || anyLoopback(command)) return true;
  if (!Array.isArray(env)) return false;
  for (const entry of env) if (isObject(entry) && typeof entry.value === 'string' && LOOPBACK.test(entry.value)) return true;
  return false;
}

function anyLoopback(list: unknown): boolean {
  if (!Array.isArray(list)) return false;
  for (const text of list) if (typeof text === 'string' && LOOPBACK.test(text)) return true;
  return false;
}

/** At most this many ports (and containers per port) are spelled out in a message; the rest are counted. */
const LISTED = 10;

/** The served ports in order, for messages: `8080 ('app')`, and the bare numbers. */
function listing(served: ReadonlyMap<number, ReadonlySet<string>>): { known: string[]; ports: string } {
  const ports = [...served.keys()].sort((a, b) => a - b);
  const more = (count: number): string[] => (count > LISTED ? [`${count - LISTED} more`] : []);
  const known = ports.slice(0, LISTED).map((port) => {
    const names = [...served.get(port)!];
    return `${port} (${[...names.slice(0, LISTED), ...more(names.length)].join(', ')})`;
  });
  return { known: [...known, ...more(ports.length)], ports: [...ports.slice(0, LISTED), ...more(ports.length)].join(', ') };
}

/** Ports some container of the pod serves: declared, probed, or named in its own listen flags and env. */
function servedPorts(pod: PodModel): Map<number, Set<string>> {
  const served = new Map<number, Set<string>>();
  const add = (port: number | undefined, name: string): void => {
    if (port === undefined) return;
    const names = served.get(port);
    if (names) names.add(`'${name}'`);
    else served.set(port, new Set([`'${name}'`]));
  };
  for (const container of pod.containers) {
    for (const entry of container.ports) add(entry.containerPort, container.name);
    for (const probe of PROBES) {
      const spec = container.spec[probe];
      if (!isObject(spec)) continue;
      for (const handler of PROBE_HANDLERS) {
        const action = spec[handler];
        if (isObject(action)) add(asNumber(action.port), container.name);
      }
    }
    for (const listen of container.endpoints.listens) add(listen.port, container.name);
  }
  // `sidecar.istio.io/inject: "false"` and the like opt out.
  const keys = Object.entries({ ...pod.annotations, ...pod.labels }).filter(([, value]) => value !== 'false').map(([key]) => key);
  for (const sidecar of INJECTED_SIDECARS) {
    const asked = keys.some((key) => sidecar.keys.some((wanted) => (wanted.endsWith('/') ? key.startsWith(wanted) : key === wanted)));
    if (asked || pod.containers.some((c) => sidecar.container.test(c.name))) {
      for (const port of sidecar.ports) add(port, `${sidecar.name} (injected)`);
    }
  }
  return served;
}
