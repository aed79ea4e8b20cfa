/** Names the classic sidecars to move, e.g. `"istio-proxy,log-shipper"`; explicit beats guessed. */
export const SIDECARS_ANNOTATION = 'podpatterns.io/sidecars';
/** `"true"` puts the moved sidecars before the existing init containers, for helpers those need (mesh proxies). */
export const SIDECARS_FIRST_ANNOTATION = 'podpatterns.io/sidecars-first';
/** `"false"` on the workload, its pod template or its namespace opts out of the migration. */
export const MIGRATE_ANNOTATION = 'podpatterns.io/migrate';
/** Set on the pod template: the containers the migration moved to `initContainers`. */
export const MIGRATED_ANNOTATION = 'podpatterns.io/migrated-sidecars';

/** Audit annotation keys (the API server prefixes them with the webhook's name, so no `/` here). */
export const AUDIT_MIGRATED = 'migrated-sidecars';
export const AUDIT_WOULD_MIGRATE = 'would-migrate-sidecars';
export const AUDIT_MESH = 'mesh-native-sidecar';
export const AUDIT_WOULD_SET_MESH = 'would-set-mesh-native-sidecar';

/** `"a, b,,a"` → `['a', 'b']`. */
export function parseNameList(value: string): string[] {
  return [...new Set(value.split(',').map((name) => name.trim()).filter(Boolean))];
}

/** The first value any of the annotation maps holds for a key, most specific map first. */
export function lookup(maps: readonly Record<string, string>[], key: string): string | undefined {
  for (const map of maps) {
    const value = map[key];
    if (value !== undefined) return value;
  }
  return undefined;
}

/** The spellings of "false" and "true" the annotations accept, once trimmed. */
export const FALSE_VALUE = /^(false|no|off|0|disabled)$/i;
export const TRUE_VALUE = /^(true|yes|on|1|enabled)$/i;

export function isFalse(value: string | undefined): boolean {
  return value !== undefined && FALSE_VALUE.test(value.trim());
}

export function isTrue(value: string | undefined): boolean {
  return value !== undefined && TRUE_VALUE.test(value.trim());
}
