import { asArray, isObject } from '../model/kube.js';
import type { ContainerModel } from '../model/pod.js';
import { bind, celText, record, str } from '../cel/expr.js';
import type { CelForm, Rule, RuleFinding } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

/** Capabilities that give a container the pod's network stack (NET_ADMIN) or near-root power over the node (SYS_ADMIN). */
const POWERFUL_CAPABILITIES: Readonly<Record<string, string>> = {
  NET_ADMIN: 'rewrite the pod\'s iptables rules, routes and interfaces, and so intercept or redirect all of the app\'s traffic',
  SYS_ADMIN: 'mount filesystems and use most privileged kernel interfaces, close to root on the node',
};

interface Excess {
  path: string;
  what: string;
  power: string;
  /** `privileged`, or the powerful capabilities added, `NET_ADMIN, SYS_ADMIN`. */
  grant: string;
}

type PrivilegedFacts = { grant: string };

export const privilegedSidecar: Rule<PrivilegedFacts> = {
  id: 'privileged-sidecar',
  defaultSeverity: 'warn',
  kinds: POD_BEARING_KINDS,
  summary: 'A sidecar runs privileged or with NET_ADMIN/SYS_ADMIN: a compromised helper owns the pod\'s traffic or the node.',
  description:
    'Sidecars are helpers (proxies, log shippers, reloaders, CSI registrars) that often parse untrusted input and ' +
    'are updated on another schedule than the app. A sidecar with `privileged: true` has every capability, all host ' +
    'devices and no seccomp or AppArmor confinement: whoever exploits it controls the node. `NET_ADMIN` lets it ' +
    'rewrite the iptables rules and routes of the network namespace it shares with the app, so it can intercept or ' +
    'redirect all of the app\'s traffic; `SYS_ADMIN` is close to root. The main container and init containers are ' +
    'not judged here: a CSI driver or a CNI plugin may need the privilege itself, and a one-shot init container ' +
    '(sysctl tuning, iptables setup) exits before the app starts. Fix: drop `privileged` and the capability from ' +
    'the sidecar; move one-time privileged setup (iptables redirects, sysctls) into an init container or a CNI ' +
    'plugin, and grant only the narrow capability the sidecar really uses.',
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
  problem: ({ grant }) =>
    grant === 'privileged'
      ? 'runs privileged: a flaw exposes the node'
      : `has ${grant}: a flaw exposes ${reach(grant)}`,
  evaluate({ pods }) {
    const findings: RuleFinding<PrivilegedFacts>[] = [];
    for (const pod of pods) {
      for (const sidecar of pod.sidecars) {
        const excess = excessOf(sidecar);
        if (!excess) continue;
        findings.push({
          container: sidecar.name,
          path: excess.path,
          facts: { grant: excess.grant },
          message:
            `sidecar '${sidecar.name}' runs with ${excess.what}, which lets it ${excess.power}: a bug or exploit in this ` +
            `helper is a compromise of ${reach(excess.grant)}, ` +
            `not just of the sidecar.`,
          fix:
            `Remove ${excess.what} from ${sidecar.path}.securityContext; do one-time setup that needs it (iptables, sysctls) in ` +
            `an init container or a CNI plugin, and add back only the narrow capability '${sidecar.name}' really uses.`,
        });
      }
    }
    return findings;
  },
  cel: () => privilegedSidecarCel,
};

const POWERFUL = Object.keys(POWERFUL_CAPABILITIES);
if (POWERFUL.length !== 2) throw new Error('privileged-sidecar: the CEL form orders exactly two powerful capabilities');

