import { asArray, asString, isObject, stringMap, type KubeObject } from '../model/kube.js';
import type { ContainerKind, ContainerModel, PodModel } from '../model/pod.js';
import { bind, celText, quoted, record } from '../cel/expr.js';
import type { CelForm, Rule, RuleFinding } from '../engine/types.js';
import { atLeast } from '../model/version.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

const PROBES = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;

type DuplicatePortNameFacts = {
  port: string;
  /** The container a Service's `targetPort: <port>` reaches. */
  first: string;
  /** A Service of the input that targets the name, '' when none is in view. */
  service: string;
};

interface NamedPort {
  container: ContainerModel;
  /** Index of the entry in the container's `ports`. */
  index: number;
  number?: number;
}

/**
 * The endpoint controllers resolve a Service's `targetPort: <name>` per pod with FindPort
 * (pkg/api/v1/pod/util.go; staging/src/k8s.io/endpointslice/util): the first entry of `containers`, then of the
 * native sidecars (kubernetes#127976, #128850, Kubernetes 1.32), whose name and protocol match. Regular init
 * containers are never looked at. The API server keeps port names unique within one container only.
 */
export const duplicatePortName: Rule<DuplicatePortNameFacts> = {
  id: 'duplicate-port-name',
  defaultSeverity: 'warn',
  kinds: POD_BEARING_KINDS,
  summary: 'Two containers of a pod declare the same port name: a Service that targets it reaches only the first.',
  description:
    'A Service can target a pod port by name (`targetPort: http`). The API server keeps port names unique ' +
    'within a container, not across the containers of a pod. When two containers that run side by side ' +
    '(regular containers and native sidecars) declare the same name for the same protocol, the endpoint ' +
    'controllers resolve `targetPort: <name>` to the first of them (the `containers` in order, then the native ' +
    'sidecars) and never to the other: traffic meant for an authenticating proxy goes straight to the app, or a ' +
    'sidecar\'s port silently gets no connections, and the outcome changes with the order of the containers; ' +
    'NetworkPolicies and PodMonitors that name the port, for their part, usually match it in every container ' +
    'that declares it, so a rule meant for one port opens or scrapes the other. Regular init containers are not looked at. When a ' +
    'Service of the same input selects the pod and targets the name, the finding names it. A name that every ' +
    'container declaring it uses for its own probes only (CSI sidecars each name their health port `healthz`) ' +
    'is resolved per container by the kubelet and is left alone, unless such a Service targets it. Fix: give ' +
    'each container\'s port a name of its own and target the one that should receive the traffic.',
  example: {
    bad: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: dashboard
spec:
  selector:
    matchLabels: { app: dashboard }
  template:
    metadata:
      labels: { app: dashboard }
    spec:
      containers:
        - name: dashboard
          image: registry.example.com/dashboard:2.3.0
          ports:
            - { name: http, containerPort: 8080 }
        - name: oauth2-proxy
          image: quay.io/oauth2-proxy/oauth2-proxy:v7.7.1
          args: ["--http-address=0.0.0.0:4180", "--upstream=http://127.0.0.1:8080"]
          resources:
            requests: { cpu: 20m, memory: 32Mi }
          ports:
            - { name: http, containerPort: 4180 }
---
apiVersion: v1
kind: Service
metadata:
  name: dashboard
spec:
  selector: { app: dashboard }
  ports:
    - { name: http, port: 80, targetPort: http }
`,
    fixed: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: dashboard
spec:
  selector:
    matchLabels: { app: dashboard }
  template:
    metadata:
      labels: { app: dashboard }
    spec:
      containers:
        - name: dashboard
          image: registry.example.com/dashboard:2.3.0
          ports:
            - { name: http, containerPort: 8080 }
        - name: oauth2-proxy
          image: quay.io/oauth2-proxy/oauth2-proxy:v7.7.1
          args: ["--http-address=0.0.0.0:4180", "--upstream=http://127.0.0.1:8080"]
          resources:
            requests: { cpu: 20m, memory: 32Mi }
          ports:
            - { name: proxy, containerPort: 4180 }
---
apiVersion: v1
kind: Service
metadata:
  name: dashboard
spec:
  selector: { app: dashboard }
  ports:
    - { name: http, port: 80, targetPort: proxy }
`,
  },
  problem: ({ port, first, service }) =>
    service ? `gets none of Service '${service}' (port '${port}')` : `reuses port name '${port}' of '${first}'`,
  evaluate({ object, pods, context }) {
    const findings: RuleFinding<DuplicatePortNameFacts>[] = [];
    for (const pod of pods) {
      let targeted: Map<string, string> | undefined;
      for (const [key, declarations] of namedPorts(pod)) {
        const [first, ...others] = declarations;
        if (!first || others.length === 0) continue;
        const [name, protocol] = splitKey(key);
        targeted ??= targetedPorts(pod, object, context.related ?? []);
        const serviceName = targeted.get(key);
        const service = serviceName !== undefined;
        if (!service && declarations.every((port) => probesOwnPort(port.container, name))) continue;
        const second = others[0]!;
        const all = declarations.map(describe).join(', ');
        const losers = others.map((port) => `'${port.container.name}'`).join(', ');
        findings.push({
          container: second.container.name,
          path: `${second.container.path}.ports[${second.index}].name`,
          facts: { port: name, first: first.container.name, service: serviceName ?? '' },
          message:
            (service
              ? `Service '${serviceName}' selects this pod and targets port '${name}' (${protocol}), which ${declarations.length} containers declare: ${all}. `
              : `port name '${name}' (${protocol}) is declared by ${declarations.length} containers that run side by side: ${all}. `) +
            `The endpoint controllers resolve \`targetPort: ${name}\` to the first container that declares it (the containers in order, ` +
            `then the native sidecars), so ${service ? 'its' : "a Service's"} traffic goes to '${first.container.name}' only and ${losers} never ` +
            `${others.length > 1 ? 'receive' : 'receives'} a connection through it; reordering the containers changes where it goes.`,
          fix:
            `Rename the port '${name}' of ${losers} (${second.container.path}.ports[${second.index}].name), e.g. to ` +
            `'${suggestedName(second.container.name, name)}', and point the Services, NetworkPolicies and PodMonitors that mean ${losers} at the new name; ` +
            `those that mean '${first.container.name}' can keep '${name}'${first.number !== undefined ? ` or use ${first.number}` : ''}.`,
        });
      }
    }
    return findings;
  },
  cel: ({ kubernetesVersion }) =>
    atLeast(kubernetesVersion, 1, 35)
      ? duplicatePortNameCel
      : { unavailable: 'webhook-only', reason: 'its CEL form needs the list functions (flatten, distinct, transformList) that new policies may use from Kubernetes 1.35' },
};

