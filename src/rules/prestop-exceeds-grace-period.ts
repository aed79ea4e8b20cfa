import { scriptOf } from '../model/command.js';
import { asArray, asNumber, isObject } from '../model/kube.js';
import type { ContainerModel } from '../model/pod.js';
import { bind, celText, matches, record, str } from '../cel/expr.js';
import { celScriptOf } from '../cel/command.js';
import type { CelForm, CelUnavailable, Rule, RuleFinding } from '../engine/types.js';
import { atLeast } from '../model/version.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

/** PodSpec.terminationGracePeriodSeconds when unset. */
const DEFAULT_GRACE_SECONDS = 30;
const SLEEP_UNITS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

interface KnownDelay {
  /** `sleep`: the hook's sleep action, which the API server validates; `exec`: a command that sleeps. */
  handler: 'sleep' | 'exec';
  seconds: number;
  /** How the hook sleeps, for messages: `sleep 40`, `lifecycle.preStop.sleep.seconds: 40`. */
  construct: string;
  path: string;
}

type PreStopFacts = {
  handler: 'sleep' | 'exec';
  /** `45s`, or `forever`. */
  sleep: string;
  /** The grace period in seconds. */
  grace: number;
};

/**
 * The grace period covers the preStop hook and the SIGTERM that follows it. When the hook outlives it, the
 * kubelet stops waiting, sends SIGTERM with its 2 s minimum shutdown window and then SIGKILL
 * (pkg/kubelet/kuberuntime/kuberuntime_container.go killContainer, minimumGracePeriodInSeconds;
 * https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination).
 */
export const preStopExceedsGracePeriod: Rule<PreStopFacts> = {
  id: 'prestop-exceeds-grace-period',
  defaultSeverity: 'warn',
  kinds: POD_BEARING_KINDS,
  summary: 'A preStop hook sleeps longer than the pod\'s termination grace period: the container is killed mid-hook.',
  description:
    'The kubelet runs a container\'s preStop hook, then sends SIGTERM, all within the pod\'s ' +
    '`terminationGracePeriodSeconds` (30 when unset). A hook that sleeps longer than that is cut short: the ' +
    'kubelet stops waiting for it, sends SIGTERM with only its 2 second minimum window and then SIGKILL, so the ' +
    'process is killed before it has drained its connections or flushed its buffers, and the point of the sleep ' +
    '(letting endpoints and load balancers stop sending traffic first) is lost. Native sidecars share the same ' +
    'budget. A `sleep` action longer than the grace period never gets that far: the API server rejects it ' +
    '(`sleep.seconds` must not exceed `terminationGracePeriodSeconds`), so the workload is never created. Only ' +
    'hooks whose duration is known are judged: `lifecycle.preStop.sleep.seconds`, an exec `sleep N`, or a shell ' +
    'script that sleeps before its other commands. Fix: raise `terminationGracePeriodSeconds` to the sleep plus the time ' +
    'the process needs to shut down after SIGTERM, or shorten the sleep.',
  example: {
    bad: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
spec:
  selector:
    matchLabels: { app: checkout }
  template:
    metadata:
      labels: { app: checkout }
    spec:
      containers:
        - name: checkout
          image: registry.example.com/checkout:4.0.1
          ports:
            - containerPort: 8080
          lifecycle:
            preStop:
              exec:
                command: ["sh", "-c", "sleep 45 && curl -s -X POST http://127.0.0.1:8080/drain"]
`,
    fixed: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
spec:
  selector:
    matchLabels: { app: checkout }
  template:
    metadata:
      labels: { app: checkout }
    spec:
      terminationGracePeriodSeconds: 75
      containers:
        - name: checkout
          image: registry.example.com/checkout:4.0.1
          ports:
            - containerPort: 8080
          lifecycle:
            preStop:
              exec:
                command: ["sh", "-c", "sleep 45 && curl -s -X POST http://127.0.0.1:8080/drain"]
`,
  },
  problem: ({ handler, sleep, grace }) =>
    handler === 'sleep'
      ? 'sleeps past the grace period: rejected'
      : `sleeps ${sleep} in preStop; grace is ${grace}s`,
  evaluate({ pods }) {
    const findings: RuleFinding<PreStopFacts>[] = [];
    for (const pod of pods) {
      const configured = asNumber(pod.spec.terminationGracePeriodSeconds);
      const grace = configured ?? DEFAULT_GRACE_SECONDS;
      const graceText = configured === undefined ? `${grace}s (the default: terminationGracePeriodSeconds is unset)` : `${grace}s`;
      for (const container of pod.longRunning) {
        const delay = preStopDelay(container);
        if (!delay || delay.seconds <= grace) continue;
        const sleep = Number.isFinite(delay.seconds) ? `${delay.seconds}s` : 'forever';
        const rejected = delay.handler === 'sleep';
        findings.push({
          container: container.name,
          path: delay.path,
          facts: { handler: delay.handler, sleep, grace },
          message: rejected
            ? `the preStop hook of '${container.name}' sleeps ${sleep} (\`${delay.construct}\`) but the pod's grace period is ` +
              `${graceText}: the API server rejects the ${pod.kind || 'object'} (a sleep action must not exceed ` +
              `terminationGracePeriodSeconds), so it is never created.`
            : `the preStop hook of '${container.name}' sleeps ${sleep} (\`${delay.construct}\`) but the pod's grace period is ` +
              `${graceText}: the kubelet gives up on the hook when the grace period ends, sends SIGTERM with a 2-second window ` +
              `and then SIGKILL, so '${container.name}' is killed before it drains its connections or flushes its buffers.`,
          fix: Number.isFinite(delay.seconds)
            ? `Set ${pod.specPath}.terminationGracePeriodSeconds to at least ${Math.ceil(delay.seconds) + 15} (the ${sleep} sleep ` +
              `plus time for '${container.name}' to shut down after SIGTERM), or shorten the sleep in ${delay.path} to well under ${grace}s.`
            : `Replace the endless sleep in ${delay.path} with a bounded one shorter than ${pod.specPath}.terminationGracePeriodSeconds (${grace}s).`,
        });
      }
    }
    return findings;
  },
  cel: ({ kubernetesVersion }) => (atLeast(kubernetesVersion, 1, 35) ? preStopCel : NEEDS_LIST_FUNCTIONS),
};