/** The excess of each sidecar as a record (path, what, power), as excessOf() finds it. */
const privilegedSidecarCel: CelForm = {
  checks: [
    {
      findings: (pod) => {
        const caps = "sc.?capabilities.?add.orValue([]).map(x, [string(x).trim().upperAscii()].map(n, n.startsWith('CAP_') ? n.substring(4) : n)[0])";
        const present = `${str(POWERFUL[0]!)} in caps ? (${str(POWERFUL[1]!)} in caps ? (caps.indexOf(${str(POWERFUL[0]!)}) < caps.indexOf(${str(POWERFUL[1]!)}) ? ${JSON.stringify(POWERFUL).replaceAll('"', "'")} : ${JSON.stringify([...POWERFUL].reverse()).replaceAll('"', "'")}) : [${str(POWERFUL[0]!)}]) : (${str(POWERFUL[1]!)} in caps ? [${str(POWERFUL[1]!)}] : [])`;
        const power = `names.map(n, ${POWERFUL.map((cap) => `n == ${str(cap)} ? ${str(POWERFUL_CAPABILITIES[cap]!)}`).join(' : ')} : '').join(', and ')`;
        const excess = bind('caps', caps, bind('names', present,
          `size(names) == 0 ? [] : [${record({
            name: 'c.name',
            cpath: 'c.path',
            path: `c.path + '.securityContext.capabilities.add[' + string(caps.indexOf(names[0])) + ']'`,
            what: `'capabilities.add ' + names.join(' and ')`,
            power,
          })}]`));
        const privileged = record({
          name: 'c.name',
          cpath: 'c.path',
          path: "c.path + '.securityContext.privileged'",
          what: "'privileged: true'",
          power: str('use every capability and host device with no seccomp or AppArmor confinement'),
        });
        return `${pod.sidecars}.map(c, ${bind('sc', "c.spec.?securityContext.orValue({})", `sc.?privileged.orValue(false) == true ? [${privileged}] : ${excess}`)}).filter(e, size(e) > 0).map(e, e[0])`;
      },
      key: (f) => `${f}.name + '/' + ${f}.path`,
      text: (f) =>
        celText`sidecar '${`${f}.name`}' runs with ${`${f}.what`}, which lets it ${`${f}.power`}: a bug or exploit in this helper is a compromise of ${`${f}.what.startsWith('privileged') || ${f}.what.contains('SYS_ADMIN') ? 'the node' : "the app's traffic"`}, not just of the sidecar. Fix: Remove ${`${f}.what`} from ${`${f}.cpath`}.securityContext; do one-time setup that needs it (iptables, sysctls) in an init container or a CNI plugin, and add back only the narrow capability '${`${f}.name`}' really uses.`,
    },
  ],
};

/** What a compromised sidecar with this grant controls: NET_ADMIN the pod's traffic, SYS_ADMIN or privileged the node. */
function reach(grant: string): string {
  return grant === 'privileged' || grant.includes('SYS_ADMIN') ? 'the node' : "the app's traffic";
}

function excessOf(container: ContainerModel): Excess | undefined {
  const context = isObject(container.spec.securityContext) ? container.spec.securityContext : undefined;
  if (!context) return undefined;
  const base = `${container.path}.securityContext`;
  if (context.privileged === true) {
    return { path: `${base}.privileged`, what: 'privileged: true', power: 'use every capability and host device with no seccomp or AppArmor confinement', grant: 'privileged' };
  }
  const capabilities = isObject(context.capabilities) ? context.capabilities : {};
  const added = asArray(capabilities.add);
  const index = added.findIndex((cap) => capabilityName(cap) in POWERFUL_CAPABILITIES);
  if (index < 0) return undefined;
  const names = [...new Set(added.map(capabilityName).filter((cap) => cap in POWERFUL_CAPABILITIES))];
  return {
    path: `${base}.capabilities.add[${index}]`,
    what: `capabilities.add ${names.join(' and ')}`,
    power: names.map((cap) => POWERFUL_CAPABILITIES[cap]).join(', and '),
    grant: names.join(', '),
  };
}

/** `net_admin`, `CAP_NET_ADMIN` and `NET_ADMIN` name the same capability. */
function capabilityName(value: unknown): string {
  return typeof value === 'string' ? value.trim().toUpperCase().replace(/^CAP_/, '') : '';
}
