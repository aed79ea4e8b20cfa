import { isObject, type Container } from '../model/kube.js';
import type { PodModel } from '../model/pod.js';
import { containerRequest, effectivePodRequest, formatQuantity } from '../model/resources.js';
import type { Rule, RuleFinding } from '../engine/types.js';

const RESOURCES = ['cpu', 'memory'] as const;

type MissingFacts = {
  /** `cpu`, `memory` or `cpu or memory`. */
  missing: string;
};

/** The scheduler reserves the pod's effective request; a sidecar without requests adds nothing to it. */
export const sidecarMissingResources: Rule<MissingFacts> = {
  id: 'sidecar-missing-resources',
  defaultSeverity: 'warn',
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
        const missing = RESOURCES.filter((resource) => !podLevel.has(resource) && containerRequest(sidecar.spec, resource) === undefined);
        if (missing.length === 0) continue;
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
};

/** Pod-level resources (`spec.resources`, PodLevelResources) budget the whole pod: a container without its own request is covered. */
function podLevelRequests(pod: PodModel): Set<string> {
  const covered = new Set<string>();
  if (!isObject(pod.spec.resources)) return covered;
  const asContainer: Container = { resources: pod.spec.resources };
  for (const resource of RESOURCES) if (containerRequest(asContainer, resource) !== undefined) covered.add(resource);
  return covered;
}
