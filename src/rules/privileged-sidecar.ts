import { asArray, isObject } from '../model/kube.js';
import type { ContainerModel, PodModel } from '../model/pod.js';
import type { Rule, RuleFinding } from '../engine/types.js';

/**
 * What a compromised sidecar controls with a grant, worst first: the node, the memory of the processes it can
 * trace, or the traffic of the pod's network namespace, or only the container it runs in (escalation to its root).
 */
type Reach = 'node' | 'memory' | 'traffic' | 'container';
const REACH_ORDER: readonly Reach[] = ['node', 'memory', 'traffic', 'container'];
const REACH_TEXT: Readonly<Record<Reach, string>> = {
  node: 'the node',
  memory: "the app's memory",
  traffic: "the app's traffic",
  container: 'root in the sidecar',
};
/** The same in the short form, where quotes are kept for names (see engine/short-form.ts). */
const REACH_SHORT: Readonly<Record<Reach, string>> = { node: 'the node', memory: 'app memory', traffic: 'app traffic', container: 'root' };

interface Capability {
  power: string;
  reach: Reach;
}

/**
 * Capabilities that give a container the pod's network stack (NET_ADMIN), near-root power over the node
 * (SYS_ADMIN), or, where the sidecar sees other processes (shareProcessNamespace, hostPID), their memory
 * (SYS_PTRACE: ptrace and process_vm_readv on any process of the namespace, not only its own children).
 */
function capabilityOf(name: string, pod: PodModel): Capability | undefined {
  switch (name) {
    case 'NET_ADMIN':
      return { power: "rewrite the pod's iptables rules, routes and interfaces, and so intercept or redirect all of the app's traffic", reach: 'traffic' };
    case 'SYS_ADMIN':
      return { power: 'mount filesystems and use most privileged kernel interfaces, close to root on the node', reach: 'node' };
    case 'SYS_PTRACE':
      if (pod.spec.hostPID === true) return { power: 'attach to any process of the node (hostPID) and read or rewrite its memory', reach: 'node' };
      if (pod.spec.shareProcessNamespace === true) {
        return { power: "attach to the app's processes in the shared process namespace and read or rewrite their memory, secrets and keys included", reach: 'memory' };
      }
      return undefined;
    default:
      return undefined;
  }
}

interface Excess {
  path: string;
  what: string;
  power: string;
  /** `privileged`, `ALL`, the powerful capability added that reaches furthest (`SYS_ADMIN (+1)`), or `allowPrivilegeEscalation`. */
  grant: string;
  reach: Reach;
}

type PrivilegedFacts = { grant: string; reach: Reach };

export const privilegedSidecar: Rule<PrivilegedFacts> = {
  id: 'privileged-sidecar',
  defaultSeverity: 'warn',
  summary: 'A sidecar runs privileged or with powerful capabilities: a compromised helper owns the pod\'s traffic, the app\'s memory or the node.',
  description:
    'Sidecars are helpers (proxies, log shippers, reloaders, CSI registrars) that often parse untrusted input and ' +
    'are updated on another schedule than the app. A sidecar with `privileged: true` has every capability, all host ' +
    'devices and no seccomp or AppArmor confinement: whoever exploits it controls the node; `capabilities.add: [ALL]` ' +
    'grants every capability too. `NET_ADMIN` lets it rewrite the iptables rules and routes of the network ' +
    'namespace it shares with the app, so it can intercept or redirect all of the app\'s traffic; `SYS_ADMIN` is ' +
    'close to root. `SYS_PTRACE` matters where the sidecar sees other processes: with `shareProcessNamespace` it ' +
    'can attach to the app and read or rewrite its memory (keys and tokens included), with `hostPID` to any process ' +
    'of the node. An explicit `allowPrivilegeEscalation: true` lets setuid binaries and file capabilities in the ' +
    'image raise the sidecar to root; it is only reported when set, because leaving it unset has the same effect ' +
    '(the kubelet sets no_new_privs only for an explicit `false`) and is the concern of the Pod Security restricted ' +
    'level for every container. The main container and init containers are not judged here: a CSI driver or a CNI ' +
    'plugin may need the privilege itself, and a one-shot init container (sysctl tuning, iptables setup) exits ' +
    'before the app starts. Fix: drop `privileged` and the capability from the sidecar and set ' +
    '`allowPrivilegeEscalation: false`; move one-time privileged setup (iptables redirects, sysctls) into an init ' +
    'container or a CNI plugin, and grant only the narrow capability the sidecar really uses.',
  example: {
    bad: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: payments
spec:
  selector:
    matchLabels: { app: payments }
  template:
    metadata:
      labels: { app: payments }
    spec:
      containers:
        - name: payments
          image: registry.example.com/payments:5.2.0
          ports:
            - containerPort: 8080
        - name: egress-proxy
          image: envoyproxy/envoy:v1.32.3
          args: ["-c", "/etc/envoy/envoy.yaml"]
          resources:
            requests: { cpu: 100m, memory: 64Mi }
          securityContext:
            capabilities:
              add: ["NET_ADMIN"]
`,
    fixed: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: payments
spec:
  selector:
    matchLabels: { app: payments }
  template:
    metadata:
      labels: { app: payments }
    spec:
      initContainers:
        - name: redirect-egress
          image: registry.example.com/iptables-init:1.4.0
          args: ["--redirect-outbound-to=15001"]
          securityContext:
            capabilities:
              add: ["NET_ADMIN"]
      containers:
        - name: payments
          image: registry.example.com/payments:5.2.0
          ports:
            - containerPort: 8080
        - name: egress-proxy
          image: envoyproxy/envoy:v1.32.3
          args: ["-c", "/etc/envoy/envoy.yaml"]
          resources:
            requests: { cpu: 100m, memory: 64Mi }
          securityContext:
            capabilities:
              drop: ["ALL"]
`,
  },
  problem: ({ grant, reach }) =>
    grant === 'privileged'
      ? 'runs privileged: a flaw exposes the node'
      : grant === 'allowPrivilegeEscalation'
        ? 'allows privilege escalation through setuid'
        : `has ${grant === 'ALL' ? 'ALL capabilities' : grant}: a flaw exposes ${REACH_SHORT[reach]}`,
  evaluate({ pods }) {
    const findings: RuleFinding<PrivilegedFacts>[] = [];
    for (const pod of pods) {
      for (const sidecar of pod.sidecars) {
        const excess = excessOf(sidecar, pod);
        if (!excess) continue;
        findings.push({
          container: sidecar.name,
          path: excess.path,
          facts: { grant: excess.grant, reach: excess.reach },
          message:
            `sidecar '${sidecar.name}' runs with ${excess.what}, which lets it ${excess.power}: a bug or exploit in this ` +
            `helper is a compromise of ${REACH_TEXT[excess.reach]}, not just of the sidecar.`,
          fix:
            excess.grant === 'allowPrivilegeEscalation'
              ? `Set \`allowPrivilegeEscalation: false\` in ${sidecar.path}.securityContext; if '${sidecar.name}' needs root for a step, ` +
                `run that step in an init container or give it the one capability the step needs.`
              : `Remove ${excess.what} from ${sidecar.path}.securityContext; do one-time setup that needs it (iptables, sysctls) in ` +
                `an init container or a CNI plugin, and add back only the narrow capability '${sidecar.name}' really uses.`,
        });
      }
    }
    return findings;
  },
};

