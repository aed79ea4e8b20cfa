import { asArray, isObject, type JsonObject } from '../model/kube.js';
import { withFixes } from './native-sidecar-fixes.js';
import { getIn } from './target.js';
import type { MigrationChange, PatchOperation } from './types.js';

/** RFC 6901: `~` becomes `~0` and `/` becomes `~1` (in that order). */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(keys: readonly (string | number)[]): string {
  return keys.map((key) => `/${escapePointerToken(String(key))}`).join('');
}

/**
 * The JSON Patch that applies a change to the raw object it was planned on: the moved entries are removed
 * from `containers` highest index first (so the other indexes stay valid), then added to `initContainers`, then
 * the annotations. Only the touched paths appear, so every field the webhook does not know survives.
 */
export function jsonPatchFor(change: MigrationChange, object: unknown): PatchOperation[] {
  const spec = getIn(object, change.specPath);
  const containers = isObject(spec) ? asArray(spec.containers) : [];
  const operations: PatchOperation[] = [];
  for (const move of [...change.moves].sort((a, b) => b.from - a.from)) {
    operations.push({ op: 'remove', path: pointer([...change.specPath, 'containers', move.from]) });
  }
  const sidecars = change.moves.map((move) => withFixes(containers[move.from] as JsonObject, move.fixes));
  if (sidecars.length > 0) {
    const initPath = [...change.specPath, 'initContainers'];
    if (!isObject(spec) || !Array.isArray(spec.initContainers)) operations.push({ op: 'add', path: pointer(initPath), value: sidecars });
    else if (change.placement === 'after-init-containers') sidecars.forEach((value) => operations.push({ op: 'add', path: pointer([...initPath, '-']), value }));
    else sidecars.forEach((value, index) => operations.push({ op: 'add', path: pointer([...initPath, index]), value }));
  }
  operations.push(...annotationOperations(object, change.metadataPath, change.annotations));
  return operations;
}

/** Adds annotations, creating `metadata` and `metadata.annotations` when the object has none. */
function annotationOperations(object: unknown, metadataPath: string[], annotations: Record<string, string>): PatchOperation[] {
  if (Object.keys(annotations).length === 0) return [];
  const metadata = getIn(object, metadataPath);
  if (!isObject(metadata)) return [{ op: 'add', path: pointer(metadataPath), value: { annotations: { ...annotations } } }];
  if (!isObject(metadata.annotations)) return [{ op: 'add', path: pointer([...metadataPath, 'annotations']), value: { ...annotations } }];
  return Object.entries(annotations).map(([key, value]) => ({ op: 'add', path: pointer([...metadataPath, 'annotations', key]), value }));
}
