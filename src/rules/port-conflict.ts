import { runTogether, type ContainerModel } from '../model/pod.js';
import type { CelForm, CelUnavailable, PodView, Rule, RuleFinding } from '../engine/types.js';
import { bind, celText } from '../cel/expr.js';
import { atLeast } from '../model/version.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

interface DeclaredPort {
  container: ContainerModel;
  field: 'containerPort' | 'hostPort';
  port: number;
  protocol: string;
  /** For hostPort: the API server's uniqueness check keys on protocol, hostIP and port. */
  hostIP: string;
  /** Its entry's position in the container's `ports`. */
  index: number;
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
  kinds: POD_BEARING_KINDS,
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
      const firstCandidate = new Map<PortKey, DeclaredPort>();
      for (const container of pod.containers) {
        // The same port twice in one container (e.g. once per name) is one bind, not a conflict.
        const own = container.ports.length > 1 ? new Set<PortKey>() : undefined;
        for (const entry of container.ports) {
          for (const field of PORT_FIELDS) {
            const port = field === 'containerPort' ? entry.containerPort : entry.hostPort;
            if (port === undefined || port <= 0) continue;
            const { protocol, hostIP, index } = entry;
            if (own) {
              const ownKey = portKey(field, port, protocol, hostIP);
              if (own.has(ownKey)) continue;
              own.add(ownKey);
            }
            const later: DeclaredPort = { container, field, port, protocol, hostIP, index };
            const key = portKey(later.field, later.port, later.protocol, later.field === 'hostPort' ? later.hostIP : '');
            const first = firstCandidate.get(key);
            const candidate = later.field === 'hostPort' ? later.container.kind === 'regular' : later.container.kind !== 'init';
            if (!first && candidate) firstCandidate.set(key, later);
            const earlier = first && clash(first, later) ? first : undefined;
            if (!earlier) continue;
            const [a, b] = [earlier.container.name, later.container.name];
            const path = `${later.container.path}.ports[${later.index}].${later.field}`;
            const facts = { other: a, field: later.field, port: later.port, protocol: later.protocol };
            findings.push(
              later.field === 'hostPort'
                ? {
                    container: b,
                    path,
                    facts,
                    message:
                      `containers '${a}' and '${b}' both declare hostPort ${later.port}/${later.protocol}${later.hostIP ? ` on ${later.hostIP}` : ''}: ` +
                      `the API server rejects the ${pod.kind || 'object'} (${path}: Duplicate value: ` +
                      `"${later.protocol}/${later.hostIP}/${later.port}"), so it is never created. A hostPort is a port of the node, published once for the pod.`,
                    fix:
                      `Give '${b}' another hostPort (change ${path}), or remove the hostPort from ${path} if only '${a}' must be reached on the node's port.`,
                  }
                : {
                    container: b,
                    path,
                    facts,
                    message:
                      `containers '${a}' and '${b}' both declare port ${later.port}/${later.protocol} and run at the same time: they share ` +
                      `the pod's network namespace, so if both listen on it the second to bind fails with 'address already in use' and usually crash-loops.`,
                    fix: `Move '${b}' to another port (change ${path} and the port its process listens on), or drop the duplicate declaration if only one of them really listens.`,
                  },
            );
          }
        }
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
 * Each declared containerPort is one int code: its key (protocol and port), whether its container runs for
 * the rest of the pod's life (a native sidecar or a regular container), and its position (section, container
 * index, port index: the engine's order). An entry conflicts when an earlier entry declares the same key in a
 * container that runs for the rest of the pod's life: exactly the earlier containers runTogether() accepts,
 * since a regular init container exits before anything after it starts; the first such entry names the
 * earlier container, as in evaluate(). hostPorts are left out: the only duplicates the rule reports, two
 * entries of `containers`, are rejected by the API server before any admission policy runs.
 *
 * The search uses list functions the API server runs natively (indexOf, distinct). A pod with more than
 * SMALL entries is searched in 100 buckets by key, sorted out of one token string by a regular expression
 * (native and linear), so no variable passes the per-expression cost limit: a duplicate always lands in its
 * original's bucket.
 */
const SMALL = 400;
/** The 100 token buckets are searched in this many variables, each within the per-expression cost limit. */
const TOKEN_GROUPS = 10;
const KEY = 8_589_934_592; // 2^33: above the key, the long-running bit (2^32) and the position
const LONG_RUNNING = 4_294_967_296; // 2^32
const PROTOCOLS = "{'TCP': 0, 'UDP': 1, 'SCTP': 2}";

/** The codes of container `c`'s containerPorts, each key once (dedupeWithinContainer keeps the first). */
function codesOf(c: string): string {
  const key = `${PROTOCOLS}[?p.?protocol.orValue('TCP').upperAscii()].orValue(3) * 131072 + p.containerPort`;
  const position = `((${c}.section == 'initContainers' ? 0 : 1000) + ${c}.index) * 1000000 + j`;
  const lr = `(${c}.kind != 'init' ? ${LONG_RUNNING} : 0)`;
  const codes = `${c}.spec.?ports.orValue([]).transformList(j, p, has(p.containerPort) && p.containerPort > 0 ? [(${key}) * ${KEY} + ${lr} + ${position}] : []).flatten()`;
  return bind('cs', codes, bind('ks', `cs.map(x, x / ${KEY})`, 'size(ks.distinct()) == size(ks) ? cs : lists.range(size(cs)).filter(i, ks.indexOf(ks[i]) == i).map(i, cs[i])'));
}

/** The codes of `codes` (in the engine's order) that conflict with an earlier long-running entry. */
function conflicts(codes: string): string {
  return bind('cs', codes, bind('keys', `cs.map(x, x / ${KEY})`, bind('held', `cs.map(x, (x / ${LONG_RUNNING}) % 2 == 1 ? x / ${KEY} : -1)`,
    'lists.range(size(cs)).filter(i, held.indexOf(keys[i]) >= 0 && held.indexOf(keys[i]) < i).map(i, cs[i])')));
}

/** The record of the container a code's entry belongs to. */
function containerOf(pod: PodView, code: string): string {
  return `(${code} % ${LONG_RUNNING} >= 1000000000 ? ${pod.regulars} : ${pod.inits})[(${code} % ${LONG_RUNNING} / 1000000) % 1000]`;
}

const portConflictCel: CelForm = {
  // One port declared twice anywhere in the pod (any protocol); a large pod goes straight to the buckets (distinct is quadratic).
  candidate: (pod) =>
    bind('ps', `(${pod.initSpecs} + ${pod.containerSpecs}).map(c, c.?ports.orValue([]).map(p, p.?containerPort.orValue(0))).flatten()`, `size(ps) > ${SMALL} || size(ps.distinct()) < size(ps)`),
  variables: (pod) => [
    { name: 'portCodes', expression: `${pod.containers}.map(c, ${codesOf('c')}).flatten()` },
    // Large pods: each code as a token `,<key + 10^7, 8 digits>:<code>` in one string, for the buckets.
    { name: 'portTokens', expression: `${pod.own('portCodes')}.map(x, ',' + string(x / ${KEY} + 10000000) + ':' + string(x)).join('')` },
    ...Array.from({ length: TOKEN_GROUPS }, (_, group) => ({
      name: `conflicts${group}`,
      expression:
        `lists.range(${100 / TOKEN_GROUPS}).map(r, ${bind('d', `r + ${group * (100 / TOKEN_GROUPS)}`,
          bind('b', `${pod.own('portTokens')}.findAll(',[0-9]{6}' + (d < 10 ? '0' : '') + string(d) + ':[0-9]+')`,
            `size(b) < 2 || size(b.map(t, t.substring(0, 9)).distinct()) == size(b) ? [] : ${conflicts('b.map(t, int(t.substring(10)))')}`))}).flatten()`,
    })),
    {
      name: 'conflicts',
      expression:
        `size(${pod.own('portCodes')}) <= ${SMALL} ? ${conflicts(pod.own('portCodes'))} : ` +
        Array.from({ length: TOKEN_GROUPS }, (_, group) => pod.own(`conflicts${group}`)).join(' + '),
    },
  ],
  checks: [
    {
      findings: (pod) => pod.own('conflicts'),
      key: (f, pod) => `${containerOf(pod, f)}.name + '/' + string(${f} % ${LONG_RUNNING})`,
      order: (f) => `${f} % ${LONG_RUNNING}`,
      text: (f, pod) => {
        const container = containerOf(pod, f);
        const earlier = bind('e', `${pod.own('portCodes')}.filter(x, x / ${KEY} == ${f} / ${KEY} && (x / ${LONG_RUNNING}) % 2 == 1)[0]`, `${containerOf(pod, 'e')}.name`);
        const index = `(${f} % ${LONG_RUNNING}) % 1000000`;
        const entry = `${container}.spec.ports[${index}]`;
        const port = `string(${entry}.containerPort)`;
        const protocol = `${entry}.?protocol.orValue('TCP').upperAscii()`;
        const path = `${container}.path + '.ports[' + string(${index}) + '].containerPort'`;
        const name = `${container}.name`;
        return celText`containers '${earlier}' and '${name}' both declare port ${port}/${protocol} and run at the same time: they share the pod's network namespace, so if both listen on it the second to bind fails with 'address already in use' and usually crash-loops. Fix: Move '${name}' to another port (change ${path} and the port its process listens on), or drop the duplicate declaration if only one of them really listens.`;
      },
    },
  ],
};

/**
 * Two containerPorts clash when both containers run at once; two hostPorts when the API server's check sees
 * both, that is when both are entries of `containers`.
 */
function clash(earlier: DeclaredPort, later: DeclaredPort): boolean {
  if (later.field === 'hostPort') return earlier.container !== later.container && earlier.container.kind === 'regular' && later.container.kind === 'regular';
  return runTogether(earlier.container, later.container);
}

const PORT_FIELDS = ['containerPort', 'hostPort'] as const;

/** Identifies a declared port by field, number, protocol and host IP: a number for the usual ports, no string built per port. */
type PortKey = number | string;

const PROTOCOL_CODES: ReadonlyMap<string, number> = new Map([['TCP', 0], ['UDP', 1], ['SCTP', 2]]);

function portKey(field: DeclaredPort['field'], port: number, protocol: string, hostIP: string): PortKey {
  const code = PROTOCOL_CODES.get(protocol);
  if (code === undefined || hostIP !== '' || !Number.isInteger(port) || port >= 2 ** 32) return `${field}/${port}/${protocol}/${hostIP}`;
  return (port * 4 + code) * 2 + (field === 'hostPort' ? 1 : 0);
}
