import type { Document, Pair, YAMLMap, YAMLSeq } from 'yaml';
import { yamlPackage } from '../input/yaml-package.js';
import type { FieldFix } from './native-sidecar-fixes.js';
import type { MigrationChange } from './types.js';

/** yaml's own guards, from the package loaded on first use (the document was parsed with it). */
const isMap = (node: unknown): node is YAMLMap => yamlPackage().isMap(node);
const isSeq = (node: unknown): node is YAMLSeq => yamlPackage().isSeq(node);

type Path = readonly (string | number)[];

/**
 * Applies a planned change to a parsed YAML document in place, node by node: the moved containers keep their
 * comments and key order, and nothing outside the touched paths is rewritten. `objectPath` locates the object
 * inside the document (`['items', 2]` for an item of a List).
 */
export function applyChangeToDocument(document: Document, change: MigrationChange, objectPath: Path = []): void {
  const specPath = [...objectPath, ...change.specPath];
  const spec = mapAt(document, specPath);
  const containers = document.getIn([...specPath, 'containers'], true);
  if (!isSeq(containers)) throw new Error(`${specPath.join('.')}.containers is not a YAML sequence`);
  const nodes = change.moves.map((move) => {
    const node = containers.items[move.from];
    if (!isMap(node)) throw new Error(`${specPath.join('.')}.containers[${move.from}] is not a YAML mapping`);
    for (const fix of move.fixes) applyFix(document, node, fix);
    return node;
  });
  const moved = new Set(change.moves.map((move) => move.from));
  containers.items = containers.items.filter((_, index) => !moved.has(index));

  if (nodes.length > 0) {
    const init = initContainersOf(document, spec);
    // Whole arrays, not spread arguments: those overflow the call stack for very long lists.
    if (change.placement === 'after-init-containers') init.items = init.items.concat(nodes);
    else init.items = (nodes as unknown[]).concat(init.items);
  }
  if (Object.keys(change.annotations).length > 0) {
    const holder = mapAt(document, [...objectPath, ...change.metadataPath.slice(0, -1)]);
    const metadata = ensureMap(document, holder, change.metadataPath.at(-1)!, 'spec');
    const annotations = ensureMap(document, metadata, 'annotations');
    for (const [key, value] of Object.entries(change.annotations)) annotations.set(key, document.createNode(value));
  }
}

function mapAt(document: Document, path: Path): YAMLMap {
  const node = path.length === 0 ? document.contents : document.getIn(path, true);
  if (!isMap(node)) throw new Error(`${path.join('.') || 'the document'} is not a YAML mapping`);
  return node;
}

/** The `initContainers` sequence, created right before `containers` (start order) when the pod has none. */
function initContainersOf(document: Document, spec: YAMLMap): YAMLSeq {
  const existing = spec.get('initContainers', true);
  if (isSeq(existing)) return existing;
  const sequence = document.createNode([]) as YAMLSeq;
  sequence.flow = false;
  spec.delete('initContainers');
  const pair = document.createPair('initContainers', sequence) as Pair;
  const at = spec.items.findIndex((item) => keyOf(item) === 'containers');
  spec.items.splice(at < 0 ? spec.items.length : at, 0, pair);
  return sequence;
}

/** The mapping under `key`, created (before the `before` key, if any) when missing. */
function ensureMap(document: Document, parent: YAMLMap, key: string, before?: string): YAMLMap {
  const existing = parent.get(key, true);
  if (isMap(existing)) {
    // `metadata: {}` would otherwise grow into a one-line flow mapping.
    if (existing.items.length === 0) existing.flow = false;
    return existing;
  }
  const created = document.createNode({}) as YAMLMap;
  created.flow = false;
  parent.delete(key);
  const at = before === undefined ? -1 : parent.items.findIndex((item) => keyOf(item) === before);
  parent.items.splice(at < 0 ? parent.items.length : at, 0, document.createPair(key, created) as Pair);
  return created;
}

function applyFix(document: Document, container: YAMLMap, fix: FieldFix): void {
  const parentNode = fix.path.length === 1 ? container : container.getIn(fix.path.slice(0, -1), true);
  const key = fix.path.at(-1)!;
  if (!isMap(parentNode)) throw new Error(`${fix.path.slice(0, -1).join('.')} is not a YAML mapping (an alias?)`);
  if (fix.op === 'remove') {
    parentNode.delete(key);
  } else if (parentNode.has(key) || parentNode !== container) {
    parentNode.set(key, document.createNode(fix.value));
  } else {
    // A new field goes right after `image`, as in the JSON Patch value.
    const at = container.items.findIndex((item) => keyOf(item) === 'image');
    container.items.splice(at < 0 ? container.items.length : at + 1, 0, document.createPair(key, fix.value) as Pair);
  }
}

function keyOf(pair: Pair): unknown {
  const key = pair.key as { value?: unknown } | null;
  return key !== null && typeof key === 'object' && 'value' in key ? key.value : key;
}
