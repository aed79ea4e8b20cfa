import { asString, isObject, type JsonObject } from '../model/kube.js';
import { runTogether, type ContainerModel, type PodModel } from '../model/pod.js';
import type { Rule, RuleFinding } from '../engine/types.js';

/** Volume sources the kubelet always mounts read-only, whatever the mount says. */
const READ_ONLY_SOURCES = ['configMap', 'secret', 'downwardAPI', 'projected', 'image'];

interface WritableMount {
  container: ContainerModel;
  index: number;
  mountPath: string;
  /** Normalised subPath (or subPathExpr template); '' for the whole volume. */
  subPath: string;
}

type SharedVolumeFacts = {
  volume: string;
  /** Another container writing to it at the same time. */
  other: string;
};

export const sharedVolumeConcurrentWriters: Rule<SharedVolumeFacts> = {
  id: 'shared-volume-concurrent-writers',
  defaultSeverity: 'audit',
  summary: 'Containers that run at the same time mount the same volume read-write at overlapping paths.',
  description:
    'When two containers that run at the same time (regular containers and native sidecars; init containers ' +
    'only overlap with the native sidecars started before them) mount the same volume read-write at overlapping ' +
    'paths (the same `subPath`, one inside the other, or the whole volume), nothing coordinates their writes: ' +
    'two processes appending to one file interleave, one rotates or truncates what the other still writes, and ' +
    'a config written half-way is read half-way. Volumes that are read-only by nature (configMap, secret, ' +
    'downwardAPI, projected, image) and sources mounted `readOnly` are skipped. The finding is only recorded ' +
    '(audit): sharing is often deliberate and safe, such as one writer and readers that forgot `readOnly`, a ' +
    'directory holding a Unix socket one container creates and the others connect to, or writers that use ' +
    'distinct file names, and the spec cannot tell who really writes. Fix: mount the volume `readOnly: true` ' +
    'in every container that only reads (a Unix socket client can connect through a read-only mount), or give ' +
    'each writer its own `subPath`.',
  example: {
    bad: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: { app: api }
  template:
    metadata:
      labels: { app: api }
    spec:
      containers:
        - name: api
          image: registry.example.com/api:2.4.0
          volumeMounts:
            - { name: logs, mountPath: /var/log/api }
        - name: log-shipper
          image: cr.fluentbit.io/fluent/fluent-bit:3.2.4
          resources:
            requests: { cpu: 20m, memory: 32Mi }
          volumeMounts:
            - { name: logs, mountPath: /logs }
      volumes:
        - name: logs
          emptyDir: { sizeLimit: 1Gi }
`,
    fixed: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: { app: api }
  template:
    metadata:
      labels: { app: api }
    spec:
      containers:
        - name: api
          image: registry.example.com/api:2.4.0
          volumeMounts:
            - { name: logs, mountPath: /var/log/api }
        - name: log-shipper
          image: cr.fluentbit.io/fluent/fluent-bit:3.2.4
          resources:
            requests: { cpu: 20m, memory: 32Mi }
          volumeMounts:
            - { name: logs, mountPath: /logs, readOnly: true }
      volumes:
        - name: logs
          emptyDir: { sizeLimit: 1Gi }
`,
  },
  problem: ({ other }) => `and '${other}' both write one volume`,
  evaluate({ pods }) {
    const findings: RuleFinding<SharedVolumeFacts>[] = [];
    for (const pod of pods) {
      for (const [volume, mounts] of writableMounts(pod)) {
        const clashes: Array<[WritableMount, WritableMount]> = [];
        mounts.forEach((later, i) => {
          for (const earlier of mounts.slice(0, i)) {
            if (
              earlier.container !== later.container &&
              runTogether(earlier.container, later.container) &&
              overlap(earlier.subPath, later.subPath) &&
              !sharedByDesign(earlier, later)
            ) {
              clashes.push([earlier, later]);
            }
          }
        });
        const first = clashes[0];
        if (!first) continue;
        const involved = [...new Set(clashes.flat())].sort((a, b) => mounts.indexOf(a) - mounts.indexOf(b));
        const second = first[1];
        const socketDir = /sock|csi/i.test(volume) || involved.some((mount) => /sock|csi/i.test(mount.mountPath));
        findings.push({
          container: second.container.name,
          path: `${second.container.path}.volumeMounts[${second.index}]`,
          facts: { volume, other: first[0].container.name },
          message:
            `volume '${volume}' is mounted read-write at overlapping paths by ${involved.length} containers that run at the same ` +
            `time: ${involved.map(describe).join(', ')}; nothing coordinates their writes, so files written by one can be ` +
            `interleaved, truncated or read half-written by another` +
            (socketDir ? ' (if it only holds a Unix socket one container creates and the others connect to, that is safe).' : '.'),
          fix:
            `Add \`readOnly: true\` to the '${volume}' mount of each of ${[...new Set(involved.map((m) => `'${m.container.name}'`))].join(', ')} that only reads it` +
            (socketDir ? ' or only connects to a socket in it (connect() works through a read-only mount)' : '') +
            `, or give each writer its own subPath.`,
        });
      }
    }
    return findings;
  },
};

/** Read-write mounts per volume, in container order; volumes that cannot be written are left out. */
function writableMounts(pod: PodModel): Map<string, WritableMount[]> {
  const writable = new Set<string>();
  for (const volume of Array.isArray(pod.spec.volumes) ? pod.spec.volumes : []) {
    const name = isObject(volume) ? asString(volume.name) : undefined;
    if (name && !readOnlyByNature(volume)) writable.add(name);
  }
  const byVolume = new Map<string, WritableMount[]>();
  for (const container of pod.containers) {
    const mounts = Array.isArray(container.spec.volumeMounts) ? container.spec.volumeMounts : [];
    mounts.forEach((mount, index) => {
      if (!isObject(mount) || mount.readOnly === true) return;
      const name = asString(mount.name);
      if (!name || !writable.has(name)) return;
      const entry: WritableMount = {
        container,
        index,
        mountPath: asString(mount.mountPath) ?? '',
        subPath: normalise(asString(mount.subPath) ?? asString(mount.subPathExpr) ?? ''),
      };
      byVolume.set(name, [...(byVolume.get(name) ?? []), entry]);
    });
  }
  return byVolume;
}

function readOnlyByNature(volume: JsonObject): boolean {
  if (READ_ONLY_SOURCES.some((source) => source in volume)) return true;
  // persistentVolumeClaim, csi, nfs, iscsi, … carry their own readOnly switch.
  return Object.values(volume).some((source) => isObject(source) && source.readOnly === true);
}

function normalise(subPath: string): string {
  return subPath.split('/').filter((part) => part !== '' && part !== '.').join('/');
}

/** The whole volume overlaps everything; otherwise one subPath must equal or contain the other. */
function overlap(a: string, b: string): boolean {
  return a === '' || b === '' || a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/**
 * Shares that are safe by construction: a lock file exists to coordinate writers (`/run/xtables.lock`), and
 * programs create files in a scratch /tmp under unique names (mkstemp).
 */
function sharedByDesign(a: WritableMount, b: WritableMount): boolean {
  const lockFile = (mount: WritableMount): boolean => /\.(?:lock|lck)$/.test(mount.mountPath);
  const scratch = (mount: WritableMount): boolean => /^\/(?:var\/)?tmp\/?$/.test(mount.mountPath);
  return lockFile(a) || lockFile(b) || (scratch(a) && scratch(b));
}

function describe(mount: WritableMount): string {
  return `'${mount.container.name}' at ${mount.mountPath}${mount.subPath ? ` (subPath ${mount.subPath})` : ''}`;
}