const NEEDS_LIST_FUNCTIONS: CelUnavailable = {
  unavailable: 'webhook-only',
  reason: 'its CEL form needs the list functions (flatten, lists.range) that new policies may use from Kubernetes 1.35',
};

/** A command leadingSleeps() stops at: a pipe, a backgrounded command, a compound command. */
const ENDS_CERTAIN_PART = /\||(^|[^>&<])&([^>&]|$)|^(if|while|until|for|case|select|function)\b|^[({]/;
const SLEEP_COMMAND = /^(exec\s+)?(\S*\/)?sleep(\s+\S+)+$/;
const SLEEP_PREFIX = /^(exec\s+)?(\S*\/)?sleep/;
const INFINITE = /^(inf|infinity)$/i;
const DURATION = /^(\d+(\.\d+)?|\.\d+)([smhd]?)$/;

/**
 * preStopDelay() and leadingSleeps() in CEL: each hook becomes a record with the sleep it is known to take
 * (`finite` false for `sleep infinity`), the construct quoted in the message and the path.
 */
const preStopCel: CelForm = {
  candidate: (pod) => `(${pod.initSpecs} + ${pod.containerSpecs}).exists(c, c.?lifecycle.?preStop.?exec.hasValue())`,
  checks: [
    {
      findings: (pod) => {
        const grace = `${pod.spec}.?terminationGracePeriodSeconds.orValue(${DEFAULT_GRACE_SECONDS})`;
        const hook = "c.spec.?lifecycle.?preStop";
        const execHook = bind('pieces', certainPieces(celScriptOf(`${hook}.?exec.?command.orValue([])`, '[]')), bind('sleeps', 'pieces.filter(p, p.matches(' + str(SLEEP_COMMAND.source) + '))',
          `size(sleeps) == 0 ? [] : ${bind('durations', `sleeps.map(p, ${durationOf('p')})`, `[${record({
            name: 'c.name',
            path: "c.path + '.lifecycle.preStop.exec.command'",
            finite: 'durations.all(d, d >= 0.0)',
            seconds: 'durations.filter(d, d >= 0.0).sum()',
            construct: "sleeps.join('; ')",
          })}]`)}`));
        // A sleep action longer than the grace period is rejected by the API server before any policy runs.
        const delays = `${pod.longRunning}.map(c, ${hook}.?exec.hasValue() && !${hook}.?sleep.?seconds.hasValue() ? ${execHook} : [])`;
        return bind('grace', grace, `${delays}.filter(d, size(d) > 0).map(d, d[0]).filter(d, !d.finite || d.seconds > double(grace))`);
      },
      key: (f) => `${f}.name + '/' + ${f}.path`,
      text: (f, pod) => {
        const grace = `string(${pod.spec}.?terminationGracePeriodSeconds.orValue(${DEFAULT_GRACE_SECONDS}))`;
        const graceText = `${grace} + (${pod.spec}.?terminationGracePeriodSeconds.hasValue() ? 's' : 's (the default: terminationGracePeriodSeconds is unset)')`;
        const sleep = `${f}.finite ? string(${f}.seconds) + 's' : 'forever'`;
        const name = `${f}.name`;
        const atLeastSeconds = `string(int(${f}.seconds) + (double(int(${f}.seconds)) < ${f}.seconds ? 1 : 0) + 15)`;
        const fix = `${f}.finite ? ${celText`Set ${pod.specPath}.terminationGracePeriodSeconds to at least ${atLeastSeconds} (the ${sleep} sleep plus time for '${name}' to shut down after SIGTERM), or shorten the sleep in ${`${f}.path`} to well under ${grace}s.`} : ${celText`Replace the endless sleep in ${`${f}.path`} with a bounded one shorter than ${pod.specPath}.terminationGracePeriodSeconds (${grace}s).`}`;
        return celText`the preStop hook of '${name}' sleeps ${sleep} (\`${`${f}.construct`}\`) but the pod's grace period is ${graceText}: the kubelet gives up on the hook when the grace period ends, sends SIGTERM with a 2-second window and then SIGKILL, so '${name}' is killed before it drains its connections or flushes its buffers. Fix: ${fix}`;
      },
    },
  ],
};

/**
 * The commands of a script that are certain to run, trimmed, up to the first one that ends the certain part
 * (or a sleep whose duration cannot be read).
 */
function certainPieces(script: string): string {
  const pieces = `${script}.split('&&').map(a, a.split(';')).flatten().map(b, b.split(${str('\n')})).flatten().map(p, p.trim()).filter(p, p != '')`;
  const stops = `p.matches(${str(ENDS_CERTAIN_PART.source)}) || (p.matches(${str(SLEEP_COMMAND.source)}) && ${durationOf('p')} == -2.0)`;
  return bind('all', pieces, `[lists.range(size(all)).filter(i, ${bind('p', 'all[i]', stops)})].map(s, size(s) == 0 ? all : all.slice(0, s[0]))[0]`);
}

/**
 * sleepSeconds() of a sleep command: its seconds, -1.0 for an endless sleep, -2.0 when an operand cannot be
 * read (before any `infinity`, which ends the reading).
 */
function durationOf(command: string): string {
  const operands = `${command}.substring(size(${command}.find(${str(SLEEP_PREFIX.source)}))).trim().findAll(${str('\\S+')})`;
  return bind('ops', operands, bind('inf', `[lists.range(size(ops)).filter(i, ${matches('ops[i]', INFINITE)})].map(l, size(l) == 0 ? size(ops) : l[0])[0]`,
    `ops.slice(0, inf).exists(o, !${matches('o', DURATION)}) ? -2.0 : inf < size(ops) ? -1.0 : ops.slice(0, inf).map(o, ${bind('n', `o.find(${str('^[0-9.]+')})`, "double(n) * (o.endsWith('m') ? 60.0 : o.endsWith('h') ? 3600.0 : o.endsWith('d') ? 86400.0 : 1.0)")}).sum()`));
}

/** How long the preStop hook is known to take at least; undefined when that cannot be told from the spec. */
function preStopDelay(container: ContainerModel): KnownDelay | undefined {
  const lifecycle = isObject(container.spec.lifecycle) ? container.spec.lifecycle : undefined;
  const preStop = lifecycle && isObject(lifecycle.preStop) ? lifecycle.preStop : undefined;
  if (!preStop) return undefined;
  const base = `${container.path}.lifecycle.preStop`;
  if (isObject(preStop.sleep)) {
    const seconds = asNumber(preStop.sleep.seconds);
    if (seconds !== undefined) return { handler: 'sleep', seconds, construct: `sleep.seconds: ${seconds}`, path: `${base}.sleep.seconds` };
  }
  if (isObject(preStop.exec)) {
    const command = asArray(preStop.exec.command).filter((part): part is string => typeof part === 'string');
    const slept = leadingSleeps(scriptOf({ command }));
    if (slept) return { handler: 'exec', ...slept, path: `${base}.exec.command` };
  }
  return undefined;
}

/**
 * Sums the `sleep` commands a script is certain to run: those in its leading sequence of simple commands
 * (joined by `;`, `&&` or newlines). Anything conditional, looping, piped or backgrounded ends the certain part.
 */
function leadingSleeps(script: string): Omit<KnownDelay, 'path' | 'handler'> | undefined {
  let seconds = 0;
  const constructs: string[] = [];
  for (const raw of script.split(/&&|;|\n/)) {
    const command = raw.trim();
    if (command === '') continue;
    if (/\||(?:^|[^>&<])&(?![>&])|^(?:if|while|until|for|case|select|function)\b|^[({]/.test(command)) break;
    const sleep = /^(?:exec\s+)?(?:\S*\/)?sleep((?:\s+\S+)+)$/.exec(command);
    if (!sleep) continue;
    const duration = sleepSeconds((sleep[1] ?? '').trim().split(/\s+/));
    if (duration === undefined) break;
    seconds += duration;
    constructs.push(command);
  }
  return constructs.length > 0 ? { seconds, construct: constructs.join('; ') } : undefined;
}

/** `sleep 5`, `sleep 1.5m`, `sleep 1m 30s` (GNU sums its operands), `sleep infinity`. */
function sleepSeconds(operands: string[]): number | undefined {
  let total = 0;
  for (const operand of operands) {
    if (/^(inf|infinity)$/i.test(operand)) return Number.POSITIVE_INFINITY;
    const match = /^(\d+(?:\.\d+)?|\.\d+)([smhd]?)$/.exec(operand);
    if (!match) return undefined;
    total += Number(match[1]) * (SLEEP_UNITS[match[2] ?? ''] ?? 1);
  }
  return total;
}
