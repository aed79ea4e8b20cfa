import type { Document, Node } from 'yaml';
import { yamlPackage } from './yaml-package.js';
import { resolvePlainScalar } from './schema.js';
import { MAX_MERGE_DEPTH, type SourceNode } from './source-node.js';

/*
 * js-yaml is stricter than the YAML spec, go-yaml and PyYAML in a few corners: it rejects, for instance, a
 * flow sequence whose closing `]` sits at the indentation of its key, which Istio's own manifests use
 * (samples/security/spire/spire-quickstart.yaml). Documents js-yaml rejects are read again here with the
 * `yaml` package, which follows the spec; scalars are resolved with the same kubectl rules.
 */

const STRING_TAG = 'tag:yaml.org,2002:str';
const RESOLVED_TAGS = new Set(['tag:yaml.org,2002:null', 'tag:yaml.org,2002:bool', 'tag:yaml.org,2002:int', 'tag:yaml.org,2002:float']);

function parsed(text: string): Document.Parsed {
  // Failsafe keeps every scalar a string, so resolution is ours alone.
  const document = yamlPackage().parseDocument(text, { schema: 'failsafe', uniqueKeys: false, prettyErrors: false });
  const error = document.errors[0];
  if (error) throw error;
  return document;
}

/** The value of a single YAML document as kubectl would read it; throws on a syntax error. */
export function loadLenientYaml(text: string): unknown {
  const { isAlias, isMap, isScalar, isSeq } = yamlPackage();
  const document = parsed(text);
  const values = new Map<Node, unknown>();
  const toValue = (node: unknown): unknown => {
    if (isAlias(node)) return toValue(node.resolve(document));
    if (!node || typeof node !== 'object') return null;
    const known = values.get(node as Node);
    if (known !== undefined) return known;
    if (isScalar(node)) {
      const text = node.value === null ? '' : String(node.value);
      if (node.tag === STRING_TAG || (node.tag === undefined && node.type !== 'PLAIN')) return text;
      return node.tag === undefined || RESOLVED_TAGS.has(node.tag) ? resolvePlainScalar(text) : text;
    }
    if (isSeq(node)) {
      const list: unknown[] = [];
      values.set(node, list);
      for (const item of node.items) list.push(toValue(item));
      return list;
    }
    if (!isMap(node)) return null;
    const object: Record<string, unknown> = {};
    values.set(node, object);
    const merged: unknown[] = [];
    for (const pair of node.items) {
      const key = keyOf(pair.key);
      if (key === '<<') merged.push(...[toValue(pair.value)].flat());
      else object[key] = toValue(pair.value);
    }
    // Keys written in the mapping win over merged ones; among merged mappings, the first wins.
    for (const source of merged) {
      if (source && typeof source === 'object') for (const [key, value] of Object.entries(source)) if (!(key in object)) object[key] = value;
    }
    return object;
  };
  return toValue(document.contents);
}

/** Positions of a document that only the lenient reader accepts. */
export function lenientYamlRoot(text: string): SourceNode | undefined {
  const { isAlias, isMap, isSeq } = yamlPackage();
  const document = parsed(text);
  // `depth`: merge keys followed to reach the node.
  const nodeAt = (node: unknown, depth = 0): SourceNode | undefined => {
    const target = isAlias(node) ? node.resolve(document) : node;
    if (!target || typeof target !== 'object' || !('range' in target)) return undefined;
    const range = (target as Node).range;
    return {
      offset: range?.[0] ?? 0,
      entry(key) {
        if (!isMap(target) || depth > MAX_MERGE_DEPTH) return undefined;
        const pair = target.items.findLast((item) => keyOf(item.key) === key);
        if (pair) {
          const value = nodeAt(pair.value);
          const keyOffset = (pair.key as Node | null)?.range?.[0];
          return value && keyOffset !== undefined ? { keyOffset, value } : undefined;
        }
        for (const item of target.items.filter((candidate) => keyOf(candidate.key) === '<<')) {
          const sources = isSeq(item.value) ? item.value.items : [item.value];
          for (const source of sources) {
            const found = nodeAt(source, depth + 1)?.entry(key);
            if (found) return found;
          }
        }
        return undefined;
      },
      item(index) {
        return isSeq(target) ? nodeAt(target.items[index]) : undefined;
      },
    };
  };
  return nodeAt(document.contents);
}

function keyOf(key: unknown): string {
  const { isScalar } = yamlPackage();
  if (isScalar(key)) return String(key.type === 'PLAIN' ? resolvePlainScalar(key.value === null ? '' : String(key.value)) : key.value);
  return '';
}
