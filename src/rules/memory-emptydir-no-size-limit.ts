import { asString, isObject } from '../model/kube.js';
import type { PodModel } from '../model/pod.js';
import { celText, quoted, record } from '../cel/expr.js';
import type { Rule, RuleFinding } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

type MemoryEmptyDirFacts = {
  volume: string;
  /** The first container that mounts it read-write, '' when none does. */
  writer: string;
  /** The first container that mounts it at all, '' when none does. */
  mounter: string;
};

/**
 * A `medium: Memory` emptyDir is a tmpfs. Its pages are charged to the memory cgroup of the container that
 * writes them, and without `sizeLimit` the kubelet sizes the tmpfs to the pod's memory limit, or to the
 * node's allocatable memory when a container has no limit (EmptyDirVolumeSource.sizeLimit, KEP-1967).
 */
export const memoryEmptyDirNoSizeLimit: Rule<MemoryEmptyDirFacts> = {
  id: 'memory-emptydir-no-size-limit',
  defaultSeverity: 'warn',
  kinds: POD_BEARING_KINDS,
  summary: 'A memory-backed emptyDir has no sizeLimit: its files eat the containers\' memory limit, up to the node\'s memory.',
  description:
    'An `emptyDir` with `medium: Memory` is a tmpfs: every byte written to it is RAM, charged to the memory limit ' +
    'of the container that writes it, not to ephemeral storage. A log, cache or spool that grows there pushes the ' +
    'writing container towards its limit until the kernel OOM-kills it, and a restart does not free the pages: the ' +
    'volume lives as long as the pod. Without `sizeLimit` nothing bounds the volume but the pod\'s memory limit, ' +
    'or the node\'s memory when a container has no limit, where it adds to node memory pressure and evictions. ' +
    'Fix: set `emptyDir.sizeLimit` to what the volume is meant to hold and add that amount to the memory limit ' +
    'of the containers that write to it.',
  example: {
    bad: `apiVersion: v1
kind: Pod
metadata:
  name: app-with-vault-agent
spec:
  containers:
    - name: app
      image: registry.example.com/app:2.1.0
      resources:
        limits: { memory: 256Mi }
      volumeMounts:
        - { name: vault-secrets, mountPath: /etc/secrets, readOnly: true }
    - name: vault-agent
      image: hashicorp/vault:1.15.6
      args: ["agent", "-config=/etc/vault/config.hcl"]
      resources:
        requests: { cpu: 50m }
        limits: { memory: 64Mi }
      volumeMounts:
        - { name: vault-config, mountPath: /etc/vault }
        - { name: vault-secrets, mountPath: /etc/secrets }
  volumes:
    - name: vault-secrets
      emptyDir:
        medium: Memory
    - name: vault-config
      configMap: { name: vault-agent-config }
`,
    fixed: `apiVersion: v1
kind: Pod
metadata:
  name: app-with-vault-agent
spec:
  containers:
    - name: app
      image: registry.example.com/app:2.1.0
      resources:
        limits: { memory: 256Mi }
      volumeMounts:
        - { name: vault-secrets, mountPath: /etc/secrets, readOnly: true }
    - name: vault-agent
      image: hashicorp/vault:1.15.6
      args: ["agent", "-config=/etc/vault/config.hcl"]
      resources:
        requests: { cpu: 50m }
        limits: { memory: 80Mi }
      volumeMounts:
        - { name: vault-config, mountPath: /etc/vault }
        - { name: vault-secrets, mountPath: /etc/secrets }
  volumes:
    - name: vault-secrets
      emptyDir:
        medium: Memory
        sizeLimit: 16Mi
    - name: vault-config
      configMap: { name: vault-agent-config }
`,
  },
  problem: ({ volume, writer, mounter }) =>
    writer
      ? `'${writer}' writes a RAM emptyDir with no sizeLimit`
      : mounter
        ? `'${mounter}' mounts a RAM emptyDir with no sizeLimit`
        : `a RAM emptyDir '${volume}' has no sizeLimit`,
  evaluate({ pods }) {
    const findings: RuleFinding<MemoryEmptyDirFacts>[] = [];
    for (const pod of pods) {
      const volumes = Array.isArray(pod.spec.volumes) ? pod.spec.volumes : [];
      let mounts: ReturnType<typeof mountsByVolume> | undefined;
      volumes.forEach((volume, index) => {
        if (!isObject(volume) || !isObject(volume.emptyDir)) return;
        const { medium, sizeLimit } = volume.emptyDir;
        if (medium !== 'Memory' || (sizeLimit !== undefined && sizeLimit !== null && sizeLimit !== '')) return;
        const name = asString(volume.name) ?? `volumes[${index}]`;
        mounts ??= mountsByVolume(pod);
        const writers = mounts.writers.get(name) ?? [];
        const charged = writers.length > 0 ? writers.map((c) => `'${c}'`).join(', ') : 'the containers that write to it';
        findings.push({
          path: `${pod.specPath}.volumes[${index}]`,
          facts: { volume: name, writer: writers[0] ?? '', mounter: mounts.mounters.get(name)?.[0] ?? '' },
          message:
            `emptyDir '${name}' is a tmpfs (medium: Memory) with no sizeLimit: every byte written to it is RAM charged to ` +
            `the memory limit of ${charged}, so a growing file OOM-kills the writer, and nothing bounds the volume but the ` +
            `pod's memory limit, or the node's memory when a container has no limit.`,
          fix:
            `Set \`sizeLimit\` under ${pod.specPath}.volumes[${index}].emptyDir (the most '${name}' should hold, e.g. 64Mi) ` +
            `and add that amount to the memory limit of ${charged}.`,
        });
      });
    }
    return findings;
  },
  cel: () => ({
    candidate: (pod) => `${pod.spec}.?volumes.orValue([]).exists(v, v.?emptyDir.?medium.orValue('') == 'Memory')`,
    checks: [
      {
        // Volume names are unique (the API server validates it), so a volume's index is the index of its name.
        findings: (pod) =>
          `${pod.spec}.?volumes.orValue([]).filter(v, v.?emptyDir.?medium.orValue('') == 'Memory' && v.?emptyDir.?sizeLimit.orValue('') == '')` +
          `.map(v, ${record({ name: 'v.name', index: `${pod.spec}.volumes.map(x, x.name).indexOf(v.name)` })})`,
        key: (f) => `'volumes[' + string(${f}.index) + ']'`,
        text: (f, pod) => {
          const writers = `${pod.containers}.filter(c, c.spec.?volumeMounts.orValue([]).exists(m, m.name == ${f}.name && m.?readOnly.orValue(false) != true)).map(c, ${quoted('c.name')})`;
          const charged = `size(${writers}) > 0 ? ${writers}.join(', ') : 'the containers that write to it'`;
          const volume = `${pod.specPath} + '.volumes[' + string(${f}.index) + ']'`;
          return celText`emptyDir '${`${f}.name`}' is a tmpfs (medium: Memory) with no sizeLimit: every byte written to it is RAM charged to the memory limit of ${charged}, so a growing file OOM-kills the writer, and nothing bounds the volume but the pod's memory limit, or the node's memory when a container has no limit. Fix: Set \`sizeLimit\` under ${volume}.emptyDir (the most '${`${f}.name`}' should hold, e.g. 64Mi) and add that amount to the memory limit of ${charged}.`;
        },
      },
    ],
  }),
};

/**
 * Per volume, the containers that mount it, and those that mount it read-write (the ones whose memory the tmpfs
 * pages are charged to), in container order; one pass over every mount of the pod.
 */
function mountsByVolume(pod: PodModel): { writers: Map<string, string[]>; mounters: Map<string, string[]> } {
  const writers = new Map<string, string[]>();
  const mounters = new Map<string, string[]>();
  const add = (map: Map<string, string[]>, volume: string, container: string): void => {
    const names = map.get(volume);
    if (names) names.push(container);
    else map.set(volume, [container]);
  };
  for (const container of pod.containers) {
    const mounted = new Set<string>();
    const written = new Set<string>();
    for (const mount of Array.isArray(container.spec.volumeMounts) ? container.spec.volumeMounts : []) {
      if (!isObject(mount) || typeof mount.name !== 'string') continue;
      if (!mounted.has(mount.name)) {
        mounted.add(mount.name);
        add(mounters, mount.name, container.name);
      }
      if (mount.readOnly !== true && !written.has(mount.name)) {
        written.add(mount.name);
        add(writers, mount.name, container.name);
      }
    }
  }
  return { writers, mounters };
}
