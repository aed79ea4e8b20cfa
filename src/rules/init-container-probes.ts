import { nativeSidecarsSupported } from '../model/native-sidecars.js';
import type { Rule, RuleFinding } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

/** Fields the API server forbids on init containers without `restartPolicy: Always` (validateInitContainers in pkg/apis/core/validation/validation.go). */
const FORBIDDEN_ON_INIT = ['livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle'] as const;

type ProbeFacts = { field: (typeof FORBIDDEN_ON_INIT)[number] };

export const initContainerProbes: Rule<ProbeFacts> = {
  id: 'init-container-probes',
  defaultSeverity: 'deny',
  kinds: POD_BEARING_KINDS,
  summary: 'A regular init container has probes or lifecycle hooks, which the API server rejects.',
  description:
    'A regular init container runs once to completion before the app starts, so there is nothing to probe: ' +
    'the API server rejects `livenessProbe`, `readinessProbe`, `startupProbe` and `lifecycle` on an init container ' +
    'without `restartPolicy: Always` ("may not be set for init containers without restartPolicy=Always"), and the ' +
    'workload is never created. Native sidecars (init containers with `restartPolicy: Always`) may have them. Fix: ' +
    'remove the fields, or, if the container is meant to keep running next to the app, make it a native sidecar ' +
    'by adding `restartPolicy: Always` (Kubernetes 1.29+).',
  example: {
    bad: `apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  initContainers:
    - name: migrate
      image: registry.example.com/api-migrations:3.2.0
      command: ["migrate", "up"]
      readinessProbe:
        exec:
          command: ["test", "-f", "/tmp/done"]
  containers:
    - name: api
      image: registry.example.com/api:3.2.0
`,
    fixed: `apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  initContainers:
    - name: migrate
      image: registry.example.com/api-migrations:3.2.0
      command: ["migrate", "up"]
  containers:
    - name: api
      image: registry.example.com/api:3.2.0
`,
  },
  problem: ({ field }) => `has ${field}, forbidden on init containers`,
  evaluate({ pods, context }) {
    const findings: RuleFinding<ProbeFacts>[] = [];
    const native = nativeSidecarsSupported(context.kubernetesVersion, context.minKubeletVersion);
    for (const pod of pods) {
      for (const container of pod.inits) {
        const name = container.name;
        const keepsRunning = container.longRunningCommand !== undefined;
        for (const field of FORBIDDEN_ON_INIT) {
          const value = container.spec[field];
          if (value === undefined || value === null) continue;
          const path = `${container.path}.${field}`;
          const remove = `remove \`${field}\` from init container '${name}' (${path})`;
          const sidecar = `make '${name}' a native sidecar by adding \`restartPolicy: Always\` to ${container.path} (Kubernetes 1.29+), where \`${field}\` is allowed`;
          findings.push({
            container: name,
            path,
            facts: { field },
            message:
              `init container '${name}' sets \`${field}\`: the API server rejects it ("${path}: Forbidden: may not be set ` +
              `for init containers without restartPolicy=Always"), so the ${pod.kind || 'object'} is never created. A regular ` +
              `init container runs once to completion; only native sidecars may have probes and lifecycle hooks.`,
            fix: !native
              ? `${capitalize(remove)}; native sidecars, which may have it, need Kubernetes 1.29+ on the API server and every kubelet.`
              : keepsRunning
                ? `'${name}' keeps running, so ${sidecar}; otherwise ${remove}.`
                : `${capitalize(remove)}; or, if '${name}' is meant to keep running next to the app, ${sidecar}.`,
          });
        }
      }
    }
    return findings;
  },
  cel: () => ({
    unavailable: 'not-needed',
    reason: 'the API server rejects these fields on a regular init container itself (field validation), before any admission policy runs',
  }),
};

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
