import { celText, quoted } from '../cel/expr.js';
import type { Rule, RuleFinding } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

type SharedPidFacts = {
  /** How many containers share the namespace. */
  containers: number;
  /** The main container, '' when there is none. */
  app: string;
};

/**
 * `shareProcessNamespace` puts every container of the pod in one PID namespace, behind the pause
 * container as PID 1: https://kubernetes.io/docs/tasks/configure-pod-container/share-process-namespace/
 */
export const sharedProcessNamespace: Rule<SharedPidFacts> = {
  id: 'shared-process-namespace',
  defaultSeverity: 'warn',
  kinds: POD_BEARING_KINDS,
  summary: 'A multi-container pod shares one process namespace: every container can see, signal and read the others.',
  description:
    'With `shareProcessNamespace: true` all containers of the pod run in one PID namespace. Every container ' +
    'sees the processes of the others and, subject only to Unix permissions, can signal them, read their ' +
    'command lines and environment (secrets passed as env vars included) under `/proc/<pid>/environ`, and ' +
    'browse their filesystems through `/proc/<pid>/root`. The pause container becomes PID 1, so the app is no ' +
    'longer PID 1: `kill -HUP 1` hits the pause container, and an app that relied on being PID 1 (no default ' +
    'signal handlers, reaping zombies) behaves differently. The usual reason to turn it on is a sidecar that ' +
    'signals the app after a config change. Fix: drop `shareProcessNamespace` and let the app reload on its ' +
    'own, through an HTTP reload endpoint the sidecar calls (`/-/reload`) or by watching the mounted file.',
  example: {
    bad: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: prometheus
spec:
  selector:
    matchLabels: { app: prometheus }
  template:
    metadata:
      labels: { app: prometheus }
    spec:
      shareProcessNamespace: true
      containers:
        - name: prometheus
          image: quay.io/prometheus/prometheus:v3.1.0
          args: ["--config.file=/etc/prometheus/prometheus.yml"]
          ports:
            - containerPort: 9090
          volumeMounts:
            - { name: config, mountPath: /etc/prometheus }
        - name: config-reloader
          image: registry.example.com/signal-reloader:2.1.0
          args: ["--watch-dir=/etc/prometheus", "--signal=HUP", "--process-name=prometheus"]
          resources:
            requests: { cpu: 10m, memory: 16Mi }
          volumeMounts:
            - { name: config, mountPath: /etc/prometheus }
      volumes:
        - name: config
          configMap: { name: prometheus-config }
`,
    fixed: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: prometheus
spec:
  selector:
    matchLabels: { app: prometheus }
  template:
    metadata:
      labels: { app: prometheus }
    spec:
      containers:
        - name: prometheus
          image: quay.io/prometheus/prometheus:v3.1.0
          args: ["--config.file=/etc/prometheus/prometheus.yml", "--web.enable-lifecycle"]
          ports:
            - containerPort: 9090
          volumeMounts:
            - { name: config, mountPath: /etc/prometheus }
        - name: config-reloader
          image: ghcr.io/jimmidyson/configmap-reload:v0.14.0
          args: ["--volume-dir=/etc/prometheus", "--webhook-url=http://127.0.0.1:9090/-/reload"]
          resources:
            requests: { cpu: 10m, memory: 16Mi }
          volumeMounts:
            - { name: config, mountPath: /etc/prometheus }
      volumes:
        - name: config
          configMap: { name: prometheus-config }
`,
  },
  problem: ({ containers, app }) =>
    app
      ? `'${app}' shares its PID namespace with ${containers - 1} ${containers > 2 ? 'containers' : 'container'}`
      : `${containers} containers share one PID namespace`,
  evaluate({ pods }) {
    const findings: RuleFinding<SharedPidFacts>[] = [];
    for (const pod of pods) {
      // A single container has nobody to share with; the pause container as PID 1 alone is not worth a warning.
      if (pod.spec.shareProcessNamespace !== true || pod.containers.length < 2) continue;
      const names = pod.containers.map((c) => (c.kind === 'init' ? `'${c.name}' (init)` : `'${c.name}'`)).join(', ');
      const app = pod.main ? `'${pod.main.name}'` : 'the app';
      findings.push({
        path: `${pod.specPath}.shareProcessNamespace`,
        facts: { containers: pod.containers.length, app: pod.main?.name ?? '' },
        message:
          `containers ${names} share one process namespace: each can see and signal the others' processes, read their ` +
          `environment (secrets passed as env vars included) under /proc/<pid>/environ and their filesystems under ` +
          `/proc/<pid>/root, limited only by Unix permissions; the pause container becomes PID 1, so ${app} is no ` +
          `longer PID 1 and its signal handling changes (\`kill -HUP 1\` now hits the pause container).`,
        fix:
          `Remove \`shareProcessNamespace: true\` from ${pod.specPath}. If a sidecar signals ${app} to reload its ` +
          `configuration, have it call an HTTP reload endpoint of ${app} instead, or let ${app} watch the mounted file.`,
      });
    }
    return findings;
  },
  cel: () => ({
    candidate: (pod) => `${pod.spec}.?shareProcessNamespace.orValue(false) == true`,
    checks: [
      {
        findings: (pod) => `${pod.spec}.?shareProcessNamespace.orValue(false) == true && size(${pod.containers}) >= 2 ? [${pod.specPath}] : []`,
        key: (f) => f,
        text: (_, pod) => {
          const names = `${pod.containers}.map(c, c.kind == 'init' ? ${quoted('c.name')} + ' (init)' : ${quoted('c.name')}).join(', ')`;
          const app = `${pod.mainName} != '' ? ${quoted(pod.mainName)} : 'the app'`;
          return celText`containers ${names} share one process namespace: each can see and signal the others' processes, read their environment (secrets passed as env vars included) under /proc/<pid>/environ and their filesystems under /proc/<pid>/root, limited only by Unix permissions; the pause container becomes PID 1, so ${app} is no longer PID 1 and its signal handling changes (\`kill -HUP 1\` now hits the pause container). Fix: Remove \`shareProcessNamespace: true\` from ${pod.specPath}. If a sidecar signals ${app} to reload its configuration, have it call an HTTP reload endpoint of ${app} instead, or let ${app} watch the mounted file.`;
        },
      },
    ],
  }),
};
