import { asArray, isObject } from '../model/kube.js';
import type { ContainerModel, PodModel } from '../model/pod.js';
import { bind, celText, quoted, record, str } from '../cel/expr.js';
import type { CelForm, Rule, RuleFinding } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

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

/** What each grant lets a sidecar do, word for word in the engine's messages and the CEL form's. */
const POWER = {
  privileged: 'use every capability and host device with no seccomp or AppArmor confinement',
  ALL: 'use every Linux capability (SYS_ADMIN, NET_ADMIN and SYS_PTRACE among them), close to root on the node',
  NET_ADMIN: "rewrite the pod's iptables rules, routes and interfaces, and so intercept or redirect all of the app's traffic",
  SYS_ADMIN: 'mount filesystems and use most privileged kernel interfaces, close to root on the node',
  SYS_PTRACE_HOST: 'attach to any process of the node (hostPID) and read or rewrite its memory',
  SYS_PTRACE_SHARED: "attach to the app's processes in the shared process namespace and read or rewrite their memory, secrets and keys included",
  allowPrivilegeEscalation: 'gain privileges its process was not started with, through setuid binaries and file capabilities in its image (root, if one is there)',
} as const;

/**
 * Capabilities that give a container the pod's network stack (NET_ADMIN), near-root power over the node
 * (SYS_ADMIN), or, where the sidecar sees other processes (shareProcessNamespace, hostPID), their memory
 * (SYS_PTRACE: ptrace and process_vm_readv on any process of the namespace, not only its own children).
 */
function capabilityOf(name: string, pod: PodModel): Capability | undefined {
  switch (name) {
    case 'NET_ADMIN':
      return { power: POWER.NET_ADMIN, reach: 'traffic' };
    case 'SYS_ADMIN':
      return { power: POWER.SYS_ADMIN, reach: 'node' };
    case 'SYS_PTRACE':
      if (pod.spec.hostPID === true) return { power: POWER.SYS_PTRACE_HOST, reach: 'node' };
      if (pod.spec.shareProcessNamespace === true) return { power: POWER.SYS_PTRACE_SHARED, reach: 'memory' };
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
  kinds: POD_BEARING_KINDS,
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
  cel: () => privilegedSidecarCel,
};

/**
 * The excess of each sidecar as excessOf() finds it, a record (name, cpath, path, what, power, reach, escalation):
 * privileged, else ALL, else the powerful capabilities in the order they are first added, else an explicit
 * allowPrivilegeEscalation.
 */
const privilegedSidecarCel: CelForm = {
  candidate: (pod) =>
    `(${pod.initSpecs} + ${pod.containerSpecs}).exists(c, c.?securityContext.?privileged.orValue(false) == true || ` +
    `size(c.?securityContext.?capabilities.?add.orValue([])) > 0 || c.?securityContext.?allowPrivilegeEscalation.orValue(false) == true)`,
  checks: [
    {
      findings: (pod) => {
        const ptrace = `(${pod.spec}.?hostPID.orValue(false) == true || ${pod.spec}.?shareProcessNamespace.orValue(false) == true)`;
        const caps = "sc.?capabilities.?add.orValue([]).map(x, [string(x).trim().upperAscii()].map(n, n.startsWith('CAP_') ? n.substring(4) : n)[0])";
        // The powerful capabilities present, in the order caps first names them (at most three: ranked by position).
        const present = `['NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE'].filter(n, n in caps && (n != 'SYS_PTRACE' || ${ptrace}))`;
        const ordered = bind('ps', present, "[0, 1, 2].filter(k, k < size(ps)).map(k, ps.filter(n, ps.filter(m, caps.indexOf(m) < caps.indexOf(n)).size() == k)[0])");
        const powerOf = (n: string) =>
          `(${n} == 'NET_ADMIN' ? ${str(POWER.NET_ADMIN)} : ${n} == 'SYS_ADMIN' ? ${str(POWER.SYS_ADMIN)} : ${pod.spec}.?hostPID.orValue(false) == true ? ${str(POWER.SYS_PTRACE_HOST)} : ${str(POWER.SYS_PTRACE_SHARED)})`;
        const reachOf = `names.exists(n, n == 'SYS_ADMIN' || (n == 'SYS_PTRACE' && ${pod.spec}.?hostPID.orValue(false) == true)) ? ${str(REACH_TEXT.node)} : 'SYS_PTRACE' in names ? ${str(REACH_TEXT.memory)} : ${str(REACH_TEXT.traffic)}`;
        const entry = (fields: { path: string; what: string; power: string; reach: string; escalation?: boolean }) =>
          record({ name: 'c.name', cpath: 'c.path', path: fields.path, what: fields.what, power: fields.power, reach: fields.reach, escalation: fields.escalation ? 'true' : 'false' });
        const capabilities = bind('names', ordered,
          `size(names) > 0 ? [${entry({
            path: "c.path + '.securityContext.capabilities.add[' + string(caps.indexOf(names[0])) + ']'",
            what: "'capabilities.add ' + names.join(' and ')",
            power: `names.map(n, ${powerOf('n')}).join(', and ')`,
            reach: reachOf,
          })}] : sc.?allowPrivilegeEscalation.orValue(false) == true ? [${entry({
            path: "c.path + '.securityContext.allowPrivilegeEscalation'",
            what: "'allowPrivilegeEscalation: true'",
            power: str(POWER.allowPrivilegeEscalation),
            reach: str(REACH_TEXT.container),
            escalation: true,
          })}] : []`);
        const all = entry({
          path: "c.path + '.securityContext.capabilities.add[' + string(caps.indexOf('ALL')) + ']'",
          what: "'capabilities.add ALL'",
          power: str(POWER.ALL),
          reach: str(REACH_TEXT.node),
        });
        const privileged = entry({ path: "c.path + '.securityContext.privileged'", what: "'privileged: true'", power: str(POWER.privileged), reach: str(REACH_TEXT.node) });
        const excess = bind('caps', caps, `'ALL' in caps ? [${all}] : ${capabilities}`);
        return `${pod.sidecars}.map(c, ${bind('sc', 'c.spec.?securityContext.orValue({})', `sc.?privileged.orValue(false) == true ? [${privileged}] : ${excess}`)}).filter(e, size(e) > 0).map(e, e[0])`;
      },
      key: (f) => `${f}.name + '/' + ${f}.path`,
      text: (f) => {
        const name = `${f}.name`;
        const fix = `${f}.escalation ? ${celText`Set \`allowPrivilegeEscalation: false\` in ${`${f}.cpath`}.securityContext; if ${quoted(name)} needs root for a step, run that step in an init container or give it the one capability the step needs.`} : ${celText`Remove ${`${f}.what`} from ${`${f}.cpath`}.securityContext; do one-time setup that needs it (iptables, sysctls) in an init container or a CNI plugin, and add back only the narrow capability ${quoted(name)} really uses.`}`;
        return celText`sidecar ${quoted(name)} runs with ${`${f}.what`}, which lets it ${`${f}.power`}: a bug or exploit in this helper is a compromise of ${`${f}.reach`}, not just of the sidecar. Fix: ${fix}`;
      },
    },
  ],
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
      power: POWER.privileged,
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
      power: POWER.ALL,
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
      power: POWER.allowPrivilegeEscalation,
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
