import { asArray, asNumber, isObject } from '../model/kube.js';
import type { ContainerModel, PodModel } from '../model/pod.js';
import { bind, celText, quoted, record } from '../cel/expr.js';
import type { CelForm, Rule, RuleFinding } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

type HostPidIpcFacts = {
  /** `hostPID`, `hostIPC`, or `hostPID and hostIPC`. */
  namespaces: string;
  /** The first sidecar. */
  sidecar: string;
  /** How many more sidecars there are. */
  more: number;
};

/**
 * `hostPID` and `hostIPC` are pod fields: every container of the pod, sidecars included, joins the node's
 * process or IPC namespace (the API server refuses `hostPID` together with `shareProcessNamespace`).
 */
export const hostPidIpcSidecars: Rule<HostPidIpcFacts> = {
  id: 'host-pid-ipc-sidecars',
  defaultSeverity: 'warn',
  kinds: POD_BEARING_KINDS,
  summary: 'A hostPID or hostIPC pod runs sidecars: every helper sees the node\'s processes or shared memory.',
  description:
    '`hostPID: true` and `hostIPC: true` apply to the whole pod, so a node agent that needs them hands them to ' +
    'every sidecar next to it as well. With `hostPID` each container sees every process of the node, its command ' +
    'line (often with credentials in it) and, for processes of the same user, its environment and open files; a ' +
    'container running as root signals any process of the node (the kubelet, the container runtime, other pods) ' +
    'and, with `SYS_PTRACE`, reads and writes their memory. With `hostIPC` each container shares the node\'s ' +
    'System V and POSIX shared memory, semaphores and message queues and its `/dev/shm`, where it can read or ' +
    'corrupt the data of host processes and of other `hostIPC` pods. Sidecars (auth proxies, log shippers, CSI ' +
    'registrars) parse untrusted input and follow another release cycle than the agent: a flaw in one becomes a ' +
    'foothold on the node. One long-running container with init containers, the usual node-agent layout, is ' +
    'left alone, and so, under `hostPID` alone, is a sidecar that runs as a non-root user with every capability ' +
    'dropped: it still sees the processes but can neither signal nor trace them. Fix: move the sidecars into a ' +
    'pod of their own without these fields, or drop the field the main container does not need; when a sidecar ' +
    'must stay in a `hostPID` pod, run it as a non-root user with `capabilities.drop: [ALL]`.',
  example: {
    bad: `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: process-exporter
  namespace: monitoring
spec:
  selector:
    matchLabels: { app: process-exporter }
  template:
    metadata:
      labels: { app: process-exporter }
    spec:
      hostPID: true
      containers:
        - name: process-exporter
          image: registry.example.com/process-exporter:0.8.4
          args: ["--procfs=/proc", "--web.listen-address=127.0.0.1:9257"]
        - name: kube-rbac-proxy
          image: quay.io/brancz/kube-rbac-proxy:v0.18.2
          args: ["--secure-listen-address=0.0.0.0:9256", "--upstream=http://127.0.0.1:9257/"]
          resources:
            requests: { cpu: 10m, memory: 20Mi }
          ports:
            - { name: https, containerPort: 9256 }
`,
    fixed: `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: process-exporter
  namespace: monitoring
spec:
  selector:
    matchLabels: { app: process-exporter }
  template:
    metadata:
      labels: { app: process-exporter }
    spec:
      hostPID: true
      containers:
        - name: process-exporter
          image: registry.example.com/process-exporter:0.8.4
          args: ["--procfs=/proc", "--web.listen-address=0.0.0.0:9256", "--web.config.file=/etc/exporter/web-config.yaml"]
          ports:
            - { name: https, containerPort: 9256 }
`,
  },
  problem: ({ namespaces, sidecar, more }) => {
    const who = more > 0 ? `sidecars like '${sidecar}'` : `sidecar '${sidecar}'`;
    const what = namespaces.includes('hostPID') ? (more > 0 ? 'see node processes' : 'sees node processes') : more > 0 ? 'share node IPC' : 'shares node IPC';
    return `with ${namespaces.includes('hostPID') ? 'hostPID' : 'hostIPC'}, ${who} ${what}`;
  },
  evaluate({ pods }) {
    const findings: RuleFinding<HostPidIpcFacts>[] = [];
    for (const pod of pods) {
      if (pod.longRunning.length < 2) continue;
      // A non-root sidecar without capabilities sees the node's processes but can neither signal nor trace them.
      const pid = pod.spec.hostPID === true && pod.sidecars.some((sidecar) => !contained(sidecar, pod));
      // IPC objects and /dev/shm files are guarded by permission bits only, often world-readable: every sidecar counts.
      const ipc = pod.spec.hostIPC === true && pod.sidecars.length > 0;
      if (!pid && !ipc) continue;
      const sidecars = ipc ? pod.sidecars : pod.sidecars.filter((sidecar) => !contained(sidecar, pod));
      const namespaces = pid && ipc ? 'hostPID and hostIPC' : pid ? 'hostPID' : 'hostIPC';
      const names = sidecars.map((c) => `'${c.name}'`).join(', ');
      const many = sidecars.length > 1;
      const main = pod.main ? `'${pod.main.name}'` : 'the main container';
      const count = pod.longRunning.length === 2 ? 'both' : `all ${pod.longRunning.length}`;
      const sees = [
        ...(pid
          ? [
              `every process of the node with its command line, and as root ${many ? 'they' : 'it'} can signal any of them (the kubelet and ` +
                `the container runtime included) and, with SYS_PTRACE, read their memory`,
            ]
          : []),
        ...(ipc ? [`the node's shared memory, semaphores, message queues and /dev/shm, where ${many ? 'they' : 'it'} can read or corrupt the data of host processes`] : []),
      ];
      findings.push({
        path: `${pod.specPath}.${pid ? 'hostPID' : 'hostIPC'}`,
        facts: { namespaces, sidecar: sidecars[0]?.name ?? '', more: Math.max(0, sidecars.length - 1) },
        message:
          `${namespaces} put${pid && ipc ? '' : 's'} ${count} long-running containers of the pod in the node's ` +
          `${pid && ipc ? 'process and IPC namespaces' : pid ? 'process namespace' : 'IPC namespace'}, ${many ? 'sidecars' : 'sidecar'} ${names} included: ` +
          `${many ? 'they see' : 'it sees'} ${sees.join('; and ')}. A flaw in ${many ? 'a helper' : 'the helper'} becomes a foothold on the node.`,
        fix:
          `Move ${names} into a pod of ${many ? 'their' : 'its'} own without ${namespaces}, or remove ${namespaces} from ${pod.specPath} if ${main} ` +
          `does not need ${pid && ipc ? 'them' : 'it'}` +
          (pid && !ipc
            ? `; if ${names} must stay, run ${many ? 'them' : 'it'} as a non-root user with \`securityContext.capabilities.drop: [ALL]\`, so ` +
              `${many ? 'they' : 'it'} can neither signal nor trace node processes.`
            : '.'),
      });
    }
    return findings;
  },
  cel: () => hostPidIpcCel,
};

