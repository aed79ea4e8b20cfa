import type { EvaluationContext, Operation } from '../engine/types.js';
import type { MigrationSettings } from '../policy/policy.js';
import type { FieldFix } from './native-sidecar-fixes.js';

/** The RFC 6902 operations the migration emits. */
export type PatchOperation = { op: 'add'; path: string; value: unknown } | { op: 'remove'; path: string };

export interface ContainerMove {
  name: string;
  /** Index in the input's `containers` array. */
  from: number;
  /** Why it moves, for messages. */
  reason: string;
  /** What makes it valid as a native sidecar (`restartPolicy: Always` first). */
  fixes: FieldFix[];
}

/** The change to one object, independent of its representation (JSON object or YAML document). */
export interface MigrationChange {
  /** Keys from the object to the pod spec, e.g. `['spec', 'template', 'spec']`. */
  specPath: string[];
  /** Keys from the object to the pod template metadata. */
  metadataPath: string[];
  /** In `containers` order, which is the order they get in `initContainers`. */
  moves: ContainerMove[];
  /** `after-init-containers` keeps start order and the effective resource request. */
  placement: 'after-init-containers' | 'before-init-containers';
  /** Pod template annotations to add. */
  annotations: Record<string, string>;
}

/** `patch`: apply `patch`. `dry-run`: report only. `none`: nothing to do (see `skipped`). */
export type MigrationAction = 'patch' | 'dry-run' | 'none';

export interface MigrationPlan {
  action: MigrationAction;
  /** Containers moved to `initContainers` (with `dry-run`: that would be moved). */
  moved: string[];
  /** JSON Patch against the input object exactly as given; empty unless `action` is `patch`. */
  patch: PatchOperation[];
  /** For the user (kubectl prints them): one line each, at most 120 characters. */
  warnings: string[];
  /** Keys without `/` (the API server prefixes the webhook's name), values are container or mesh names. */
  auditAnnotations: Record<string, string>;
  /** Why nothing was done, for logs. */
  skipped?: string;
  /** The structured change behind `patch`, when `action` is `patch` (the CLI applies it to YAML documents). */
  change?: MigrationChange;
}

export interface MigrationOptions {
  context: EvaluationContext;
  settings: MigrationSettings;
  /** The admission operation; defaults to `context.operation`, and to a creation when neither is set. */
  operation?: Operation;
  namespaceAnnotations?: Record<string, string>;
  /** Only used to see namespace-wide mesh injection (`istio-injection: enabled`, `istio.io/rev`). */
  namespaceLabels?: Record<string, string>;
}
