import { asNumber, asString, isObject } from '../model/kube.js';
import { runTogether, type ContainerModel } from '../model/pod.js';
import type { Rule, RuleFinding } from '../engine/types.js';

interface DeclaredPort {
  container: ContainerModel;
  field: 'containerPort' | 'hostPort';
  port: number;
  protocol: string;
  /** For hostPort: the API server's uniqueness check keys on protocol, hostIP and port. */
  hostIP: string;
  path: string;
}

type PortFacts = {
  /** The container that declared the port first. */
  other: string;
  field: 'containerPort' | 'hostPort';
  port: number;
  protocol: string;
};

/**
 * Containers of a pod share one network namespace: two of them cannot bind the same port at the same time.
 * A hostPort is the node's: the API server rejects the same protocol/hostIP/hostPort on two entries of
 * `containers` ("Duplicate value"; checkHostPortConflicts in pkg/apis/core/validation/validation.go, for pods
 * and pod templates alike), while init containers, native sidecars included, are only checked one by one.
 */
export const portConflict: Rule<PortFacts> = {
  id: 'port-conflict',
  defaultSeverity: 'deny',
  summary: 'Two containers that run at the same time declare the same port and protocol.',
  description:
    'All containers of a pod share one network namespace. When two containers that run at the same time ' +
    'declare the same `containerPort` and protocol and both listen on it, the second one to bind fails ' +
    '(`address already in use`) and usually crash-loops; the API server only warns about the duplicate. ' +
    'Regular init containers run one at a time and exit before the app starts, so they never clash with it; a ' +
    'native sidecar (`restartPolicy: Always`) keeps running, so it clashes with every container that starts ' +
    'after it. A `hostPort` is a port of the node, published for the pod: the API server rejects a pod or pod ' +
    'template in which two entries of `containers` declare the same `hostPort`, protocol and `hostIP` ' +
    '("Duplicate value"), so the workload is never created and the webhook never sees it; `podpatterns audit` ' +
    'reports it before it is applied. Another pod holding that port on a node is a scheduling matter: the ' +
    'scheduler keeps the two apart. Fix: give one of the containers another port and tell the process to ' +
    'listen there, or drop the duplicate declaration.',
  example: {
    bad: `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: app
      image: registry.example.com/web:1.4.2
      ports:
        - containerPort: 8080
    - name: metrics-proxy
      image: registry.example.com/metrics-proxy:0.9.0
      ports:
        - containerPort: 8080
`,
    fixed: `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: app
      image: registry.example.com/web:1.4.2
      ports:
        - containerPort: 8080
    - name: metrics-proxy
      image: registry.example.com/metrics-proxy:0.9.0
      args: ["--listen=:9090"]
      ports:
        - containerPort: 9090
`,
  },
  problem: ({ other, field, port, protocol }) =>
    field === 'hostPort'
      ? `repeats hostPort ${port}/${protocol} of '${other}': rejected`
      : `shares port ${port}/${protocol} with '${other}': one fails to bind`,
  evaluate({ pods }) {
    const findings: RuleFinding<PortFacts>[] = [];
    for (const pod of pods) {
      // The first earlier entry a later one can clash with is the first that could clash with anything: the first
      // long-running container for a containerPort (see runTogether), the first regular container for a hostPort.
      // One entry per key keeps a pod of any size linear.
      const firstCandidate = new Map<string, DeclaredPort>();
      for (const later of pod.containers.flatMap(portsOf)) {
        const key = `${later.field}/${later.port}/${later.protocol}/${later.field === 'hostPort' ? later.hostIP : ''}`;
        const first = firstCandidate.get(key);
        const candidate = later.field === 'hostPort' ? later.container.kind === 'regular' : later.container.kind !== 'init';
        if (!first && candidate) firstCandidate.set(key, later);
        const earlier = first && clash(first, later) ? first : undefined;
        if (!earlier) continue;
        const [a, b] = [earlier.container.name, later.container.name];
        const facts = { other: a, field: later.field, port: later.port, protocol: later.protocol };
        findings.push(
          later.field === 'hostPort'
            ? {
                container: b,
                path: later.path,
                facts,
                message:
                  `containers '${a}' and '${b}' both declare hostPort ${later.port}/${later.protocol}${later.hostIP ? ` on ${later.hostIP}` : ''}: ` +
                  `the API server rejects the ${pod.kind || 'object'} (${later.path}: Duplicate value: ` +
                  `"${later.protocol}/${later.hostIP}/${later.port}"), so it is never created. A hostPort is a port of the node, published once for the pod.`,
                fix:
                  `Give '${b}' another hostPort (change ${later.path}), or remove the hostPort from ${later.path} if only '${a}' must be reached on the node's port.`,
              }
            : {
                container: b,
                path: later.path,
                facts,
                message:
                  `containers '${a}' and '${b}' both declare port ${later.port}/${later.protocol} and run at the same time: they share ` +
                  `the pod's network namespace, so if both listen on it the second to bind fails with 'address already in use' and usually crash-loops.`,
                fix: `Move '${b}' to another port (change ${later.path} and the port its process listens on), or drop the duplicate declaration if only one of them really listens.`,
              },
        );
      }
    }
    return findings;
  },
};

/**
 * Two containerPorts clash when both containers run at once; two hostPorts when the API server's check sees
 * both, that is when both are entries of `containers`.
 */
function clash(earlier: DeclaredPort, later: DeclaredPort): boolean {
  if (later.field === 'hostPort') return earlier.container !== later.container && earlier.container.kind === 'regular' && later.container.kind === 'regular';
  return runTogether(earlier.container, later.container);
}

function portsOf(container: ContainerModel): DeclaredPort[] {
  const ports = Array.isArray(container.spec.ports) ? container.spec.ports : [];
  const declared: DeclaredPort[] = [];
  ports.forEach((entry, index) => {
    if (!isObject(entry)) return;
    const protocol = (asString(entry.protocol) ?? 'TCP').toUpperCase();
    for (const field of ['containerPort', 'hostPort'] as const) {
      const port = asNumber(entry[field]);
      if (port === undefined || port <= 0) continue;
      declared.push({ container, field, port, protocol, hostIP: asString(entry.hostIP) ?? '', path: `${container.path}.ports[${index}].${field}` });
    }
  });
  return dedupeWithinContainer(declared);
}

/** The same port twice in one container (e.g. once per name) is one bind, not a conflict. */
function dedupeWithinContainer(ports: DeclaredPort[]): DeclaredPort[] {
  const seen = new Set<string>();
  return ports.filter((p) => {
    const key = `${p.field}/${p.port}/${p.protocol}/${p.hostIP}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
