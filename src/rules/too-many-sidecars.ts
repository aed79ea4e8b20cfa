import { celText, quoted, str } from '../cel/expr.js';
import type { Rule, RuleFinding, RuleOptionSpecs } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

const OPTIONS = {
  threshold: {
    type: 'number',
    default: 5,
    minimum: 1,
    description: 'Number of sidecars in one pod from which the rule reports.',
  },
} satisfies RuleOptionSpecs;

type TooManyFacts = {
  sidecars: number;
  threshold: number;
  /** The main container, '' when there is none. */
  main: string;
};

/** Every sidecar is multiplied by the app's replicas and shares the pod's fate. */
export const tooManySidecars: Rule<TooManyFacts, typeof OPTIONS> = {
  id: 'too-many-sidecars',
  defaultSeverity: 'warn',
  kinds: POD_BEARING_KINDS,
  summary: 'A pod runs many sidecars next to its main container.',
  description:
    'Each sidecar adds its own resource requests, image pulls, start-up time, restarts and attack surface, ' +
    'all multiplied by the number of replicas, and any of them crash-looping or failing its probes takes the ' +
    'pod out of service. Many sidecars in one pod usually means helpers that do not need to share the pod\'s ' +
    'network, volumes or lifecycle: per-node agents belong in a DaemonSet and shared services in their own ' +
    'Deployment behind a Service. Some layouts are standard (a CSI controller bundles its provisioner, attacher, ' +
    'resizer and snapshotter sidecars); raise `threshold` or exempt the workload for those. Sidecars are native ' +
    'sidecars and every regular container but the main one.',
  options: OPTIONS,
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
        - { name: app, image: "registry.example.com/web:1.4.2" }
        - { name: log-shipper, image: "fluent/fluent-bit:3.0.7" }
        - { name: metrics-exporter, image: "prom/statsd-exporter:v0.27.1" }
        - { name: config-reloader, image: "ghcr.io/jimmidyson/configmap-reload:v0.14.0" }
        - { name: auth-proxy, image: "quay.io/oauth2-proxy/oauth2-proxy:v7.7.1" }
        - { name: cache, image: "redis:7.4.1" }
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
        - { name: app, image: "registry.example.com/web:1.4.2" }
        - { name: log-shipper, image: "fluent/fluent-bit:3.0.7" }
        - { name: auth-proxy, image: "quay.io/oauth2-proxy/oauth2-proxy:v7.7.1" }
`,
  },
  problem: ({ sidecars, threshold, main }) =>
    `the pod runs ${sidecars} sidecars next to ${main ? `'${main}'` : 'its main container'} (threshold ${threshold})`,
  evaluate({ pods, options: { threshold } }) {
    const findings: RuleFinding<TooManyFacts>[] = [];
    for (const pod of pods) {
      const sidecars = pod.sidecars;
      const crossing = sidecars[Math.max(Math.ceil(threshold), 1) - 1];
      if (!crossing) continue;
      const main = pod.main ? `'${pod.main.name}'` : 'the main container';
      findings.push({
        path: crossing.path,
        facts: { sidecars: sidecars.length, threshold, main: pod.main?.name ?? '' },
        message:
          `the pod runs ${sidecars.length} sidecars next to ${main} (${sidecars.map((c) => `'${c.name}'`).join(', ')}; the threshold ` +
          `is ${threshold}): each adds its own requests, start-up time, ` +
          `restarts and attack surface to every replica, and any one of them failing takes the pod out of service.`,
        fix:
          `Move helpers that need not share the pod's network, volumes or lifecycle out of this pod (per-node agents to a DaemonSet, ` +
          `shared services to their own Deployment and Service), or, if this layout is intended, raise ` +
          `\`rules.too-many-sidecars.threshold\` above ${sidecars.length} or ask the policy's owner to exempt the workload (an \`exemptions.list\` entry in the policy file, or the \`podpatterns.io/ignore: too-many-sidecars\` annotation where the policy honours it).`,
      });
    }
    return findings;
  },
  cel: ({ options: { threshold } }) => {
    // The threshold is baked into the expression: recompile when the policy changes it.
    const crossing = Math.max(Math.ceil(threshold), 1);
    return {
      // Sidecars: the native ones and every regular container but the main one.
      candidate: (pod) =>
        `size(${pod.initSpecs}.filter(c, c.?restartPolicy.orValue('') == 'Always')) + size(${pod.containerSpecs}) - (size(${pod.containerSpecs}) > 0 ? 1 : 0) >= ${crossing}`,
      checks: [
        {
          findings: (pod) => `size(${pod.sidecars}) >= ${crossing} ? [${pod.sidecars}[${crossing - 1}].path] : []`,
          key: (f) => f,
          text: (f, pod) => {
            const count = `string(size(${pod.sidecars}))`;
            const main = `${pod.mainName} != '' ? ${quoted(pod.mainName)} : 'the main container'`;
            const names = `${pod.sidecars}.map(c, ${quoted('c.name')}).join(', ')`;
            return celText`the pod runs ${count} sidecars next to ${main} (${names}; the threshold is ${str(String(threshold))}): each adds its own requests, start-up time, restarts and attack surface to every replica, and any one of them failing takes the pod out of service. Fix: Move helpers that need not share the pod's network, volumes or lifecycle out of this pod (per-node agents to a DaemonSet, shared services to their own Deployment and Service), or, if this layout is intended, raise \`rules.too-many-sidecars.threshold\` above ${count} or ask the policy's owner to exempt the workload (an \`exemptions.list\` entry in the policy file, or the \`podpatterns.io/ignore: too-many-sidecars\` annotation where the policy honours it).`;
          },
        },
      ],
    };
  },
};
