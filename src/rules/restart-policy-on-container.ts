import { asString } from '../model/kube.js';
import { nativeSidecarsSupported } from '../model/native-sidecars.js';
import type { ContainerModel, PodModel } from '../model/pod.js';
import { atLeast, formatVersion } from '../model/version.js';
import { celText } from '../cel/expr.js';
import type { CelCheck, EvaluationContext, Rule, RuleFinding } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

type RestartPolicyFacts = {
  /** `rejected` (up to 1.33), `dropped` (1.34), `forever` and `no-op` (1.35+, by the pod's own policy). */
  outcome: 'rejected' | 'dropped' | 'forever' | 'no-op';
  policy: string;
  /** The API server's version, `1.33`. */
  version: string;
  /** The workload kind, `Job`. */
  kind: string;
};

/**
 * `restartPolicy` on an entry of `containers` never makes a sidecar. Up to 1.33 the API server rejects it
 * ("may not be set for non-init containers", pkg/apis/core/validation/validation.go); 1.34 drops it silently
 * (gate off: pkg/api/pod/util.go dropContainerRestartRules, which is why /mutate runs this rule); from 1.35 the
 * ContainerRestartRules gate (KEP-5307; alpha 1.34, beta and on by default 1.35, pkg/features/kube_features.go)
 * makes it a per-container restart policy.
 */
export const restartPolicyOnContainer: Rule<RestartPolicyFacts> = {
  id: 'restart-policy-on-container',
  defaultSeverity: 'deny',
  kinds: POD_BEARING_KINDS,
  // Dropped by a 1.34 API server (ContainerRestartRules off by default): only /mutate sees it there.
  droppedFields: ['containers[].restartPolicy'],
  summary: '`restartPolicy` is set on a regular container, where it does not make a sidecar.',
  description:
    'A native sidecar is an entry of `initContainers` with `restartPolicy: Always`; the same field on an entry ' +
    'of `containers` does something else. Up to Kubernetes 1.33 the API server rejects it (`may not be set for ' +
    'non-init containers`), so the workload is never created; 1.34 silently drops it, so the container is no ' +
    'sidecar. From 1.35 (feature gate ContainerRestartRules, ' +
    'beta and on by default) it is a per-container restart policy: `restartPolicy: Always` on a container of a ' +
    'pod whose own `restartPolicy` is `Never` or `OnFailure` (every Job and CronJob) restarts that container ' +
    'forever, so the pod never completes and the Job never finishes; in a pod that already restarts its ' +
    'containers (`restartPolicy: Always`, every Deployment) it changes nothing and the container still starts ' +
    'in parallel with the app, stops with it and does not count as a sidecar. Fix: move the container to ' +
    '`initContainers` and keep `restartPolicy: Always` there.',
  example: {
    bad: `apiVersion: batch/v1
kind: Job
metadata:
  name: report
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: report
          image: registry.example.com/report:2.3.0
        - name: log-shipper
          image: fluent/fluent-bit:3.0.7
          restartPolicy: Always
`,
    fixed: `apiVersion: batch/v1
kind: Job
metadata:
  name: report
spec:
  template:
    spec:
      restartPolicy: Never
      initContainers:
        - name: log-shipper
          image: fluent/fluent-bit:3.0.7
          restartPolicy: Always
      containers:
        - name: report
          image: registry.example.com/report:2.3.0
`,
  },
  problem: ({ outcome, version, kind }) => {
    switch (outcome) {
      case 'rejected':
        return `sets restartPolicy, which ${version} rejects`;
      case 'dropped':
        return `sets restartPolicy, dropped by ${version}`;
      case 'forever':
        return `restarts forever: the ${kind || 'pod'} never ends`;
      case 'no-op':
        return `sets restartPolicy but is no sidecar`;
    }
  },
  evaluate({ pods, context }) {
    const findings: RuleFinding<RestartPolicyFacts>[] = [];
    for (const pod of pods) {
      for (const container of pod.containers) {
        if (container.kind !== 'regular') continue;
        const policy = asString(container.spec.restartPolicy);
        if (policy === undefined) continue;
        const finding = atLeast(context.kubernetesVersion, 1, 35)
          ? perContainerPolicy(pod, container, policy, context)
          : rejected(pod, container, policy, context);
        if (finding) findings.push(finding);
      }
    }
    return findings;
  },
  cel: ({ kubernetesVersion }) => {
    if (!atLeast(kubernetesVersion, 1, 35)) {
      return {
        unavailable: 'not-needed',
        reason: `the API server ${kubernetesVersion.minor === 34 ? 'drops the field (ContainerRestartRules off in 1.34)' : 'rejects the field itself (may not be set for non-init containers)'} before any admission policy sees it`,
      };
    }
    return {
      candidate: (pod) => `${pod.containerSpecs}.exists(c, c.?restartPolicy.orValue('') == 'Always')`,
      checks: [perContainerCel('warn'), perContainerCel('deny')],
    };
  },
};

