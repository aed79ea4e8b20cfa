import { asString, isObject } from '../model/kube.js';
import type { ContainerModel, PodModel } from '../model/pod.js';
import { bind, celText, quoted, record, str } from '../cel/expr.js';
import type { CelCheck, PodSpecView, PodView, Rule, RuleFinding, Severity } from '../engine/types.js';
import { atLeast } from '../model/version.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

const PROBES = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;
/** The handlers whose `port` may be a name; `grpc.port` is an integer in the API. */
const HANDLERS = ['httpGet', 'tcpSocket'] as const;

type ProbeField = (typeof PROBES)[number];

type ProbePortFacts = {
  port: string;
  /** What the container never gets: `Ready`, `started`, or its liveness check. */
  effect: 'never Ready' | 'never started' | 'no liveness';
};

/** A container port by name, as another container of the pod declares it. */
interface DeclaredPort {
  container: ContainerModel;
  number?: number;
  protocol: string;
}

/**
 * The kubelet resolves a probe's named port in the probed container's own `ports` and nowhere else
 * (pkg/probe/util.go ResolveContainerPort → findPortByName). A name it cannot find makes every probe an error
 * (`port "http" not found`), and the probe worker throws errored results away (pkg/kubelet/prober/worker.go,
 * "Prober error, throw away the result"): the probe keeps its initial value for good, Failure for readiness,
 * Unknown for startup and Success for liveness. The API server only checks the name's syntax
 * (ValidatePortNumOrName), so such a pod is admitted.
 */
