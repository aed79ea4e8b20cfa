import { LONG_RUNNING_COMMAND_IN_CEL } from '../model/command.js';
import { nativeSidecarsSupported } from '../model/native-sidecars.js';
import type { ContainerModel } from '../model/pod.js';
import type { Rule, RuleFinding } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

type ClassicSidecarFacts = {
  /** `Job` or `CronJob`. */
  kind: string;
};

/** The pod of a Job completes only when every entry of `containers` has exited; native sidecars are stopped for it. */
export const classicSidecarInJob: Rule<ClassicSidecarFacts> = {
  id: 'classic-sidecar-in-job',
  defaultSeverity: 'warn',
  kinds: POD_BEARING_KINDS,
  summary: 'A Job or CronJob runs a long-running helper in `containers`, so the Job never completes.',
  description:
    'A Job pod succeeds only when every container in `containers` has exited. A helper that never exits on its ' +
    'own (a mesh proxy such as istio-proxy or linkerd-proxy, cloud-sql-proxy, a log shipper such as fluent-bit ' +
    'or a `tail -F` loop) keeps the pod running after the main container has finished: the Job never completes, ' +
    'its pod keeps holding its resources, and CronJob runs pile up (or, with `concurrencyPolicy: Forbid`, stop ' +
    'starting at all). Pre-native workarounds (quitquitquit calls, ' +
    'shared "done" files) are fragile. Fix: on Kubernetes 1.29+ make the helper a native sidecar by moving it to ' +
    '`initContainers` with `restartPolicy: Always`; the kubelet stops it once the main containers have exited. ' +
    "podpatterns' mutating webhook and `podpatterns migrate` make this change for you.",
  example: {
    bad: `apiVersion: batch/v1
kind: Job
metadata:
  name: nightly-export
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: export
          image: registry.example.com/export:1.8.0
        - name: cloud-sql-proxy
          image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0
          args: ["--port=5432", "example-project:europe-west1:main"]
`,
    fixed: `apiVersion: batch/v1
kind: Job
metadata:
  name: nightly-export
spec:
  template:
    spec:
      restartPolicy: Never
      initContainers:
        - name: cloud-sql-proxy
          image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0
          restartPolicy: Always
          args: ["--port=5432", "example-project:europe-west1:main"]
      containers:
        - name: export
          image: registry.example.com/export:1.8.0
`,
  },
  problem: ({ kind }) => `never exits, so the ${kind || 'Job'} never completes`,
  evaluate({ pods, context }) {
    // Below 1.29 there is no native sidecar to move the helper to, so the finding would have no fix.
    if (!nativeSidecarsSupported(context.kubernetesVersion, context.minKubeletVersion)) return [];
    const findings: RuleFinding<ClassicSidecarFacts>[] = [];
    for (const pod of pods) {
      if (!pod.runToCompletion) continue;
      const main = pod.main?.name ?? 'the main container';
      for (const container of pod.containers) {
        if (container.kind !== 'regular' || container.role === 'main') continue;
        const why = neverExits(container);
        if (!why) continue;
        const name = container.name;
        // A Pod a Job owns keeps its Job from completing.
        const completing = pod.ownerJob !== undefined ? `Job '${pod.ownerJob}'` : pod.kind;
        findings.push({
          container: name,
          path: why.path,
          facts: { kind: pod.ownerJob !== undefined ? 'Job' : pod.kind },
          message:
            `'${name}' runs next to '${main}' in \`containers\` of a ${pod.kind} and ${why.reason}: the pod only completes when ` +
            `every container in \`containers\` has exited, so after '${main}' finishes the pod keeps running and the ${completing} never completes.`,
          fix:
            pod.ownerJob !== undefined
              ? ownedPodFix(container, pod.ownerJob, main)
              : `Move '${name}' from \`containers\` to \`initContainers\` and add \`restartPolicy: Always\` to it (a native sidecar, ` +
                `stopped once '${main}' has exited)${meshSwitch(container)}; podpatterns' mutating webhook or \`podpatterns migrate\` can make this change.`,
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

function neverExits(container: ContainerModel): { reason: string; path: string } | undefined {
  if (container.helper?.confidence === 'high') {
    return { reason: `never exits on its own (a ${container.helper.kind.replaceAll('-', ' ')}, ${container.helper.evidence})`, path: container.path };
  }
  const evidence = container.longRunningCommand;
  if (!evidence) return undefined;
  return { reason: `never exits: ${evidence.reason}`, path: `${container.path}.${evidence.field}` };
}

/**
 * A Pod the Job controller created is not edited: its Job's pod template is (a mesh injects its proxy into each
 * Pod at creation, so the template may not even list it).
 */
function ownedPodFix(container: ContainerModel, job: string, main: string): string {
  return (
    `Fix the pod template of Job '${job}', from which this Pod was created: make '${container.name}' a native sidecar there ` +
    `(in \`initContainers\` with \`restartPolicy: Always\`, stopped once '${main}' has exited)${meshSwitch(container)}.`
  );
}

/** Injected mesh proxies come back on every pod: the mesh's own native-sidecar switch is the lasting fix. */
function meshSwitch(container: ContainerModel): string {
  if (container.helper?.kind !== 'mesh-proxy') return '';
  if (container.name === 'istio-proxy' || /proxyv2/.test(container.helper.evidence)) {
    return ', or, since Istio injects it, annotate the pod template with `sidecar.istio.io/nativeSidecar: "true"` (Istio 1.24+)';
  }
  if (container.name === 'linkerd-proxy' || /linkerd/.test(container.helper.evidence)) {
    return ', or, since Linkerd injects it, annotate the pod template with `config.alpha.linkerd.io/proxy-enable-native-sidecar: "true"` (`config.beta.linkerd.io/…` from Linkerd 2.19)';
  }
  return '';
}
