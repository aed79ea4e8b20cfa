import { describeBlocker, nativeSidecarBlockers, type SidecarBlocker } from '../model/native-sidecars.js';
import { celText, str } from '../cel/expr.js';
import { formatVersion } from '../model/version.js';
import type { Rule, RuleFinding } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

type UnsupportedFacts = {
  /** The component whose consequence counts: a field the API server drops never reaches a kubelet. */
  component: 'API server' | 'kubelet';
  version: string;
};

/**
 * Native sidecars need SidecarContainers on the API server and on the kubelet that runs the pod: alpha and
 * off in 1.28, beta and on from 1.29 (pkg/features/kube_features.go). With the gate off the API server drops
 * `initContainers[].restartPolicy` before validation (DropDisabledPodFields / DropDisabledTemplateFields).
 */
export const nativeSidecarUnsupported: Rule<UnsupportedFacts> = {
  id: 'native-sidecar-unsupported',
  defaultSeverity: 'deny',
  kinds: POD_BEARING_KINDS,
  // Dropped by a 1.28 API server (SidecarContainers off by default): only /mutate sees it there.
  droppedFields: ['initContainers[].restartPolicy'],
  summary: 'A native sidecar (init container with `restartPolicy: Always`) on a cluster older than 1.29.',
  description:
    'Native sidecars need Kubernetes 1.29 on the API server and on every kubelet. A 1.28 API server has the ' +
    'SidecarContainers feature gate off by default and silently drops `restartPolicy` from init containers ' +
    '(older ones do not know the field), so the sidecar becomes a regular init container that never exits ' +
    'and the pod hangs in `Init` forever. With a new enough control plane, nodes may still lag behind (a kubelet ' +
    'may be up to three minors older): a kubelet of 1.27 or older ignores the field with the same result, and a ' +
    '1.28 kubelet with the gate off rejects the pod. Fix: upgrade the API server and every node to 1.29+, or ' +
    'until then run the helper as a classic sidecar in `containers`.',
  example: {
    kubernetesVersion: '1.28',
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
          restartPolicy: Always
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
      containers:
        - name: app
          image: registry.example.com/web:1.4.2
        - name: log-shipper
          image: fluent/fluent-bit:3.0.7
`,
  },
  problem: ({ component, version }) =>
    component === 'kubelet' && version === '1.28'
      ? 'is a native sidecar; 1.28 nodes reject it'
      : `is a native sidecar: stuck in Init on ${version}`,
  evaluate({ pods, context }) {
    const blockers = nativeSidecarBlockers(context.kubernetesVersion, context.minKubeletVersion);
    if (blockers.length === 0) return [];
    const first = blockers[0]!;
    const findings: RuleFinding<UnsupportedFacts>[] = [];
    for (const pod of pods) {
      for (const container of pod.containers) {
        if (container.kind !== 'native-sidecar') continue;
        const name = container.name;
        const classic = pod.runToCompletion
          ? ` (in a ${pod.kind} a classic sidecar keeps the pod running, so make it exit when the main container finishes)`
          : '';
        findings.push({
          container: name,
          path: `${container.path}.restartPolicy`,
          facts: { component: first.component, version: formatVersion(first.version) },
          message:
            `'${name}' is a native sidecar (\`restartPolicy: Always\` on an init container), which needs Kubernetes 1.29+, ` +
            `but ${blockers.map(describeBlocker).join(' and ')} ${blockers.length > 1 ? 'are' : 'is'} older: ` +
            // A field the API server drops never reaches a kubelet: its consequence is the one that matters.
            `${consequence(first)}.`,
          fix:
            `Upgrade ${blockers.map((b) => (b.component === 'kubelet' ? 'every node' : 'the API server')).join(' and ')} to 1.29+, ` +
            `or until then move '${name}' from \`initContainers\` to \`containers\` and remove its \`restartPolicy\`${classic}.`,
        });
      }
    }
    return findings;
  },
  cel: ({ kubernetesVersion, minKubeletVersion }) => {
    // Policies exist from 1.30, where the API server keeps the field: only old kubelets can block native sidecars.
    const blockers = nativeSidecarBlockers(kubernetesVersion, minKubeletVersion);
    if (blockers.length === 0) return { unavailable: 'not-needed', reason: 'native sidecars work on the target: API server and every kubelet are 1.29+' };
    const described = `${blockers.map(describeBlocker).join(' and ')} ${blockers.length > 1 ? 'are' : 'is'} older: ${consequence(blockers[0]!)}.`;
    const upgrade = blockers.map((b) => (b.component === 'kubelet' ? 'every node' : 'the API server')).join(' and ');
    return {
      candidate: (pod) => `${pod.initSpecs}.exists(c, c.?restartPolicy.orValue('') == 'Always')`,
      checks: [
        {
          findings: (pod) => `${pod.containers}.filter(c, c.kind == 'native-sidecar')`,
          key: (f) => `${f}.name + '/' + ${f}.path + '.restartPolicy'`,
          text: (f, pod) => {
            const classic = `${pod.runToCompletion} ? ' (in a ' + ${pod.kind} + ' a classic sidecar keeps the pod running, so make it exit when the main container finishes)' : ''`;
            return celText`'${`${f}.name`}' is a native sidecar (\`restartPolicy: Always\` on an init container), which needs Kubernetes 1.29+, but ${str(described)} Fix: Upgrade ${str(upgrade)} to 1.29+, or until then move '${`${f}.name`}' from \`initContainers\` to \`containers\` and remove its \`restartPolicy\`${classic}.`;
          },
        },
      ],
    };
  },
};

function consequence(blocker: SidecarBlocker): string {
  const minor = blocker.version.major === 1 ? blocker.version.minor : Number.POSITIVE_INFINITY;
  if (blocker.component === 'API server') {
    return minor === 28
      ? 'with the SidecarContainers gate off (its default in 1.28) the API server silently drops the field, so the sidecar becomes a regular init container that never exits and the pod hangs in Init forever'
      : 'the API server does not know the field and drops it, so the sidecar becomes a regular init container that never exits and the pod hangs in Init forever';
  }
  return minor === 28
    ? 'a 1.28 kubelet with the SidecarContainers gate off (its default) rejects the pod'
    : 'on nodes with a kubelet of 1.27 or older the field is ignored, so the sidecar runs as a regular init container that never exits and the pod hangs in Init forever';
}
