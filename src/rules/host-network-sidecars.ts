import { asNumber, isObject } from '../model/kube.js';
import type { ContainerModel } from '../model/pod.js';
import { celText, quoted } from '../cel/expr.js';
import type { Rule, RuleFinding } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

type HostNetworkFacts = {
  /** The first sidecar. */
  sidecar: string;
  /** How many more sidecars there are. */
  more: number;
};

/**
 * With `hostNetwork` every container binds in the node's network namespace. The API server defaults each
 * declared `containerPort` to an equal `hostPort` in such pods (pkg/apis/core/v1/defaults.go), so the
 * scheduler keeps replicas apart; ports a sidecar binds without declaring them clash at bind time.
 */
export const hostNetworkSidecars: Rule<HostNetworkFacts> = {
  id: 'host-network-sidecars',
  defaultSeverity: 'warn',
  kinds: POD_BEARING_KINDS,
  summary: 'A hostNetwork pod runs sidecars: every port they bind is a port of the node.',
  description:
    'A pod with `hostNetwork: true` shares the node\'s network namespace, and so do all its containers. A ' +
    'sidecar\'s listeners (metrics, health, admin, proxy ports) become ports of the node: two replicas of the pod ' +
    'cannot run on the same node; a declared port keeps the pod off nodes where another pod declares it (in a ' +
    'hostNetwork pod the `hostPort` defaults to the `containerPort`, so the scheduler sees it), while a port a node ' +
    'daemon holds, or another pod binds without declaring it, fails to bind (`address already in use`) and the ' +
    'container crash-loops; and whatever the sidecar serves is reachable on the node\'s IP. One long-running container with init containers, the usual CNI or node-agent layout, is left alone. ' +
    'Fix: move the sidecars into a pod of their own without `hostNetwork`, or drop `hostNetwork` if the main ' +
    'container does not need the node\'s network; when they must stay, declare every port they bind in `ports` ' +
    'so the scheduler sees the conflicts.',
  example: {
    bad: `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
  namespace: monitoring
spec:
  selector:
    matchLabels: { app: node-agent }
  template:
    metadata:
      labels: { app: node-agent }
    spec:
      hostNetwork: true
      containers:
        - name: agent
          image: registry.example.com/node-agent:3.2.0
          args: ["--listen=127.0.0.1:9101"]
        - name: kube-rbac-proxy
          image: quay.io/brancz/kube-rbac-proxy:v0.18.2
          args: ["--secure-listen-address=0.0.0.0:9100", "--upstream=http://127.0.0.1:9101/"]
          resources:
            requests: { cpu: 10m, memory: 20Mi }
          ports:
            - { name: https, containerPort: 9100 }
`,
    fixed: `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
  namespace: monitoring
spec:
  selector:
    matchLabels: { app: node-agent }
  template:
    metadata:
      labels: { app: node-agent }
    spec:
      hostNetwork: true
      containers:
        - name: agent
          image: registry.example.com/node-agent:3.2.0
          args: ["--listen=0.0.0.0:9100", "--tls-cert-file=/etc/tls/tls.crt", "--tls-key-file=/etc/tls/tls.key"]
          ports:
            - { name: https, containerPort: 9100 }
`,
  },
  problem: ({ sidecar, more }) =>
    more > 0
      ? `with hostNetwork, sidecars like '${sidecar}' bind node ports`
      : `with hostNetwork, sidecar '${sidecar}' binds node ports`,
  evaluate({ pods }) {
    const findings: RuleFinding<HostNetworkFacts>[] = [];
    for (const pod of pods) {
      if (pod.spec.hostNetwork !== true || pod.longRunning.length < 2) continue;
      const sidecars = `${pod.sidecars.length > 1 ? 'sidecars' : 'sidecar'} ${pod.sidecars.map(describe).join(', ')}`;
      const names = pod.sidecars.map((c) => `'${c.name}'`).join(', ');
      const own = pod.sidecars.length > 1 ? 'their own' : 'its own';
      const main = pod.main ? `'${pod.main.name}'` : 'the main container';
      const replicas = pod.kind === 'DaemonSet' ? '' : 'two replicas of the pod cannot run on the same node, and ';
      findings.push({
        path: `${pod.specPath}.hostNetwork`,
        facts: { sidecar: pod.sidecars[0]?.name ?? '', more: Math.max(0, pod.sidecars.length - 1) },
        message:
          `hostNetwork puts ${pod.longRunning.length} long-running containers in the node's network namespace, ${sidecars} ` +
          `included: every port they bind is a port of the node, so ${replicas}a port a node daemon holds, or another pod binds ` +
          `without declaring it, fails to bind and the container crash-loops; whatever they serve is reachable on the node's IP.`,
        fix:
          `Move ${names} into a pod of ${own} without hostNetwork, or ` +
          `remove \`hostNetwork: true\` from ${pod.specPath} if ${main} does not need the node's network; if ${names} must ` +
          `stay, declare every port ${pod.sidecars.length > 1 ? 'they bind in their' : 'it binds in its'} \`ports\` so the scheduler sees the conflicts.`,
      });
    }
    return findings;
  },
  cel: () => ({
    candidate: (pod) => `${pod.spec}.?hostNetwork.orValue(false) == true`,
    checks: [
      {
        findings: (pod) => `${pod.spec}.?hostNetwork.orValue(false) == true && size(${pod.longRunning}) >= 2 ? [${pod.specPath}] : []`,
        key: (f) => f,
        text: (_, pod) => {
          const many = `size(${pod.sidecars}) > 1`;
          const ports = "c.spec.?ports.orValue([]).filter(p, has(p.containerPort)).map(p, string(p.containerPort))";
          const described = `${pod.sidecars}.map(c, size(${ports}) > 0 ? ${quoted('c.name')} + ' (ports ' + ${ports}.join(', ') + ')' : ${quoted('c.name')}).join(', ')`;
          const names = `${pod.sidecars}.map(c, ${quoted('c.name')}).join(', ')`;
          const main = `${pod.mainName} != '' ? ${quoted(pod.mainName)} : 'the main container'`;
          const replicas = `${pod.kind} == 'DaemonSet' ? '' : 'two replicas of the pod cannot run on the same node, and '`;
          return celText`hostNetwork puts ${`string(size(${pod.longRunning}))`} long-running containers in the node's network namespace, ${`${many} ? 'sidecars' : 'sidecar'`} ${described} included: every port they bind is a port of the node, so ${replicas}a port a node daemon holds, or another pod binds without declaring it, fails to bind and the container crash-loops; whatever they serve is reachable on the node's IP. Fix: Move ${names} into a pod of ${`${many} ? 'their own' : 'its own'`} without hostNetwork, or remove \`hostNetwork: true\` from ${pod.specPath} if ${main} does not need the node's network; if ${names} must stay, declare every port ${`${many} ? 'they bind in their' : 'it binds in its'`} \`ports\` so the scheduler sees the conflicts.`;
        },
      },
    ],
  }),
};

function describe(container: ContainerModel): string {
  const ports = (Array.isArray(container.spec.ports) ? container.spec.ports : [])
    .map((entry) => (isObject(entry) ? asNumber(entry.containerPort) : undefined))
    .filter((port): port is number => port !== undefined);
  return ports.length > 0 ? `'${container.name}' (ports ${ports.join(', ')})` : `'${container.name}'`;
}
