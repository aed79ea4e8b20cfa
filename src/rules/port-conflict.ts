import { asNumber, asString, isObject } from '../model/kube.js';
import { runTogether, type ContainerModel } from '../model/pod.js';
import type { CelForm, CelUnavailable, Rule, RuleFinding } from '../engine/types.js';
import { celText, record } from '../cel/expr.js';
import type { PodView } from '../cel/pod.js';
import { atLeast } from '../model/version.js';

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
      // Grouped by field/port/protocol so a pod with thousands of ports stays linear, not quadratic.
      const earlierByKey = new Map<string, DeclaredPort[]>();
      for (const later of pod.containers.flatMap(portsOf)) {
        const key = `${later.field}/${later.port}/${later.protocol}`;
        const earlierSame = earlierByKey.get(key) ?? [];
        const earlier = earlierSame.find((other) => runTogether(other.container, later.container));
        earlierSame.push(later);
        earlierByKey.set(key, earlierSame);
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
  cel: ({ kubernetesVersion }) => (atLeast(kubernetesVersion, 1, 35) ? portConflictCel : NEEDS_LIST_FUNCTIONS),
};

const NEEDS_LIST_FUNCTIONS: CelUnavailable = {
  unavailable: 'webhook-only',
  reason: 'its CEL form needs the list functions (flatten, transformList) that new policies may use from Kubernetes 1.35',
};

/**
 * Declared ports are spread over BUCKETS variables by port number, so the pairwise search for an earlier
 * declaration of the same port stays within the API server's per-expression cost limit for pods with
 * thousands of ports (a duplicate always lands in its original's bucket). An entry conflicts when an earlier
 * entry of another container declares the same field, port and protocol and that container runs for the rest
 * of the pod's life (a native sidecar or a regular container): exactly the earlier containers runTogether()
 * accepts, since a regular init container exits before anything after it starts.
 */
const BUCKETS = 16;

const portConflictCel: CelForm = {
  variables: (pod) => [
    { name: 'ports', expression: declaredPorts(pod) },
    ...Array.from({ length: BUCKETS }, (_, k) => ({
      name: `conflicts${k}`,
      expression:
        `[${pod.own('ports')}.filter(e, e.port % ${BUCKETS} == ${k})].map(b, b.filter(e, ` +
        `!b.exists(o, o.pos < e.pos && o.cpos == e.cpos && o.key == e.key) && ` +
        `b.exists(o, o.pos < e.pos && o.lr && o.cpos != e.cpos && o.key == e.key)))[0]`,
    })),
  ],
  checks: [
    {
      findings: (pod) => Array.from({ length: BUCKETS }, (_, k) => pod.own(`conflicts${k}`)).join(' + '),
      key: (f) => `${f}.cname + '/' + ${f}.path`,
      order: (f) => `${f}.pos`,
      text: (f, pod) => {
        const earlier = `${pod.own('ports')}.filter(o, o.pos < ${f}.pos && o.lr && o.cpos != ${f}.cpos && o.key == ${f}.key)[0].cname`;
        const what = `${f}.field == 'hostPort' ? 'hostPort' : 'port'`;
        return (
          celText`containers '${earlier}' and '${`${f}.cname`}' both declare ${what} ${`string(${f}.port)`}/${`${f}.protocol`} and run at the same time: ` +
          ` + ${celText`the pod shares one network namespace, so the second to bind fails with 'address already in use' and crash-loops.`}` +
          ` + ${celText` Fix: Move '${`${f}.cname`}' to another ${what} (change ${`${f}.path`} and the port its process listens on), or drop the duplicate declaration if only one of them really listens.`}`
        );
      },
    },
  ],
};

/** Every declared containerPort and hostPort, in the engine's order: containers in start order, ports in order, containerPort before hostPort. */
function declaredPorts(pod: PodView): string {
  const entry = (field: 'containerPort' | 'hostPort', offset: number) =>
    `(has(p.${field}) && p.${field} > 0 ? [${record({
      pos: `cp * 1000000 + j * 2 + ${offset}`,
      cpos: 'cp',
      lr: "c.kind != 'init'",
      cname: 'c.name',
      field: `'${field}'`,
      port: `p.${field}`,
      protocol: "p.?protocol.orValue('TCP').upperAscii()",
      key: `'${field}/' + string(p.${field}) + '/' + p.?protocol.orValue('TCP').upperAscii()`,
      path: `c.path + '.ports[' + string(j) + '].${field}'`,
    })}] : [])`;
  return (
    `${pod.containers}.map(c, [c.kind == 'regular' ? c.first + c.index : c.index].map(cp, ` +
    `c.spec.?ports.orValue([]).transformList(j, p, ${entry('containerPort', 0)} + ${entry('hostPort', 1)}).flatten())[0]).flatten()`
  );
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
