import { fileUseOf, type FileUse } from '../model/files.js';
import { asString, isObject, type JsonObject } from '../model/kube.js';
import type { ContainerModel, PodModel } from '../model/pod.js';
import type { Rule, RuleFinding } from '../engine/types.js';
import { POD_BEARING_KINDS } from '../model/workload.js';

/** Volume sources the kubelet always mounts read-only, whatever the mount says. */
const READ_ONLY_SOURCES = ['configMap', 'secret', 'downwardAPI', 'projected', 'image'];

/**
 * How a container uses a volume it mounts read-write, as far as the pod spec tells: `provider` for a helper whose
 * job is to write files for the others (a config reloader, k8s-sidecar, git-sync), `writes` when its command
 * changes files there or hands them to a program, `reader` when it only reads them, and `presumed` when nothing
 * says (a read-write mount is presumed to be written).
 */
type MountRole = 'provider' | 'writes' | 'reader' | 'presumed';

interface WritableMount {
  container: ContainerModel;
  index: number;
  mountPath: string;
  /** Normalised subPath (or subPathExpr template); '' for the whole volume. */
  subPath: string;
}

/** Volumes written by more than one container of the pod at overlapping paths. */
interface VolumeClash {
  volume: string;
  /** The first mount (in container order) that overlaps an earlier writer's. */
  second: WritableMount;
  /** The container of an earlier writer's mount it overlaps. */
  partner: ContainerModel;
  /** Every writer's mount in a clash, in container order. */
  involved: WritableMount[];
}

/** Helpers that read what others write (log files), or only talk over a Unix socket in the shared directory. */
const READING_HELPERS = new Set(['log-shipper', 'storage-sidecar']);
/** Where programs read their configuration and static data (FHS: /etc, an `etc` directory of its own, /usr). */
const READ_LOCATION = /(?:^|\/)etc(?:\/|$)|^\/usr(?:\/|$)/;
/** A volume or mount path named for the Unix sockets it holds: `socket-dir`, `/var/run/frr-sockets`. */
const SOCKET_NAME = /sock/i;

type SharedVolumeFacts = {
  /** The first volume written by two containers. */
  volume: string;
  /** Another container writing to it at the same time. */
  other: string;
  /** How many volumes of the pod are written by more than one container. */
  volumes: number;
};

export const sharedVolumeConcurrentWriters: Rule<SharedVolumeFacts> = {
  id: 'shared-volume-concurrent-writers',
  defaultSeverity: 'audit',
  kinds: POD_BEARING_KINDS,
  summary: 'Containers that run at the same time write the same volume at overlapping paths.',
  description:
    'When two containers that run at the same time (regular containers and native sidecars; init containers ' +
    'only overlap with the native sidecars started before them) write the same volume at overlapping paths ' +
    '(the same `subPath`, one inside the other, or the whole volume), nothing coordinates their writes: two ' +
    'processes appending to one file interleave, one rotates or truncates what the other still writes, and a ' +
    'config written half-way is read half-way. The spec cannot show who writes, so designed layouts are ' +
    'recognised and left alone: volumes that are read-only by nature (configMap, secret, downwardAPI, projected, ' +
    'image) or mounted `readOnly`; distinct `subPath`s; a directory of Unix sockets (its name says `sock`, or a ' +
    'container names a socket in it, like a CSI driver and its sidecars: a client connects, it does not write); ' +
    'a helper that writes files for the others (a config reloader, k8s-sidecar, git-sync) with the containers ' +
    'that consume them; containers that only read there, by their own command (`tail -F /var/log/app.log`, ' +
    '`cat /config/app.conf`), by their kind (log shippers, CSI sidecars), or because they mount it where ' +
    'programs read configuration and static data (under `/etc`, an `etc` directory, `/usr`); a shared lock file; ' +
    'and a scratch `/tmp`. What remains is two or more containers that may each write there, reported once per ' +
    'pod and only recorded (audit). Fix: mount the volume `readOnly: true` in every container that only reads ' +
    '(a Unix socket client can connect through a read-only mount), or give each writer its own `subPath`.',
  example: {
    bad: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  selector:
    matchLabels: { app: shop }
  template:
    metadata:
      labels: { app: shop }
    spec:
      containers:
        - name: web
          image: registry.example.com/shop:7.4.0
          args: ["serve", "--data-dir=/var/lib/shop"]
          volumeMounts:
            - { name: data, mountPath: /var/lib/shop }
        - name: worker
          image: registry.example.com/shop:7.4.0
          args: ["work", "--data-dir=/var/lib/shop"]
          resources:
            requests: { cpu: 100m, memory: 256Mi }
          volumeMounts:
            - { name: data, mountPath: /var/lib/shop }
      volumes:
        - name: data
          emptyDir: { sizeLimit: 2Gi }
`,
    fixed: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  selector:
    matchLabels: { app: shop }
  template:
    metadata:
      labels: { app: shop }
    spec:
      containers:
        - name: web
          image: registry.example.com/shop:7.4.0
          args: ["serve", "--data-dir=/var/lib/shop"]
          volumeMounts:
            - { name: data, mountPath: /var/lib/shop, subPath: web }
        - name: worker
          image: registry.example.com/shop:7.4.0
          args: ["work", "--data-dir=/var/lib/shop"]
          resources:
            requests: { cpu: 100m, memory: 256Mi }
          volumeMounts:
            - { name: data, mountPath: /var/lib/shop, subPath: worker }
      volumes:
        - name: data
          emptyDir: { sizeLimit: 2Gi }
`,
  },
  problem: ({ other, volumes }) => `and '${other}' both write ${volumes > 1 ? `${volumes} volumes` : 'one volume'}`,
  evaluate({ pods }) {
    const findings: RuleFinding<SharedVolumeFacts>[] = [];
    for (const pod of pods) {
      // Sharing takes two containers.
      if (pod.containers.length < 2) continue;
      let uses: Map<ContainerModel, FileUse> | undefined;
      const useOf = (container: ContainerModel): FileUse => {
        uses ??= new Map();
        let use = uses.get(container);
        if (!use) {
          use = fileUseOf(container.spec);
          uses.set(container, use);
        }
        return use;
      };
      const clashes: VolumeClash[] = [];
      for (const [volume, mounts] of writableMounts(pod)) {
        if (!sharedByTwo(mounts) || socketDirectory(volume, mounts, useOf)) continue;
        const { second, partner, involved } = clashesOf(writersOf(mounts, useOf));
        if (second && partner) clashes.push({ volume, second, partner, involved });
      }
      const first = clashes[0];
      if (!first) continue;
      const { second, partner } = first;
      findings.push({
        container: second.container.name,
        path: `${second.container.path}.volumeMounts[${second.index}]`,
        facts: { volume: first.volume, other: partner.name, volumes: clashes.length },
        message:
          clashes
            .map(({ volume, involved }) =>
              `volume '${volume}' is mounted read-write at overlapping paths by ${involved.length} containers that run at the same time ` +
              `and may write to it: ${involved.map(describe).join(', ')}`,
            )
            .join('; ') +
          `. Nothing coordinates their writes, so files written by one can be interleaved, truncated or read half-written by another.`,
        fix:
          clashes
            .map(({ volume, involved }) => `add \`readOnly: true\` to the '${volume}' mount of each of ${containerNames(involved)} that only reads it`)
            .join('; ')
            .replace(/^a/, 'A') + ', or give each writer its own subPath.',
      });
    }
    return findings;
  },
  cel: () => ({
    unavailable: 'webhook-only',
    reason:
      'it reads what each container\'s shell command does with the files of the volume (tail or cat, redirections, cp, ' +
      'sed -i) to tell readers from writers, which CEL cannot follow faithfully; the rule only records (audit) anyway',
  }),
};

