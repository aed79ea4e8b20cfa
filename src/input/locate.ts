import { prettyJsonRoot } from './json-lines.js';
import { jsonRoot } from './json-nodes.js';
import { lenientYamlRoot } from './lenient-yaml.js';
import type { ManifestDocument } from './manifest.js';
import { parsePath } from './path.js';
import { LineIndex, type SourceNode } from './source-node.js';
import { yamlRoot } from './yaml-nodes.js';

/** Maps a finding's path to the line of its source file. */
export type LineLocator = (path: string) => number;

/**
 * A locator for one document. Positions are only worked out here, on the first call, so documents without
 * findings never pay for them.
 */
export function lineLocator(document: ManifestDocument): LineLocator {
  /** null: the document has no positions to give. */
  let located: Located | null | undefined;
  let only: number | undefined | null = null;
  return (path) => {
    // A document written on one line (a List as JSON.stringify writes it): every path is on that line.
    if (only === null) only = onlyLine(document.text);
    if (only !== undefined) return document.line + only - 1;
    if (located === undefined) located = locatedOf(document) ?? null;
    if (located === null) return document.line;
    try {
      return document.line + located.lineOf(offsetOf(located.root, path)) - 1;
    } catch {
      // As for rootOf: a finding is never lost for want of its line.
      return document.line;
    }
  };
}

/**
 * The 1-based line of a text whose content (all but the blanks around it) is on one line, whatever offset is
 * asked for; undefined when the content spans lines.
 */
export function onlyLine(text: string): number | undefined {
  if (text.trim().indexOf('\n') !== -1) return undefined;
  // The blanks before the content, and the lines they hold.
  const blanks = text.slice(0, text.length - text.trimStart().length);
  let line = 1;
  for (let at = blanks.indexOf('\n'); at !== -1; at = blanks.indexOf('\n', at + 1)) line++;
  return line;
}

/** A document's root, and the lines of the positions its nodes give (offsets in its text, or lines already). */
export interface Located {
  root: SourceNode;
  lineOf(position: number): number;
}

/** Positions in a document; undefined when they cannot be had. */
function locatedOf(document: ManifestDocument): Located | undefined {
  // A pretty-printed JSON text has its lines in its value: its nodes' positions are lines.
  const pretty = document.format === 'json' ? prettyJsonRoot(document.text, document.value) : undefined;
  if (pretty) return { root: pretty, lineOf: (line) => line };
  const root = rootOf(document);
  if (!root) return undefined;
  const lines = new LineIndex(document.text);
  return { root, lineOf: (offset) => lines.lineOf(offset) };
}

function rootOf(document: ManifestDocument): SourceNode | undefined {
  try {
    if (document.format === 'json') return jsonRoot(document.text);
    // Documents only the lenient reader accepts have no js-yaml events (see lenient-yaml.ts).
    return document.events ? yamlRoot(document.text, document.events) : lenientYamlRoot(document.text);
  } catch {
    // The document was parsed once already; should positions still fail, its first line is the answer.
    return undefined;
  }
}

/**
 * The offset of the deepest node `path` reaches: the key of the last mapping step (its line is where the
 * field is written), or the item of the last sequence step. A path into a field that is absent stops at its
 * nearest present ancestor, which is where the fix goes.
 */
export function offsetOf(root: SourceNode, path: string): number {
  const segments = parsePath(path);
  let node = root;
  let offset = root.offset;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (typeof segment === 'number') {
      const next = node.item(segment);
      if (!next) break;
      node = next;
      offset = next.offset;
      continue;
    }
    // Keys may hold dots (`podpatterns.io/ignore`): when a step names no key, join it with the next ones.
    let key = segment;
    let last = i;
    let found = node.entry(key);
    for (let j = i + 1; !found && typeof segments[j] === 'string'; j++) {
      key += `.${segments[j] as string}`;
      found = node.entry(key);
      if (found) last = j;
    }
    if (!found) break;
    i = last;
    node = found.value;
    offset = found.keyOffset;
  }
  return offset;
}
