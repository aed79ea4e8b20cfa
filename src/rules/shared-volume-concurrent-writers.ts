import { asString, isObject, type JsonObject } from '../model/kube.js';
import type { ContainerModel, PodModel } from '../model/pod.js';
import { bind, celText, matches, quoted, record } from '../cel/expr.js';
import type { CelForm, CelUnavailable, Rule, RuleFinding } from '../engine/types.js';
import { atLeast } from '../model/version.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

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
  kinds: POD_BEARING_KINDS,
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
        const { second, partner, involved } = clashesOf(mounts);
        if (!second || !partner) continue;
        const socketDir = /sock|csi/i.test(volume) || involved.some((mount) => /sock|csi/i.test(mount.mountPath));
        findings.push({
          container: second.container.name,
          path: `${second.container.path}.volumeMounts[${second.index}]`,
          facts: { volume, other: partner.name },
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
  cel: ({ kubernetesVersion }) => (atLeast(kubernetesVersion, 1, 35) ? sharedVolumeCel : NEEDS_LIST_FUNCTIONS),
};

const NEEDS_LIST_FUNCTIONS: CelUnavailable = {
  unavailable: 'webhook-only',
  reason: 'its CEL form needs the list functions (flatten, distinct) that new policies may use from Kubernetes 1.35',
};

const LOCK_FILE = /\.(?:lock|lck)$/;
const SCRATCH = /^\/(?:var\/)?tmp\/?$/;
const SOCKET_DIR = /sock|csi/i;

/** One record per volume with clashes: the volume, the mounts involved in order, and the later mount of the first clash. */
const sharedVolumeCel: CelForm = {
  variables: (pod) => [
    {
      name: 'writableVolumes',
      expression: `${pod.spec}.?volumes.orValue([]).filter(v, !(${READ_ONLY_SOURCES.map((source) => `has(v.${source})`).join(' || ')}) && !v.exists(k, type(v[k]) == map && v[k].?readOnly.orValue(false) == true)).map(v, v.name)`,
    },
    {
      name: 'writableMounts',
      expression:
        `${pod.containers}.map(c, c.spec.?volumeMounts.orValue([]).transformList(i, m, ${record({
          pos: `(c.kind == 'regular' ? c.first + c.index : c.index) * 1000000 + i`,
          volume: 'm.name',
          readOnly: 'm.?readOnly.orValue(false) == true',
          cname: 'c.name',
          first: 'c.first',
          last: 'c.last',
          path: "c.path + '.volumeMounts[' + string(i) + ']'",
          mountPath: "m.?mountPath.orValue('')",
          subPath: `m.?subPath.orValue(m.?subPathExpr.orValue('')).split('/').filter(p, p != '' && p != '.').join('/')`,
        })})).flatten().filter(m, !m.readOnly && m.volume in ${pod.own('writableVolumes')})`,
    },
  ],
  checks: [
    {
      findings: (pod) => {
        const mounts = pod.own('writableMounts');
        const overlap = "(a.subPath == '' || b.subPath == '' || a.subPath == b.subPath || a.subPath.startsWith(b.subPath + '/') || b.subPath.startsWith(a.subPath + '/'))";
        const byDesign = `(${matches('a.mountPath', LOCK_FILE)} || ${matches('b.mountPath', LOCK_FILE)} || (${matches('a.mountPath', SCRATCH)} && ${matches('b.mountPath', SCRATCH)}))`;
        const clash = `(a.cname != b.cname && a.first <= b.last && b.first <= a.last && ${overlap} && !${byDesign})`;
        const perVolume = bind('ms', `${mounts}.filter(m, m.volume == v)`, bind('involved', `ms.filter(a, ms.exists(b, ${clash}))`,
          `size(involved) == 0 ? [] : [${record({
            volume: 'v',
            involved: 'involved',
            second: `ms.filter(b, ms.exists(a, a.pos < b.pos && ${clash}))[0]`,
          })}]`));
        return `${mounts}.map(m, m.volume).distinct().map(v, ${perVolume}).filter(r, size(r) > 0).map(r, r[0])`;
      },
      key: (f) => `${f}.second.cname + '/' + ${f}.second.path`,
      text: (f) => {
        const described = `${f}.involved.map(m, ${quoted('m.cname')} + ' at ' + m.mountPath + (m.subPath != '' ? ' (subPath ' + m.subPath + ')' : '')).join(', ')`;
        const socketDir = `(${matches(`${f}.volume`, SOCKET_DIR)} || ${f}.involved.exists(m, ${matches('m.mountPath', SOCKET_DIR)}))`;
        const names = `${f}.involved.map(m, m.cname).distinct().map(n, ${quoted('n')}).join(', ')`;
        return celText`volume '${`${f}.volume`}' is mounted read-write at overlapping paths by ${`string(size(${f}.involved))`} containers that run at the same time: ${described}; nothing coordinates their writes, so files written by one can be interleaved, truncated or read half-written by another${`${socketDir} ? ' (if it only holds a Unix socket one container creates and the others connect to, that is safe).' : '.'`} Fix: Add \`readOnly: true\` to the '${`${f}.volume`}' mount of each of ${names} that only reads it${`${socketDir} ? ' or only connects to a socket in it (connect() works through a read-only mount)' : ''`}, or give each writer its own subPath.`;
      },
    },
  ],
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
      const list = byVolume.get(name);
      if (list) list.push(entry);
      else byVolume.set(name, [entry]);
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

/**
 * Two mounts clash when they belong to different containers that run at the same time, their subPaths overlap
 * (the whole volume overlaps everything, otherwise one must equal or contain the other) and the share is not
 * safe by construction: a lock file exists to coordinate writers (`/run/xtables.lock`), and programs create
 * files in a scratch /tmp under unique names (mkstemp). Returns the first mount (in container order) that
 * clashes with an earlier one, the container of one earlier mount it clashes with, and every mount that clashes
 * with any other, in container order.
 *
 * Pairs are never enumerated: overlapping subPaths are ancestors and descendants in a tree of path segments,
 * and each node keeps, per kind of mount, the first two containers below it. An earlier mount runs together
 * with a later one exactly when it is long-running (see runTogether), so the first pass asks each mount for an
 * earlier long-running partner and the second, going backwards, asks each long-running mount for any later
 * one. Both passes cost the length of the subPaths.
 */
function clashesOf(mounts: readonly WritableMount[]): { second?: WritableMount; partner?: ContainerModel; involved: WritableMount[] } {
  const candidates = mounts.filter((mount) => !/\.(?:lock|lck)$/.test(mount.mountPath));
  const longRunning = (mount: WritableMount): boolean => mount.container.kind !== 'init';
  const earlier = new PathIndex();
  let second: WritableMount | undefined;
  let partner: ContainerModel | undefined;
  const clashing = new Set<WritableMount>();
  for (const mount of candidates) {
    const found = earlier.partnerOf(mount);
    if (found) {
      if (!second) [second, partner] = [mount, found];
      clashing.add(mount);
    }
    if (longRunning(mount)) earlier.add(mount);
  }
  const later = new PathIndex();
  for (let index = candidates.length - 1; index >= 0; index--) {
    const mount = candidates[index]!;
    if (longRunning(mount) && later.partnerOf(mount)) clashing.add(mount);
    later.add(mount);
  }
  return { ...(second && { second }), ...(partner && { partner }), involved: candidates.filter((mount) => clashing.has(mount)) };
}

function scratch(mount: WritableMount): boolean {
  return /^\/(?:var\/)?tmp\/?$/.test(mount.mountPath);
}

/** The first two distinct containers of the mounts added to a set: enough to find one other than any given container. */
class TwoContainers {
  private first: ContainerModel | undefined;
  private second: ContainerModel | undefined;

  add(container: ContainerModel): void {
    if (this.first === undefined) this.first = container;
    else if (this.second === undefined && container !== this.first) this.second = container;
  }

  other(than: ContainerModel): ContainerModel | undefined {
    return this.first !== than ? this.first : this.second;
  }
}

/** Containers of the mounts at one subPath (`here`) and at it or below it (`below`); scratch mounts are kept apart. */
interface PathNode {
  children: Map<string, PathNode>;
  here: { any: TwoContainers; notScratch: TwoContainers };
  below: { any: TwoContainers; notScratch: TwoContainers };
}

/** Mounts of one volume by subPath, answering "which other container's mount overlaps this one?" in the length of its subPath. */
class PathIndex {
  private readonly root = PathIndex.node();

  private static node(): PathNode {
    return { children: new Map(), here: { any: new TwoContainers(), notScratch: new TwoContainers() }, below: { any: new TwoContainers(), notScratch: new TwoContainers() } };
  }

  add(mount: WritableMount): void {
    let node = this.root;
    const record = (sets: PathNode['here']): void => {
      sets.any.add(mount.container);
      if (!scratch(mount)) sets.notScratch.add(mount.container);
    };
    record(node.below);
    for (const segment of segments(mount.subPath)) {
      let child = node.children.get(segment);
      if (!child) {
        child = PathIndex.node();
        node.children.set(segment, child);
      }
      node = child;
      record(node.below);
    }
    record(node.here);
  }

  /** A container, other than the mount's own, with a mount at an overlapping subPath that may share with it. */
  partnerOf(mount: WritableMount): ContainerModel | undefined {
    // Two scratch /tmp mounts never clash: a scratch mount only looks at the others.
    const pick = (sets: PathNode['here']): TwoContainers => (scratch(mount) ? sets.notScratch : sets.any);
    let node: PathNode | undefined = this.root;
    for (const segment of segments(mount.subPath)) {
      const found = pick(node.here).other(mount.container);
      if (found) return found;
      node = node.children.get(segment);
      if (!node) return undefined;
    }
    return pick(node.below).other(mount.container);
  }
}

function segments(subPath: string): string[] {
  return subPath === '' ? [] : subPath.split('/');
}

function describe(mount: WritableMount): string {
  return `'${mount.container.name}' at ${mount.mountPath}${mount.subPath ? ` (subPath ${mount.subPath})` : ''}`;
}