export const probeNamedPortUndeclared: Rule<ProbePortFacts> = {
  id: 'probe-named-port-undeclared',
  defaultSeverity: 'deny',
  kinds: POD_BEARING_KINDS,
  summary: 'A probe names a port its own container does not declare: the probe never succeeds.',
  description:
    'An `httpGet` or `tcpSocket` probe may name its port (`port: http`). The kubelet looks that name up in the ' +
    '`ports` of the probed container only, not in the other containers of the pod, and the API server checks ' +
    'only that the name is well formed. When the container does not declare it, every probe fails with ' +
    '`port "http" not found` and the kubelet throws the result away, so the probe never changes state: with a ' +
    '`readinessProbe` the container, and so the pod, never becomes Ready (Services send it no traffic, rollouts ' +
    'wait for it until their deadline); with a `startupProbe` the container is never marked started, its other ' +
    'probes never run, and a native sidecar holds back every container after it; a `livenessProbe` silently ' +
    'never checks anything. This happens when a probe is copied onto a sidecar from the app, or a port is ' +
    'declared on one container and probed from another. A numeric port is different: probes connect to the ' +
    'pod IP, so a number reaches whichever container listens there and is not reported. Denied where the pod ' +
    'never gets Ready or started; a liveness probe, and a probe that only delays Ready in a Job, are warnings. ' +
    'Fix: declare the port under that name in the probed container, or give the probe the port number.',
  example: {
    bad: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
spec:
  selector:
    matchLabels: { app: checkout }
  template:
    metadata:
      labels: { app: checkout }
    spec:
      containers:
        - name: checkout
          image: registry.example.com/checkout:4.1.0
          ports:
            - { name: http, containerPort: 8080 }
        - name: auth-proxy
          image: quay.io/oauth2-proxy/oauth2-proxy:v7.7.1
          args: ["--http-address=0.0.0.0:4180", "--upstream=http://127.0.0.1:8080"]
          resources:
            requests: { cpu: 20m, memory: 32Mi }
          ports:
            - { name: proxy, containerPort: 4180 }
          readinessProbe:
            httpGet: { path: /ping, port: http }
`,
    fixed: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
spec:
  selector:
    matchLabels: { app: checkout }
  template:
    metadata:
      labels: { app: checkout }
    spec:
      containers:
        - name: checkout
          image: registry.example.com/checkout:4.1.0
          ports:
            - { name: http, containerPort: 8080 }
        - name: auth-proxy
          image: quay.io/oauth2-proxy/oauth2-proxy:v7.7.1
          args: ["--http-address=0.0.0.0:4180", "--upstream=http://127.0.0.1:8080"]
          resources:
            requests: { cpu: 20m, memory: 32Mi }
          ports:
            - { name: proxy, containerPort: 4180 }
          readinessProbe:
            httpGet: { path: /ping, port: proxy }
`,
  },
  problem: ({ port, effect }) => `lacks probed port '${port}': ${effect}`,
  evaluate({ pods }) {
    const findings: RuleFinding<ProbePortFacts>[] = [];
    for (const pod of pods) {
      let declared: Map<string, DeclaredPort> | undefined;
      for (const container of pod.longRunning) {
        if (!namesProbePort(container)) continue;
        for (const field of PROBES) {
          const probe = container.spec[field];
          if (!isObject(probe)) continue;
          for (const handler of HANDLERS) {
            const action = probe[handler];
            const port = isObject(action) ? asString(action.port) : undefined;
            // A string without a letter is not a port name: the API server rejects it (IsValidPortName).
            if (port === undefined || !/[a-z]/i.test(port) || container.ports.some((own) => own.name === port)) continue;
            const path = `${container.path}.${field}.${handler}.port`;
            const verdict = verdictOf(pod, container, field);
            declared ??= declaredPorts(pod);
            const owner = declared.get(port);
            const elsewhere = owner
              ? ` (it is '${owner.container.name}' that declares it${owner.number !== undefined ? `, as ${owner.number}/${owner.protocol}` : ''})`
              : '';
            findings.push({
              container: container.name,
              path,
              severity: verdict.severity,
              facts: { port, effect: verdict.effect },
              message:
                `the ${field} of '${container.name}' names port '${port}', which '${container.name}' does not declare${elsewhere}: ` +
                `the kubelet looks a probe's port name up in the probed container's own \`ports\` only, so every probe errors ` +
                `(port "${port}" not found) and its result is thrown away; ${verdict.consequence}.`,
              fix:
                owner?.number !== undefined
                  ? `Set ${path} to ${owner.number}: a numeric port is probed on the pod IP, where '${owner.container.name}' listens; ` +
                    `or, if '${container.name}' listens on a port of its own, declare it as \`{ name: ${port}, containerPort: <its port> }\` in ${container.path}.ports.`
                  : `Declare the port '${container.name}' serves the probe on as \`{ name: ${port}, containerPort: <its port> }\` in ` +
                    `${container.path}.ports, or set ${path} to the port number.`,
            });
          }
        }
      }
    }
    return findings;
  },
  cel: ({ kubernetesVersion }) =>
    atLeast(kubernetesVersion, 1, 35)
      ? { candidate: probesNamingAnUndeclaredPort, variables: (pod) => [{ name: 'namedProbes', expression: namedProbes(pod) }], checks: [probeCheck('deny'), probeCheck('warn')] }
      : { unavailable: 'webhook-only', reason: 'its CEL form needs the list functions (flatten) that new policies may use from Kubernetes 1.35' },
};

/** Some container, of any kind, has a probe on a port name it does not declare itself. */
function probesNamingAnUndeclaredPort(pod: PodSpecView): string {
  const ports = PROBES.flatMap((field) => HANDLERS.map((handler) => `c.?${field}.?${handler}.?port`)).join(', ');
  const undeclared = `[${ports}].exists(port, port.hasValue() && type(port.value()) == string && !c.?ports.orValue([]).exists(p, p.?name.orValue('') == port.value()))`;
  return `${pod.initSpecs}.exists(c, ${undeclared}) || ${pod.containerSpecs}.exists(c, ${undeclared})`;
}

