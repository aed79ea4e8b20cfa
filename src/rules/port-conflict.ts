import { asNumber, asString, isObject } from '../model/kube.js';
import { runTogether, type ContainerModel } from '../model/pod.js';
import type { Rule, RuleFinding } from '../engine/types.js';

interface DeclaredPort {
  container: ContainerModel;
  field: 'containerPort' | 'hostPort';
  port: number;
  protocol: string;
  path: string;
}

/** Containers of a pod share one network namespace: two of them cannot bind the same port at the same time. */
export const portConflict: Rule = {
  id: 'port-conflict',
  defaultSeverity: 'deny',
  summary: 'Two containers that run at the same time declare the same port and protocol.',
  description:
    'All containers of a pod share one network namespace. When two containers that run at the same time ' +
    'declare the same `containerPort` (or `hostPort`) and protocol, the second one to start fails to bind ' +
    '(`address already in use`) and crash-loops. Regular init containers run one at a time and exit before the ' +
    'app starts, so they never clash with it; a native sidecar (`restartPolicy: Always`) keeps running, so it ' +
    'clashes with every container that starts after it. Fix: give one of the containers another port and ' +
    'tell the process to listen there.',
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
  evaluate({ pods }) {
    const findings: RuleFinding[] = [];
    for (const pod of pods) {
      // The first earlier container that runs together with a later one is the first long-running one (see
      // runTogether): one entry per field/port/protocol keeps a pod of any size linear.
      const firstLongRunning = new Map<string, DeclaredPort>();
      for (const later of pod.containers.flatMap(portsOf)) {
        const key = `${later.field}/${later.port}/${later.protocol}`;
        const first = firstLongRunning.get(key);
        if (!first && later.container.kind !== 'init') firstLongRunning.set(key, later);
        const earlier = first && runTogether(first.container, later.container) ? first : undefined;
        if (!earlier) continue;
        const what = later.field === 'hostPort' ? 'hostPort' : 'port';
        findings.push({
          container: later.container.name,
          path: later.path,
          message:
            `containers '${earlier.container.name}' and '${later.container.name}' both declare ${what} ${later.port}/${later.protocol} ` +
            `and run at the same time: the pod shares one network namespace, so the second to bind fails with ` +
            `'address already in use' and crash-loops.`,
          fix: `Move '${later.container.name}' to another ${what} (change ${later.path} and the port its process listens on), or drop the duplicate declaration if only one of them really listens.`,
        });
      }
    }
    return findings;
  },
};

function portsOf(container: ContainerModel): DeclaredPort[] {
  const ports = Array.isArray(container.spec.ports) ? container.spec.ports : [];
  const declared: DeclaredPort[] = [];
  ports.forEach((entry, index) => {
    if (!isObject(entry)) return;
    const protocol = (asString(entry.protocol) ?? 'TCP').toUpperCase();
    for (const field of ['containerPort', 'hostPort'] as const) {
      const port = asNumber(entry[field]);
      if (port === undefined || port <= 0) continue;
      declared.push({ container, field, port, protocol, path: `${container.path}.ports[${index}].${field}` });
    }
  });
  return dedupeWithinContainer(declared);
}

/** The same port twice in one container (e.g. once per name) is one bind, not a conflict. */
function dedupeWithinContainer(ports: DeclaredPort[]): DeclaredPort[] {
  const seen = new Set<string>();
  return ports.filter((p) => {
    const key = `${p.field}/${p.port}/${p.protocol}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