/**
 * The engine's findings without Services, as at admission (a policy sees one object): the named ports of the
 * regular containers, then of the native sidecars, grouped by name and protocol in the order they first appear.
 */
const duplicatePortNameCel: CelForm = {
  // A port name declared twice in the pod (distinct is quadratic: a pod with many named ports goes straight to the checks).
  candidate: (pod) =>
    bind('ns', `(${pod.initSpecs} + ${pod.containerSpecs}).map(c, c.?ports.orValue([]).map(p, p.?name.orValue('')).filter(n, n != '')).flatten()`, 'size(ns) >= 2 && (size(ns) > 400 || size(ns.distinct()) < size(ns))'),
  variables: (pod) => [
    {
      name: 'namedPorts',
      expression:
        `(${pod.containers}.filter(c, c.kind == 'regular') + ${pod.containers}.filter(c, c.kind == 'native-sidecar'))` +
        `.map(c, c.spec.?ports.orValue([]).transformList(i, p, p.?name.orValue('') != '' ? [${record({
          key: "p.name + '/' + p.?protocol.orValue('TCP').upperAscii()",
          name: 'p.name',
          protocol: "p.?protocol.orValue('TCP').upperAscii()",
          number: "p.?containerPort.orValue(0)",
          cname: 'c.name',
          cpath: 'c.path',
          index: 'i',
          probes: `[c.spec.?startupProbe, c.spec.?readinessProbe, c.spec.?livenessProbe].exists(probe, [probe.?httpGet.?port, probe.?tcpSocket.?port].exists(port, port.hasValue() && type(port.value()) == string && port.value() == p.name))`,
        })}] : []).flatten()).flatten()`,
    },
  ],
  checks: [
    {
      findings: (pod) => {
        const ports = pod.own('namedPorts');
        return `${ports}.map(p, p.key).distinct().map(k, ${bind('ds', `${ports}.filter(p, p.key == k)`,
          `size(ds) >= 2 && !ds.all(d, d.probes) ? [${record({ name: 'ds[0].name', protocol: 'ds[0].protocol', declarations: 'ds' })}] : []`)}).flatten()`;
      },
      key: (f) => `${f}.declarations[1].cname + '/' + ${f}.declarations[1].cpath + '.ports[' + string(${f}.declarations[1].index) + '].name'`,
      text: (f) => {
        const name = `${f}.name`;
        const ds = `${f}.declarations`;
        const first = `${ds}[0]`;
        const second = `${ds}[1]`;
        const all = `${ds}.map(d, ${quoted('d.cname')} + ' (' + string(d.number) + ')').join(', ')`;
        const losers = `${ds}.filter(d, d.cname != ${first}.cname).map(d, ${quoted('d.cname')}).join(', ')`;
        const initials = `${second}.cname.split('-').map(w, w.size() > 0 ? w.substring(0, 1) : '').join('')`;
        const suggested = bind('pre', `${initials} == '' ? 'c' : ${initials}`, bind('t', "pre + '-' + " + name, "[t.size() > 15 ? t.substring(0, 15) : t].map(u, u.endsWith('-') ? u.substring(0, u.size() - 1) : u)[0]"));
        return celText`port name '${name}' (${`${f}.protocol`}) is declared by ${`string(size(${ds}))`} containers that run side by side: ${all}. The endpoint controllers resolve \`targetPort: ${name}\` to the first container that declares it (the containers in order, then the native sidecars), so a Service's traffic goes to ${quoted(`${first}.cname`)} only and ${losers} never ${`size(${ds}) > 2 ? 'receive' : 'receives'`} a connection through it; reordering the containers changes where it goes. Fix: Rename the port '${name}' of ${losers} (${`${second}.cpath`}.ports[${`string(${second}.index)`}].name), e.g. to '${suggested}', and point the Services, NetworkPolicies and PodMonitors that mean ${losers} at the new name; those that mean ${quoted(`${first}.cname`)} can keep '${name}' or use ${`string(${first}.number)`}.`;
      },
    },
  ],
};