/** From 1.35: `restartPolicy: Always` on a container warns in pods that restart their containers anyway, denies elsewhere. */
function perContainerCel(severity: 'warn' | 'deny'): CelCheck {
  const pick = severity === 'warn' ? '==' : '!=';
  return {
    severity,
    findings: (pod) =>
      `${pod.restartPolicy} ${pick} 'Always' ? ${pod.containers}.filter(c, c.kind == 'regular' && c.spec.?restartPolicy.orValue('') == 'Always') : []`,
    key: (f) => `${f}.name + '/' + ${f}.path + '.restartPolicy'`,
    text: (f, pod) => {
      const name = `${f}.name`;
      const path = `${f}.path + '.restartPolicy'`;
      if (severity === 'warn') {
        const fix = `${f}.role == 'main' ? ${celText`Remove \`restartPolicy\` from container '${name}' (${path}).`} : ${celText`Move '${name}' from \`containers\` to \`initContainers\` and keep \`restartPolicy: Always\` there to make it a native sidecar (started before the app, stopped after it), or remove \`restartPolicy\` from ${path}.`}`;
        return celText`container '${name}' sets \`restartPolicy: Always\` in a pod that already restarts its containers: it changes nothing and does not make '${name}' a sidecar, so it still starts in parallel with the app, with no start or stop order. Fix: ${fix}`;
      }
      const workload = `${pod.ownedByJob} ? "Job '" + ${pod.ownerJob} + "'" : ${pod.kind}`;
      const outcome = `${pod.runToCompletion} ? 'the pod never completes and the ' + (${workload}) + ' never finishes' : 'the pod never completes'`;
      const fix = `${f}.role == 'main' ? ${celText`Remove \`restartPolicy\` from container '${name}' (${path}), or set it to \`OnFailure\` to retry failures in place.`} : ${celText`Move '${name}' from \`containers\` to \`initContainers\` and keep \`restartPolicy: Always\` there: a native sidecar is stopped once the main containers have exited, so the pod can complete.`}`;
      return celText`container '${name}' sets \`restartPolicy: Always\` in a pod whose \`restartPolicy\` is ${pod.restartPolicy}: from Kubernetes 1.35 (ContainerRestartRules) the kubelet restarts '${name}' every time it exits, forever, so ${outcome}. It does not make '${name}' a sidecar. Fix: ${fix}`;
    },
  };
}

function rejected(pod: PodModel, container: ContainerModel, policy: string, context: EvaluationContext): RuleFinding<RestartPolicyFacts> {
  const name = container.name;
  const path = `${container.path}.restartPolicy`;
  const version = formatVersion(context.kubernetesVersion);
  const fix =
    container.role === 'main' || policy !== 'Always'
      ? `Remove \`restartPolicy\` from container '${name}' (${path}); the pod's \`restartPolicy\` (${pod.restartPolicy}) governs it.`
      : nativeSidecarsSupported(context.kubernetesVersion, context.minKubeletVersion)
        ? `Move '${name}' from \`containers\` to \`initContainers\` and keep \`restartPolicy: Always\` there: that makes it a native sidecar (Kubernetes 1.29+), started before the app and stopped after it.`
        : `Remove \`restartPolicy\` from container '${name}' (${path}): native sidecars need Kubernetes 1.29+ on the API server and every kubelet, so below that it can only stay a classic sidecar in \`containers\`.`;
  // 1.34 has the ContainerRestartRules gate, alpha and off: pkg/api/pod/util.go dropContainerRestartRules then
  // strips the field before validation instead of rejecting it.
  const dropped = context.kubernetesVersion.major === 1 && context.kubernetesVersion.minor === 34;
  const outcome = dropped
    ? `the API server (${version}, ContainerRestartRules alpha and off) silently drops the field, so '${name}' stays an ordinary container that is no sidecar.`
    : `the API server (${version}) rejects the ${pod.kind || 'object'} with "${path}: Forbidden: may not be set for non-init containers", so it is never created.`;
  return {
    container: name,
    path,
    facts: { outcome: dropped ? 'dropped' : 'rejected', policy, version, kind: pod.kind },
    message:
      `container '${name}' sets \`restartPolicy: ${policy}\` under \`containers\`: ${outcome} ` +
      `Only init containers take \`restartPolicy\` before 1.35; \`restartPolicy: Always\` there is what makes a native sidecar.`,
    fix,
  };
}

function perContainerPolicy(pod: PodModel, container: ContainerModel, policy: string, context: EvaluationContext): RuleFinding<RestartPolicyFacts> | undefined {
  if (policy !== 'Always') return undefined;
  const name = container.name;
  const path = `${container.path}.restartPolicy`;
  const version = formatVersion(context.kubernetesVersion);
  if (pod.restartPolicy === 'Always') {
    return {
      severity: 'warn',
      container: name,
      path,
      facts: { outcome: 'no-op', policy, version, kind: pod.kind },
      message:
        `container '${name}' sets \`restartPolicy: Always\` in a pod that already restarts its containers: it changes nothing ` +
        `and does not make '${name}' a sidecar, so it still starts in parallel with the app, with no start or stop order.`,
      fix:
        container.role === 'main'
          ? `Remove \`restartPolicy\` from container '${name}' (${path}).`
          : `Move '${name}' from \`containers\` to \`initContainers\` and keep \`restartPolicy: Always\` there to make it a native sidecar (started before the app, stopped after it), or remove \`restartPolicy\` from ${path}.`,
    };
  }
  const workload = pod.ownerJob !== undefined ? `Job '${pod.ownerJob}'` : pod.kind;
  const outcome = pod.runToCompletion ? `the pod never completes and the ${workload} never finishes` : 'the pod never completes';
  return {
    severity: 'deny',
    container: name,
    path,
    facts: { outcome: 'forever', policy, version, kind: pod.kind },
    message:
      `container '${name}' sets \`restartPolicy: Always\` in a pod whose \`restartPolicy\` is ${pod.restartPolicy}: from ` +
      `Kubernetes 1.35 (ContainerRestartRules) the kubelet restarts '${name}' every time it exits, forever, so ${outcome}. ` +
      `It does not make '${name}' a sidecar.`,
    fix:
      container.role === 'main'
        ? `Remove \`restartPolicy\` from container '${name}' (${path}), or set it to \`OnFailure\` to retry failures in place.`
        : `Move '${name}' from \`containers\` to \`initContainers\` and keep \`restartPolicy: Always\` there: a native sidecar is stopped once the main containers have exited, so the pod can complete.`,
  };
}