/** The pod's one finding, as evaluate() makes it: which namespaces count and the sidecars they expose. */
const hostPidIpcCel: CelForm = {
  candidate: (pod) => `${pod.spec}.?hostPID.orValue(false) == true || ${pod.spec}.?hostIPC.orValue(false) == true`,
  checks: [
    {
      findings: (pod) => {
        const securityContext = `${pod.spec}.?securityContext.orValue({})`;
        const names = (list: string) => `${list}.orValue([]).map(x, [string(x).trim().upperAscii()].map(n, n.startsWith('CAP_') ? n.substring(4) : n)[0])`;
        const contained = bind('own', 'c.spec.?securityContext.orValue({})', bind('shared', securityContext,
          "(own.?runAsUser.hasValue() ? own.runAsUser > 0 : shared.?runAsUser.hasValue() ? shared.runAsUser > 0 : own.?runAsNonRoot.orValue(shared.?runAsNonRoot.orValue(false)) == true) && " +
          `own.?privileged.orValue(false) != true && 'ALL' in ${names('own.?capabilities.?drop')} && ${names('own.?capabilities.?add')}.all(n, n in ${JSON.stringify([...HARMLESS_CAPABILITIES]).replaceAll('"', "'")})`));
        const exposed = `${pod.sidecars}.filter(c, !(${contained}))`;
        const pid = `(${pod.spec}.?hostPID.orValue(false) == true && size(${exposed}) > 0)`;
        const ipc = `(${pod.spec}.?hostIPC.orValue(false) == true && size(${pod.sidecars}) > 0)`;
        return bind('pid', pid, bind('ipc', ipc,
          `size(${pod.longRunning}) >= 2 && (pid || ipc) ? [${record({ pid: 'pid', ipc: 'ipc', sidecars: `ipc ? ${pod.sidecars} : ${exposed}` })}] : []`));
      },
      key: (f, pod) => `${pod.specPath} + (${f}.pid ? '.hostPID' : '.hostIPC')`,
      text: (f, pod) => {
        const pid = `${f}.pid`;
        const ipc = `${f}.ipc`;
        const many = `size(${f}.sidecars) > 1`;
        const namespaces = `${pid} && ${ipc} ? 'hostPID and hostIPC' : ${pid} ? 'hostPID' : 'hostIPC'`;
        const names = `${f}.sidecars.map(c, ${quoted('c.name')}).join(', ')`;
        const count = `size(${pod.longRunning}) == 2 ? 'both' : 'all ' + string(size(${pod.longRunning}))`;
        const they = `${many} ? 'they' : 'it'`;
        const pidSees = celText`every process of the node with its command line, and as root ${they} can signal any of them (the kubelet and the container runtime included) and, with SYS_PTRACE, read their memory`;
        const ipcSees = celText`the node's shared memory, semaphores, message queues and /dev/shm, where ${they} can read or corrupt the data of host processes`;
        const sees = `${pid} && ${ipc} ? ${pidSees} + '; and ' + ${ipcSees} : ${pid} ? ${pidSees} : ${ipcSees}`;
        const main = `${pod.mainName} != '' ? ${quoted(pod.mainName)} : 'the main container'`;
        const stay = `${pid} && !${ipc} ? ${celText`; if ${names} must stay, run ${`${many} ? 'them' : 'it'`} as a non-root user with \`securityContext.capabilities.drop: [ALL]\`, so ${they} can neither signal nor trace node processes.`} : '.'`;
        return celText`${namespaces} put${`${pid} && ${ipc} ? '' : 's'`} ${count} long-running containers of the pod in the node's ${`${pid} && ${ipc} ? 'process and IPC namespaces' : ${pid} ? 'process namespace' : 'IPC namespace'`}, ${`${many} ? 'sidecars' : 'sidecar'`} ${names} included: ${`${many} ? 'they see' : 'it sees'`} ${sees}. A flaw in ${`${many} ? 'a helper' : 'the helper'`} becomes a foothold on the node. Fix: Move ${names} into a pod of ${`${many} ? 'their' : 'its'`} own without ${namespaces}, or remove ${namespaces} from ${pod.specPath} if ${main} does not need ${`${pid} && ${ipc} ? 'them' : 'it'`}${stay}`;
      },
    },
  ],
};

