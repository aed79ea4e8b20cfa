import { scriptOf } from '../model/command.js';
import { asArray, asString, isObject, type Container, type JsonObject, type PodSpec } from '../model/kube.js';
import { capWarning } from './warnings.js';

interface Workaround {
  /** What was found, for the message: `kubexit (KUBEXIT_* env)`. */
  label: string;
  matches(container: Container, text: string, spec: PodSpec): boolean;
}

const envNames = (container: Container): string[] =>
  asArray(container.env).filter(isObject).map((variable) => asString(variable.name) ?? '');

/** A path whose last segment says "finished": `/shared/done`, `/tmp/pod/main-terminated`, `/var/run/exit`. */
const DONE_FILE =
  /(?:\btouch\s+|>\s*|(?:\[\[?|\btest)\s+(?:!\s+)?-[fe]\s+)["']?\/(?:[\w.-]+\/)*[\w.-]*?(?:done|complete[d]?|finished|terminated?|exit(?:ed)?|stop(?:ped)?)(?:\.\w+)?["']?(?=$|[\s;)\]&|])/;

/**
 * Ways Jobs made a classic sidecar exit before native sidecars existed. After the migration each of them makes
 * the native sidecar exit, and the kubelet restarts it: wasted work at best, and with restartPolicy OnFailure the
 * Job controller counts those restarts against backoffLimit (pkg/controller/job pastBackoffLimitOnFailure).
 */
const WORKAROUNDS: readonly Workaround[] = [
  { label: 'kubexit (KUBEXIT_* env)', matches: (c) => envNames(c).some((name) => name.startsWith('KUBEXIT_')) },
  {
    label: 'scuttle',
    matches: (c, text) => /(^|\/)scuttle(:|@|$)/.test(asString(c.image) ?? '') || /\bscuttle\b/.test(text) || envNames(c).some((name) => name === 'ISTIO_QUIT_API' || name === 'ENVOY_ADMIN_API'),
  },
  { label: 'Istio quitquitquit call', matches: (_c, text) => /:(15020|15000)\/quitquitquit/.test(text) },
  { label: 'cloud-sql-proxy --quitquitquit', matches: (_c, text) => /--quitquitquit\b|:9091\/quitquitquit/.test(text) },
  { label: 'linkerd-await --shutdown', matches: (_c, text) => linkerdAwaitShutdown(text) || /:4191\/shutdown/.test(text) },
  { label: 'Dapr /v1.0/shutdown call', matches: (_c, text) => text.includes('/v1.0/shutdown') },
  { label: 'KRUISE_TERMINATE_SIDECAR_WHEN_JOB_EXIT', matches: (c) => envNames(c).includes('KRUISE_TERMINATE_SIDECAR_WHEN_JOB_EXIT') },
  { label: 'shared "done" file', matches: (_c, text) => DONE_FILE.test(text) },
  { label: 'shareProcessNamespace + kill', matches: (_c, text, spec) => spec.shareProcessNamespace === true && /\b(pkill|killall|kill)\b/.test(text) },
];

/** `linkerd-await … --shutdown` within one command (no `;`, `&` or `|` between), each command looked at once. */
function linkerdAwaitShutdown(text: string): boolean {
  return text.split(/[;&|]/).some((command) => {
    const at = command.search(/\blinkerd-await\b/);
    return at >= 0 && command.includes('--shutdown', at);
  });
}

/** Everything a container runs: command, args and lifecycle hook commands. */
function commandText(container: Container): string {
  const lifecycle = isObject(container.lifecycle) ? container.lifecycle : {};
  const hooks = [lifecycle.postStart, lifecycle.preStop].flatMap((hook) => {
    const exec = isObject(hook) && isObject(hook.exec) ? hook.exec : undefined;
    return exec ? asArray(exec.command).filter((part): part is string => typeof part === 'string') : [];
  });
  return [scriptOf(container), ...hooks].join(' ');
}

/** One warning per container and workaround found, in any container of the pod. */
export function workaroundWarnings(spec: PodSpec, restartPolicy: string | undefined): string[] {
  const consequence = restartPolicy === 'OnFailure' ? '; restarts count to backoffLimit' : '';
  const warnings: string[] = [];
  for (const container of [...asArray(spec.initContainers), ...asArray(spec.containers)].filter(isObject) as JsonObject[]) {
    const text = commandText(container);
    const name = asString(container.name) ?? 'a container';
    for (const workaround of WORKAROUNDS) {
      if (workaround.matches(container, text, spec)) {
        warnings.push(capWarning(`${name}: ${workaround.label} makes the native sidecar exit and restart${consequence}`));
      }
    }
  }
  return warnings;
}

/**
 * `podFailurePolicy` rules with `onExitCodes` and no `containerName` also read init container statuses
 * (pkg/controller/job matchOnExitCodes), so a sidecar's 143 when it is stopped can match them.
 */
export function podFailurePolicyWarnings(jobSpec: unknown): string[] {
  const policy = isObject(jobSpec) && isObject(jobSpec.podFailurePolicy) ? jobSpec.podFailurePolicy : undefined;
  return asArray(policy?.rules).flatMap((rule, index) =>
    isObject(rule) && isObject(rule.onExitCodes) && rule.onExitCodes.containerName === undefined
      ? [capWarning(`podFailurePolicy.rules[${index}] has onExitCodes without containerName: sidecar exit codes (143) match it too`)]
      : [],
  );
}