/**
 * Every probe of a long-running container whose port is a name the container does not declare, in the engine's
 * order (container, then startup, readiness and liveness probe, then httpGet and tcpSocket), with its verdict.
 */
function namedProbes(pod: PodView): string {
  const own = "c.spec.?ports.orValue([]).exists(p, p.?name.orValue('') == port)";
  const owners = `${pod.longRunning}.filter(o, o.spec.?ports.orValue([]).exists(p, p.?name.orValue('') == port))`;
  const severity = (field: ProbeField) =>
    field === 'livenessProbe'
      ? "'warn'"
      : field === 'startupProbe'
        ? `c.kind == 'native-sidecar' ? 'deny' : ${pod.runToCompletion} ? 'warn' : 'deny'`
        : `${pod.runToCompletion} ? 'warn' : 'deny'`;
  const perProbe = PROBES.flatMap((field) =>
    HANDLERS.map((handler) =>
      bind('given', `c.spec.?${field}.?${handler}.?port`,
        `given.hasValue() && type(given.value()) == string && given.value().matches('[a-zA-Z]') ? ${bind('port', 'given.value()',
          `${own} ? [] : [${bind('owner', owners, record({
            cname: 'c.name',
            cpath: 'c.path',
            kind: 'c.kind',
            index: 'c.index',
            field: str(field),
            handler: str(handler),
            port: 'port',
            severity: severity(field),
            owner: "size(owner) > 0 ? owner[0].name : ''",
            number: "size(owner) > 0 ? owner[0].spec.ports.filter(p, p.?name.orValue('') == port)[0].?containerPort.orValue(0) : 0",
            protocol: "size(owner) > 0 ? owner[0].spec.ports.filter(p, p.?name.orValue('') == port)[0].?protocol.orValue('TCP').upperAscii() : ''",
          }))}]`)} : []`),
    ),
  );
  return `${pod.longRunning}.map(c, [${perProbe.join(', ')}].flatten()).flatten()`;
}

function probeCheck(severity: 'deny' | 'warn'): CelCheck {
  return {
    severity,
    findings: (pod) => `${pod.own('namedProbes')}.filter(f, f.severity == ${str(severity)})`,
    key: (f) => `${f}.cname + '/' + ${f}.cpath + '.' + ${f}.field + '.' + ${f}.handler + '.port'`,
    text: (f, pod) => {
      const name = quoted(`${f}.cname`);
      const path = `${f}.cpath + '.' + ${f}.field + '.' + ${f}.handler + '.port'`;
      const elsewhere = `${f}.owner == '' ? '' : ${celText` (it is ${quoted(`${f}.owner`)} that declares it, as ${`string(${f}.number)`}/${`${f}.protocol`})`}`;
      const after = `size(${pod.containers}) - ${f}.index - 1`;
      const consequence =
        `${f}.field == 'livenessProbe' ? ${celText`the liveness check never runs, so a hung ${name} is never restarted (only "Liveness probe errored" events tell)`} : ` +
        `${f}.field == 'startupProbe' && ${f}.kind == 'native-sidecar' ? ${celText`native sidecar ${name} is never marked started, so the kubelet never starts the ${`string(${after})`} container${`${after} == 1 ? '' : 's'`} after it and the pod never runs its app`} : ` +
        `${pod.runToCompletion} ? (${f}.field == 'startupProbe' ? ${celText`${name} is never marked started nor Ready; the ${pod.kind} still completes when it exits`} : ${celText`${name} never becomes Ready; the ${pod.kind} still completes when it exits`}) : ` +
        `${f}.field == 'startupProbe' ? ${celText`${name} is never marked started, so its other probes never run and it never becomes Ready: Services send the pod no traffic and rollouts wait for it`} : ` +
        `${celText`${name} never becomes Ready, nor does the pod: Services send it no traffic and rollouts wait for it`}`;
      const declare = `${str('`{ name: ')} + ${f}.port + ${str(', containerPort: <its port> }`')}`;
      const fix =
        `${f}.owner != '' ? ${celText`Set ${path} to ${`string(${f}.number)`}: a numeric port is probed on the pod IP, where ${quoted(`${f}.owner`)} listens; or, if ${name} listens on a port of its own, declare it as ${declare} in ${`${f}.cpath`}.ports.`} : ` +
        `${celText`Declare the port ${name} serves the probe on as ${declare} in ${`${f}.cpath`}.ports, or set ${path} to the port number.`}`;
      return celText`the ${`${f}.field`} of ${name} names port '${`${f}.port`}', which ${name} does not declare${elsewhere}: the kubelet looks a probe's port name up in the probed container's own \`ports\` only, so every probe errors (port "${`${f}.port`}" not found) and its result is thrown away; ${consequence}. Fix: ${fix}`;
    },
  };
}