/**
 * The most powerful grant of a sidecar: privileged, then every capability, then the powerful ones it adds,
 * then an explicit allowPrivilegeEscalation. One finding per sidecar; the weaker grants go with the stronger.
 */
function excessOf(container: ContainerModel, pod: PodModel): Excess | undefined {
  const context = isObject(container.spec.securityContext) ? container.spec.securityContext : undefined;
  if (!context) return undefined;
  const base = `${container.path}.securityContext`;
  if (context.privileged === true) {
    return {
      path: `${base}.privileged`,
      what: 'privileged: true',
      power: 'use every capability and host device with no seccomp or AppArmor confinement',
      grant: 'privileged',
      reach: 'node',
    };
  }
  const added = asArray(isObject(context.capabilities) ? context.capabilities.add : undefined).map(capabilityName);
  const all = added.indexOf('ALL');
  if (all >= 0) {
    return {
      path: `${base}.capabilities.add[${all}]`,
      what: 'capabilities.add ALL',
      power: 'use every Linux capability (SYS_ADMIN, NET_ADMIN and SYS_PTRACE among them), close to root on the node',
      grant: 'ALL',
      reach: 'node',
    };
  }
  const powerful = new Map<string, { index: number; capability: Capability }>();
  added.forEach((name, index) => {
    const capability = powerful.has(name) ? undefined : capabilityOf(name, pod);
    if (capability) powerful.set(name, { index, capability });
  });
  const first = powerful.values().next().value;
  if (first) {
    const names = [...powerful.keys()];
    // The short form leads with the capability that reaches furthest.
    const worst = [...powerful].sort(([, a], [, b]) => REACH_ORDER.indexOf(a.capability.reach) - REACH_ORDER.indexOf(b.capability.reach));
    const [lead, { capability }] = worst[0]!;
    return {
      path: `${base}.capabilities.add[${first.index}]`,
      what: `capabilities.add ${names.join(' and ')}`,
      power: [...powerful.values()].map((entry) => entry.capability.power).join(', and '),
      grant: names.length > 1 ? `${lead} (+${names.length - 1})` : lead,
      reach: capability.reach,
    };
  }
  if (context.allowPrivilegeEscalation === true) {
    return {
      path: `${base}.allowPrivilegeEscalation`,
      what: 'allowPrivilegeEscalation: true',
      power: 'gain privileges its process was not started with, through setuid binaries and file capabilities in its image (root, if one is there)',
      grant: 'allowPrivilegeEscalation',
      reach: 'container',
    };
  }
  return undefined;
}

/** `net_admin`, `CAP_NET_ADMIN` and `NET_ADMIN` name the same capability. */
function capabilityName(value: unknown): string {
  return typeof value === 'string' ? value.trim().toUpperCase().replace(/^CAP_/, '') : '';
}
