import jsonPatch from 'fast-json-patch';
import { planMigration } from './plan.js';
import type { MigrationOptions, MigrationPlan } from './types.js';

export { planMigration } from './plan.js';
export { applyChangeToDocument } from './yaml-document.js';
export {
  MIGRATE_ANNOTATION,
  MIGRATED_ANNOTATION,
  SIDECARS_ANNOTATION,
  SIDECARS_FIRST_ANNOTATION,
} from './annotations.js';
export { ISTIO_NATIVE_SIDECAR, LINKERD_NATIVE_SIDECAR } from './mesh.js';
export type { ContainerMove, MigrationAction, MigrationChange, MigrationOptions, MigrationPlan, PatchOperation } from './types.js';

export interface MigrationResult {
  /** A migrated copy of the input, or the input itself when nothing changes; the input is never modified. */
  object: unknown;
  plan: MigrationPlan;
}

/** Plans the migration of a plain object and applies it to a copy: what the webhook's patch does, without HTTP. */
export function migrateObject(object: unknown, options: MigrationOptions): MigrationResult {
  const plan = planMigration(object, options);
  if (plan.patch.length === 0) return { object, plan };
  const copy: unknown = structuredClone(object);
  return { object: jsonPatch.applyPatch(copy, plan.patch, true, true).newDocument, plan };
}
