import { LONG_RUNNING_COMMAND_IN_CEL } from '../model/command.js';
import { nativeSidecarsSupported } from '../model/native-sidecars.js';
import type { Rule, RuleFinding } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

type NeverExitsFacts = Record<string, never>;

/** Init containers run one at a time and each must exit before the next one, and the app, can start. */
export const initContainerNeverExits: Rule<NeverExitsFacts> = {
  id: 'init-container-never-exits',
  defaultSeverity: 'deny',
  kinds: POD_BEARING_KINDS,
  summary: 'A regular init container runs a command that never returns, so the pod never starts.',
  description:
    'Regular init containers run one after another, and each must exit successfully before the next one ' +
    'starts; the app containers start only when all of them have exited. An init container whose command ' +
    'keeps it alive (`sleep infinity`, `tail -f /dev/null`, `while true` with no way out, a server started ' +
    'with `&` and then `wait`) never exits, so the pod stays in `Init` forever and the app never runs. This ' +
    'is usually a sidecar written as an init container. Fix: on Kubernetes 1.29+ make it a native sidecar ' +
    'by adding `restartPolicy: Always` to the init container (it then keeps running next to the app and ' +
    'starts before it) and run the process in the foreground; on older clusters move it to `containers`. ' +
    'If it was meant to finish, remove the construct that keeps it alive. Loops that end ' +
    '(`until nc -z db 5432; do sleep 2; done`, `for i in $(seq 1 12)`) are fine.',
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
      initContainers:
        - name: log-shipper
          image: fluent/fluent-bit:3.0.7
          command: ["sh", "-c", "fluent-bit -c /fluent-bit/etc/fluent-bit.conf & sleep infinity"]
      containers:
        - name: app
          image: registry.example.com/web:1.4.2
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
      initContainers:
        - name: log-shipper
          image: fluent/fluent-bit:3.0.7
          restartPolicy: Always
          command: ["fluent-bit", "-c", "/fluent-bit/etc/fluent-bit.conf"]
      containers:
        - name: app
          image: registry.example.com/web:1.4.2
`,
  },
  problem: () => 'never exits, so the pod is stuck in Init',
  evaluate({ pods, context }) {
    const findings: RuleFinding<NeverExitsFacts>[] = [];
    const native = nativeSidecarsSupported(context.kubernetesVersion, context.minKubeletVersion);
    for (const pod of pods) {
      for (const container of pod.inits) {
        const evidence = container.longRunningCommand;
        if (!evidence) continue;
        const field = `${container.path}.${evidence.field}`;
        const name = container.name;
        findings.push({
          container: name,
          path: field,
          facts: {},
          message:
            `init container '${name}' never exits: ${evidence.reason}. Init containers must exit before the next one ` +
            `and the app containers start, so the pod stays in 'Init' forever and its containers never run.`,
          fix: native
            ? `If '${name}' should keep running next to the app, make it a native sidecar: add \`restartPolicy: Always\` ` +
              `to ${container.path} (Kubernetes 1.29+) and run its process in the foreground instead of \`${evidence.construct}\`. ` +
              `If it should finish, remove \`${evidence.construct}\` from ${field}.`
            : `If '${name}' should keep running next to the app, move it from \`initContainers\` to \`containers\` ` +
              `(native sidecars need Kubernetes 1.29+ on the API server and every kubelet) and run its process in the ` +
              `foreground instead of \`${evidence.construct}\`. If it should finish, remove \`${evidence.construct}\` from ${field}.`,
        });
      }
    }
    return findings;
  },
  cel: () => ({
    unavailable: 'webhook-only',
    reason: LONG_RUNNING_COMMAND_IN_CEL,
  }),
};
