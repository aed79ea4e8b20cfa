import { isObject, type Container } from '../model/kube.js';
import type { PodModel } from '../model/pod.js';
import { containerRequest, effectivePodRequest, formatQuantity } from '../model/resources.js';
import { bind, celText, record } from '../cel/expr.js';
import type { PodView, Rule, RuleFinding } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

const RESOURCES = ['cpu', 'memory'] as const;

type MissingFacts = {
  /** `cpu`, `memory` or `cpu or memory`. */
  missing: string;
};

/** The scheduler reserves the pod's effective request; a sidecar without requests adds nothing to it. */
export const sidecarMissingResources: Rule<MissingFacts> = {
  id: 'sidecar-missing-resources',
  defaultSeverity: 'warn',
  kinds: POD_BEARING_KINDS,
  summary: 'A sidecar has no cpu or memory request, so the scheduler under-reserves the pod.',
  description:
    "The scheduler places a pod by its effective request: max(max over init containers i of (init_i + native " +
    'sidecars started before i), sum(native sidecars) + sum(containers)). A sidecar runs for the whole life of ' +
    'the pod, so it is part of that sum; without a request (or a limit, which then counts as the request) it ' +
    'counts as zero, and the node is under-reserved by whatever the sidecar really uses. Under CPU contention a ' +
    'sidecar with no cpu request gets the smallest share of CPU, and one with no memory request is among the ' +
    'first containers the OOM killer picks. ' +
    'Fix: give every sidecar (native sidecars and every regular container but the main one) cpu and memory ' +
    'requests sized to what it uses.',
  example: {
    bad: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: app
          image: registry.example.com/web:1.4.2
          resources:
            requests: { cpu: 250m, memory: 256Mi }
        - name: log-shipper
          image: fluent/fluent-bit:3.0.7
`,
    fixed: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: app
          image: registry.example.com/web:1.4.2
          resources:
            requests: { cpu: 250m, memory: 256Mi }
        - name: log-shipper
          image: fluent/fluent-bit:3.0.7
          resources:
            requests: { cpu: 50m, memory: 64Mi }
`,
  },
  problem: ({ missing }) => `requests no ${missing} from the scheduler`,
  evaluate({ pods }) {
    const findings: RuleFinding<MissingFacts>[] = [];
    for (const pod of pods) {
      const podLevel = podLevelRequests(pod);
      let effective: string | undefined;
      for (const sidecar of pod.sidecars) {
        if ((podLevel.has('cpu') || sidecar.request('cpu') !== undefined) && (podLevel.has('memory') || sidecar.request('memory') !== undefined)) continue;
        const missing = RESOURCES.filter((resource) => !podLevel.has(resource) && sidecar.request(resource) === undefined);
        const name = sidecar.name;
        effective ??= RESOURCES.map((resource) => `${resource} ${formatQuantity(effectivePodRequest(pod.spec, resource), resource)}`).join(', ');
        const kind = sidecar.kind === 'native-sidecar' ? 'native sidecar' : 'sidecar';
        findings.push({
          container: name,
          path: `${sidecar.path}.resources`,
          facts: { missing: missing.join(' or ') },
          message:
            `${kind} '${name}' has no ${missing.join(' and no ')} request (and no limit to take it from). The scheduler reserves the ` +
            `pod's effective request, max(max over init containers i of (init_i + native sidecars started before i), ` +
            `sum(native sidecars) + sum(containers)) = ${effective} here; '${name}' runs for the whole life of the pod and ` +
            `counts toward that sum as 0, so the node is under-reserved by whatever '${name}' really uses` +
            `${missing.includes('memory') ? `, and under memory pressure '${name}' is among the first containers the OOM killer picks` : ''}.`,
          fix: `Set ${missing.map((resource) => `\`resources.requests.${resource}\``).join(' and ')} on ${kind} '${name}' (${sidecar.path}.resources) to what it uses under load.`,
        });
      }
    }
    return findings;
  },
  cel: () => ({
    // A long-running container (the main one too) without a cpu or a memory request.
    candidate: (pod) =>
      `(${pod.containerSpecs} + ${pod.initSpecs}.filter(c, c.?restartPolicy.orValue('') == 'Always')).exists(c, ` +
      `!${requestOf("c.?resources.orValue({})", 'cpu')}.hasValue() || !${requestOf("c.?resources.orValue({})", 'memory')}.hasValue())`,
    checks: [
      {
        findings: (pod) => {
          const covered = (resource: string) => `${requestOf(`${pod.spec}.?resources.orValue({})`, resource)}.hasValue()`;
          const missing = `['cpu', 'memory'].filter(r, !(r == 'cpu' ? ${covered('cpu')} : ${covered('memory')}) && !(r == 'cpu' ? ${requestOf("c.spec.?resources.orValue({})", 'cpu')}.hasValue() : ${requestOf("c.spec.?resources.orValue({})", 'memory')}.hasValue()))`;
          return `${pod.sidecars}.map(c, ${bind('missing', missing, `[${record({ name: 'c.name', path: "c.path + '.resources'", kind: "c.kind == 'native-sidecar' ? 'native sidecar' : 'sidecar'", missing: 'missing' })}]`)}).map(e, e[0]).filter(e, size(e.missing) > 0)`;
        },
        key: (f) => `${f}.name + '/' + ${f}.path`,
        text: (f, pod) => {
          const name = `${f}.name`;
          const effective = `'cpu ' + ${millicores(effectiveRequest(pod, 'cpu'))} + ', memory ' + ${mebibytes(effectiveRequest(pod, 'memory'))}`;
          const oom = `'memory' in ${f}.missing ? ${celText`, and under memory pressure '${name}' is among the first containers the OOM killer picks`} : ''`;
          return celText`${`${f}.kind`} '${name}' has no ${`${f}.missing.join(' and no ')`} request (and no limit to take it from). The scheduler reserves the pod's effective request, max(max over init containers i of (init_i + native sidecars started before i), sum(native sidecars) + sum(containers)) = ${effective} here; '${name}' runs for the whole life of the pod and counts toward that sum as 0, so the node is under-reserved by whatever '${name}' really uses${oom}. Fix: Set ${`${f}.missing.map(r, '\`resources.requests.' + r + '\`').join(' and ')`} on ${`${f}.kind`} '${name}' (${`${f}.path`}) to what it uses under load.`;
        },
      },
    ],
  }),
};

/** containerRequest(): the request, else the limit, as an optional quantity. */
function requestOf(resources: string, resource: string): string {
  return `${resources}.?requests[?'${resource}'].or(${resources}.?limits[?'${resource}'])`;
}

/** effectivePodRequest() in CEL, as a double of base units. */
function effectiveRequest(pod: PodView, resource: string): string {
  const request = (c: string) => `${requestOf(`${c}.spec.?resources.orValue({})`, resource)}.optMap(q, quantity(string(q)).asApproximateFloat()).orValue(0.0)`;
  const natives = `${pod.containers}.filter(x, x.kind == 'native-sidecar')`;
  const initPeak = `${pod.containers}.filter(c, c.kind == 'init').map(c, ${request('c')} + ${natives}.filter(x, x.index < c.index).map(x, ${request('x')}).sum()).max()`;
  const running = `${pod.containers}.filter(c, c.kind != 'init').map(c, ${request('c')}).sum()`;
  return bind('peak', `${pod.containers}.exists(c, c.kind == 'init') ? ${initPeak} : 0.0`, bind('running', `size(${pod.containers}.filter(c, c.kind != 'init')) > 0 ? ${running} : 0.0`, 'peak > running ? peak : running'));
}

/** formatQuantity() for cpu: millicores, rounded half up. */
function millicores(value: string): string {
  return `string(int(${value} * 1000.0 + 0.5)) + 'm'`;
}

/** formatQuantity() for memory: Mi with at most one decimal, as JavaScript prints Math.round(x * 10) / 10. */
function mebibytes(value: string): string {
  return bind('tenths', `int(${value} / 1048576.0 * 10.0 + 0.5)`, "string(tenths / 10) + (tenths % 10 != 0 ? '.' + string(tenths % 10) : '') + 'Mi'");
}

const NOTHING_COVERED: ReadonlySet<string> = new Set();

/** Pod-level resources (`spec.resources`, PodLevelResources) budget the whole pod: a container without its own request is covered. */
function podLevelRequests(pod: PodModel): ReadonlySet<string> {
  if (!isObject(pod.spec.resources)) return NOTHING_COVERED;
  const covered = new Set<string>();
  const asContainer: Container = { resources: pod.spec.resources };
  for (const resource of RESOURCES) if (containerRequest(asContainer, resource) !== undefined) covered.add(resource);
  return covered;
}
