import { parseImage } from './image.js';
import { MEMO_KEY_LIMIT } from './memo.js';
import type { Container } from './kube.js';

export type HelperKind =
  | 'mesh-proxy'
  | 'auth-proxy'
  | 'config-reloader'
  | 'log-shipper'
  | 'metrics-exporter'
  | 'database-proxy'
  | 'secrets-agent'
  | 'app-runtime'
  | 'telemetry-collector'
  | 'storage-sidecar'
  | 'resizer';

export interface HelperMatch {
  kind: HelperKind;
  /** `high`: the image is a sidecar wherever it appears (safe to migrate without being told). `medium`: usually a helper, sometimes the workload itself. */
  confidence: 'high' | 'medium';
  /** What matched, for messages: e.g. `image istio/proxyv2`. */
  evidence: string;
}

export interface HelperPattern {
  kind: HelperKind;
  confidence: 'high' | 'medium';
  image?: RegExp;
  name?: RegExp;
}

/**
 * Well-known helper containers. Image patterns match the repository path without tag, so any registry
 * mirror matches. `high` entries are the sidecar images listed in the migration notes; the rest only
 * decide which container is the main one. The compiled CEL policies test the same patterns (src/cel/pod.ts).
 */
export const HELPER_PATTERNS: readonly HelperPattern[] = [
  { kind: 'mesh-proxy', confidence: 'high', image: /(^|\/)proxyv2$/ },
  { kind: 'mesh-proxy', confidence: 'high', image: /(^|\/)linkerd\/proxy$/ },
  { kind: 'mesh-proxy', confidence: 'high', name: /^(istio-proxy|linkerd-proxy)$/ },
  { kind: 'database-proxy', confidence: 'high', image: /(^|\/)(cloudsql-docker\/gce-proxy|cloud-sql-connectors\/cloud-sql-proxy|cloud-sql-proxy)$/ },
  { kind: 'log-shipper', confidence: 'high', image: /(^|\/)(fluent-bit|promtail|vector)$/ },
  { kind: 'telemetry-collector', confidence: 'high', image: /(^|\/)opentelemetry-collector(-contrib|-k8s)?$/ },
  { kind: 'secrets-agent', confidence: 'high', name: /^vault-agent$/ },
  { kind: 'app-runtime', confidence: 'high', image: /(^|\/)daprd$/ },
  { kind: 'app-runtime', confidence: 'high', name: /^daprd$/ },
  { kind: 'mesh-proxy', confidence: 'medium', image: /(^|\/)envoy(-distroless)?$/ },
  { kind: 'auth-proxy', confidence: 'medium', image: /(^|\/)(kube-rbac-proxy|oauth2-proxy)$/ },
  { kind: 'auth-proxy', confidence: 'medium', name: /^(kube-rbac-proxy|oauth2-proxy)(-.*)?$/ },
  { kind: 'config-reloader', confidence: 'medium', image: /(^|\/)(configmap-reload|prometheus-config-reloader|config-reloader|k8s-sidecar|git-sync|reloader)$/ },
  { kind: 'config-reloader', confidence: 'medium', name: /(config-?reload|configmap-reload|reloader)/ },
  { kind: 'log-shipper', confidence: 'medium', image: /(^|\/)(fluentd|filebeat|fluentd-kubernetes-daemonset)$/ },
  { kind: 'log-shipper', confidence: 'medium', name: /^(log-?shipper|logging-agent|log-forwarder)$/ },
  { kind: 'metrics-exporter', confidence: 'medium', image: /[-_]exporter$|(^|\/)prometheus-to-sd$/ },
  { kind: 'metrics-exporter', confidence: 'medium', name: /(^metrics$|[-_]exporter$|^exporter$|^prometheus-to-sd$)/ },
  { kind: 'storage-sidecar', confidence: 'medium', image: /(^|\/)(csi-provisioner|csi-attacher|csi-resizer|csi-snapshotter|livenessprobe|csi-node-driver-registrar|csi-external-health-monitor-controller)$/ },
  { kind: 'storage-sidecar', confidence: 'medium', name: /^(csi-provisioner|csi-attacher|csi-resizer|csi-snapshotter|liveness-probe|node-driver-registrar|csi-node-driver-registrar)$/ },
  { kind: 'resizer', confidence: 'medium', image: /(^|\/)addon-resizer$/ },
];

/** Fleets reuse a handful of images and names: remembering the verdicts saves ~20 regex tests per container. */
const CACHE_LIMIT = 10_000;
/** Verdicts by image repository, then by container name (no key is built per lookup); null: no helper. */
const cache = new Map<string, Map<string, HelperMatch | null>>();
let cached = 0;

/** Recognises a well-known helper container by image or name; undefined for anything else. */
export function recognizeHelper(container: Container): HelperMatch | undefined {
  const image = typeof container.image === 'string' ? container.image : '';
  return helperOf(image ? parseImage(image).repository : '', typeof container.name === 'string' ? container.name : '');
}

/** recognizeHelper for a container whose image is already parsed: its repository ('' without an image) and name. */
export function helperOf(repository: string, name: string): HelperMatch | undefined {
  if (repository.length + name.length > MEMO_KEY_LIMIT) return matchHelper(repository, name);
  let byName = cache.get(repository);
  const known = byName?.get(name);
  if (known !== undefined) return known ?? undefined;
  if (cached >= CACHE_LIMIT) {
    cache.clear();
    cached = 0;
    byName = undefined;
  }
  if (!byName) {
    byName = new Map();
    cache.set(repository, byName);
  }
  const match = matchHelper(repository, name);
  byName.set(name, match ?? null);
  cached++;
  return match;
}

function matchHelper(image: string, name: string): HelperMatch | undefined {
  let best: HelperMatch | undefined;
  for (const pattern of HELPER_PATTERNS) {
    const evidence =
      pattern.image && image && pattern.image.test(image)
        ? `image ${image}`
        : pattern.name && name && pattern.name.test(name)
          ? `name ${name}`
          : undefined;
    if (!evidence) continue;
    if (pattern.confidence === 'high') return { kind: pattern.kind, confidence: 'high', evidence };
    best ??= { kind: pattern.kind, confidence: pattern.confidence, evidence };
  }
  return best;
}