/**
 * A cheap first look: whether a probe of the container gives its port as a string. Most give a number, and each
 * field read by name costs a fraction of one read through a variable key.
 */
function namesProbePort({ spec }: ContainerModel): boolean {
  return portNamed(spec.startupProbe) || portNamed(spec.readinessProbe) || portNamed(spec.livenessProbe);
}

function portNamed(probe: unknown): boolean {
  if (!isObject(probe)) return false;
  const { httpGet, tcpSocket } = probe;
  return (isObject(httpGet) && typeof httpGet.port === 'string') || (isObject(tcpSocket) && typeof tcpSocket.port === 'string');
}

interface Verdict {
  severity: Severity;
  effect: ProbePortFacts['effect'];
  consequence: string;
}

/**
 * What a probe that never resolves does: readiness and startup probes keep the pod from serving (deny), a
 * liveness probe only stops checking, and in a pod that runs to completion nothing waits for Ready (warn).
 */
function verdictOf(pod: PodModel, container: ContainerModel, field: ProbeField): Verdict {
  const name = `'${container.name}'`;
  if (field === 'livenessProbe') {
    return {
      severity: 'warn',
      effect: 'no liveness',
      consequence: `the liveness check never runs, so a hung ${name} is never restarted (only "Liveness probe errored" events tell)`,
    };
  }
  if (field === 'startupProbe' && container.kind === 'native-sidecar') {
    const after = pod.containers.slice(pod.containers.indexOf(container) + 1);
    return {
      severity: 'deny',
      effect: 'never started',
      consequence:
        `native sidecar ${name} is never marked started, so the kubelet never starts the ${after.length} container${after.length === 1 ? '' : 's'} ` +
        `after it and the pod never runs its app`,
    };
  }
  if (pod.runToCompletion) {
    return field === 'startupProbe'
      ? { severity: 'warn', effect: 'never started', consequence: `${name} is never marked started nor Ready; the ${pod.kind} still completes when it exits` }
      : { severity: 'warn', effect: 'never Ready', consequence: `${name} never becomes Ready; the ${pod.kind} still completes when it exits` };
  }
  return field === 'startupProbe'
    ? {
        severity: 'deny',
        effect: 'never started',
        consequence: `${name} is never marked started, so its other probes never run and it never becomes Ready: Services send the pod no traffic and rollouts wait for it`,
      }
    : {
        severity: 'deny',
        effect: 'never Ready',
        consequence: `${name} never becomes Ready, nor does the pod: Services send it no traffic and rollouts wait for it`,
      };
}

/** The first long-running container of the pod that declares each port name, with the number it gives it. */
function declaredPorts(pod: PodModel): Map<string, DeclaredPort> {
  const declared = new Map<string, DeclaredPort>();
  for (const container of pod.longRunning) {
    for (const port of container.ports) {
      if (port.name === undefined || declared.has(port.name)) continue;
      declared.set(port.name, { container, ...(port.containerPort !== undefined && { number: port.containerPort }), protocol: port.protocol });
    }
  }
  return declared;
}