/**
 * The named ports of the containers FindPort looks at, by portNameKey, in its order: regular containers, then
 * native sidecars. A container is listed once per key (the API server rejects a name twice in one container).
 */
function namedPorts(pod: PodModel): Map<string, NamedPort[]> {
  const byKey = new Map<string, NamedPort[]>();
  for (const kind of FIND_PORT_ORDER) {
    for (const container of pod.containers) {
      if (container.kind !== kind) continue;
      for (const port of container.ports) {
        if (!port.name) continue;
        const key = portNameKey(port.name, port.protocol);
        const entry: NamedPort = { container, index: port.index, number: port.containerPort };
        const list = byKey.get(key);
        // Containers come one after the other: an earlier entry of this one for the key is the list's last.
        if (!list) byKey.set(key, [entry]);
        else if (list.at(-1)!.container !== container) list.push(entry);
      }
    }
  }
  return byKey;
}

const FIND_PORT_ORDER: readonly ContainerKind[] = ['regular', 'native-sidecar'];

/** `name/PROTOCOL`, or just the name for TCP, the usual case, with no string built: such a name holds no slash and every other key does. */
function portNameKey(name: string, protocol: string): string {
  return protocol === 'TCP' && !name.includes('/') ? name : `${name}/${protocol}`;
}

function splitKey(key: string): [string, string] {
  const slash = key.lastIndexOf('/');
  return slash < 0 ? [key, 'TCP'] : [key.slice(0, slash), key.slice(slash + 1)];
}

/** The container uses the name as the port of one of its own probes, which the kubelet resolves in its own ports. */
function probesOwnPort(container: ContainerModel, name: string): boolean {
  return PROBES.some((field) => {
    const probe = container.spec[field];
    if (!isObject(probe)) return false;
    return [probe.httpGet, probe.tcpSocket].some((action) => isObject(action) && action.port === name);
  });
}

/**
 * The `name/PROTOCOL` keys that Services among the related objects target by name, each with the first such
 * Service: those in the pod's namespace whose selector the pod's labels satisfy. One pass over the Services.
 */
function targetedPorts(pod: PodModel, object: KubeObject, related: readonly KubeObject[]): Map<string, string> {
  const namespace = namespaceOf(object);
  const targeted = new Map<string, string>();
  for (const candidate of related) {
    if (candidate.kind !== 'Service' || !isObject(candidate.spec) || namespaceOf(candidate) !== namespace) continue;
    const selector = stringMap(candidate.spec.selector);
    const keys = Object.keys(selector);
    if (keys.length === 0 || !keys.every((key) => pod.labels[key] === selector[key])) continue;
    const name = (isObject(candidate.metadata) ? asString(candidate.metadata.name) : undefined) ?? '';
    for (const port of asArray(candidate.spec.ports)) {
      if (!isObject(port) || typeof port.targetPort !== 'string') continue;
      const key = portNameKey(port.targetPort, (asString(port.protocol) ?? 'TCP').toUpperCase());
      if (!targeted.has(key)) targeted.set(key, name);
    }
  }
  return targeted;
}

function namespaceOf(object: KubeObject): string {
  return (isObject(object.metadata) ? asString(object.metadata.namespace) : undefined) ?? '';
}

function describe(port: NamedPort): string {
  return `'${port.container.name}'${port.number !== undefined ? ` (${port.number})` : ''}`;
}

/** A port name is at most 15 characters (IANA_SVC_NAME): the container's initials before the old name, cut to fit. */
function suggestedName(container: string, name: string): string {
  const prefix = container.split('-').map((word) => word.charAt(0)).join('').replace(/[^a-z0-9]/g, '') || 'c';
  return `${prefix}-${name}`.slice(0, 15).replace(/-+$/, '');
}