/** At least two containers mount the volume read-write. */
function sharedByTwo(mounts: readonly WritableMount[]): boolean {
  return mounts.some((mount) => mount.container !== mounts[0]!.container);
}

/**
 * A directory the containers share for Unix sockets: named for them, or holding a socket a container names
 * (`unix:///csi/csi.sock`). The server creates the socket and the clients connect; nobody writes files there.
 */
function socketDirectory(volume: string, mounts: readonly WritableMount[], useOf: (container: ContainerModel) => FileUse): boolean {
  return SOCKET_NAME.test(volume) || mounts.some((mount) => SOCKET_NAME.test(mount.mountPath) || useOf(mount.container).socketUnder(mount.mountPath));
}

/**
 * The mounts that may write: providers, containers whose command writes, and, when no provider fills the
 * volume, those nothing is known about. With a provider, the others are the consumers it writes for.
 */
function writersOf(mounts: readonly WritableMount[], useOf: (container: ContainerModel) => FileUse): WritableMount[] {
  const roles = mounts.map((mount) => roleOf(mount, useOf));
  const provided = roles.includes('provider');
  return mounts.filter((_, index) => roles[index] === 'provider' || roles[index] === 'writes' || (!provided && roles[index] === 'presumed'));
}

function roleOf(mount: WritableMount, useOf: (container: ContainerModel) => FileUse): MountRole {
  const { container } = mount;
  if (container.helper?.kind === 'config-reloader') return 'provider';
  const use = useOf(container).under(mount.mountPath);
  if (use) return use.writes || use.unknown ? 'writes' : 'reader';
  if (container.helper && READING_HELPERS.has(container.helper.kind)) return 'reader';
  return READ_LOCATION.test(mount.mountPath) ? 'reader' : 'presumed';
}

const NO_MOUNTS: ReadonlyMap<string, WritableMount[]> = new Map();

/** Read-write mounts per volume, in container order; volumes that cannot be written are left out. */
function writableMounts(pod: PodModel): ReadonlyMap<string, WritableMount[]> {
  const volumes = pod.spec.volumes;
  if (!Array.isArray(volumes) || volumes.length === 0) return NO_MOUNTS;
  const writable = new Set<string>();
  for (const volume of volumes) {
    const name = isObject(volume) ? asString(volume.name) : undefined;
    if (name && !readOnlyByNature(volume)) writable.add(name);
  }
  if (writable.size === 0) return NO_MOUNTS;
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

function containerNames(mounts: readonly WritableMount[]): string {
  return [...new Set(mounts.map((mount) => `'${mount.container.name}'`))].join(', ');
}

function describe(mount: WritableMount): string {
  return `'${mount.container.name}' at ${mount.mountPath}${mount.subPath ? ` (subPath ${mount.subPath})` : ''}`;
}
