import { asArray, asNumber, asString, isObject } from '../model/kube.js';
import type { ContainerModel, PodModel } from '../model/pod.js';
import type { Rule, RuleFinding, Severity } from '../engine/types.js';

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
      const declared = declaredPorts(pod);
      for (const container of pod.longRunning) {
        const own = new Set(portsOf(container).map((port) => port.name).filter((name) => name !== undefined));
        for (const field of PROBES) {
          const probe = container.spec[field];
          if (!isObject(probe)) continue;
          for (const handler of HANDLERS) {
            const action = probe[handler];
            const port = isObject(action) ? asString(action.port) : undefined;
            // A string without a letter is not a port name: the API server rejects it (IsValidPortName).
            if (port === undefined || !/[a-z]/i.test(port) || own.has(port)) continue;
            const path = `${container.path}.${field}.${handler}.port`;
            const verdict = verdictOf(pod, container, field);
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
};

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

interface PortEntry {
  name?: string;
  number?: number;
  protocol: string;
}

function portsOf(container: ContainerModel): PortEntry[] {
  return asArray(container.spec.ports)
    .filter(isObject)
    .map((port) => {
      const name = asString(port.name);
      const number = asNumber(port.containerPort);
      return { ...(name !== undefined && { name }), ...(number !== undefined && { number }), protocol: (asString(port.protocol) ?? 'TCP').toUpperCase() };
    });
}

/** The first long-running container of the pod that declares each port name, with the number it gives it. */
function declaredPorts(pod: PodModel): Map<string, DeclaredPort> {
  const declared = new Map<string, DeclaredPort>();
  for (const container of pod.longRunning) {
    for (const port of portsOf(container)) {
      if (port.name === undefined || declared.has(port.name)) continue;
      declared.set(port.name, { container, ...(port.number !== undefined && { number: port.number }), protocol: port.protocol });
    }
  }
  return declared;
}