/** Capabilities that keep no power over other users' processes: binding low ports is all. */
const HARMLESS_CAPABILITIES = new Set(['NET_BIND_SERVICE']);

/**
 * The sidecar runs as a non-root user (runAsUser above 0, or runAsNonRoot, the container's setting over the
 * pod's) with every capability dropped and none of note added, and is not privileged.
 */
function contained(container: ContainerModel, pod: PodModel): boolean {
  const own = isObject(container.spec.securityContext) ? container.spec.securityContext : {};
  const shared = isObject(pod.spec.securityContext) ? pod.spec.securityContext : {};
  const user = asNumber(own.runAsUser) ?? asNumber(shared.runAsUser);
  const nonRoot = user !== undefined ? user > 0 : (own.runAsNonRoot ?? shared.runAsNonRoot) === true;
  const capabilities = isObject(own.capabilities) ? own.capabilities : {};
  const names = (value: unknown): string[] => asArray(value).map((cap) => (typeof cap === 'string' ? cap.trim().toUpperCase().replace(/^CAP_/, '') : ''));
  return (
    nonRoot &&
    own.privileged !== true &&
    names(capabilities.drop).includes('ALL') &&
    names(capabilities.add).every((cap) => HARMLESS_CAPABILITIES.has(cap))
  );
}
