import { isObject } from '../model/kube.js';
import { prettyJsonSlice } from './json-lines.js';
import { jsonRoot } from './json-nodes.js';
import { CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE, skipSpace, stringEnd } from './json-scan.js';
import { offsetOf, onlyLine, type LineLocator, type Located } from './locate.js';
import { LineIndex, type SourceNode } from './source-node.js';


/** Consecutive items of a JSON List, cut out of its text with where they sit in it. */
export interface ListSlice {
  /** The items as a JSON array: `[` + their text, commas and blanks between them included, + `]`. */
  text: string;
  /** Index in `items` of the first of them. */
  first: number;
  /** 1-based line of the List's text on which the first item starts. */
  line: number;
}

/** A JSON List cut into slices of its items: what parsing and checking the slices one by one needs. */
export interface SlicedList {
  /** The List's `kind` (`List`, `PodList`, …). */
  kind: string;
  /** Lines of the List's first `{` and of its `items` key: where a path that enters no item points. */
  rootLine: number;
  itemsLine: number;
  /** How many slices `slices` gives. */
  count: number;
  /** The slices, each cut from the text only when it is asked for: a List is not held twice. */
  slices(): Iterable<ListSlice>;
}

/**
 * Cuts the items of a JSON List (`{"kind": "…List", "items": [...]}`) into slices of about `sliceLength`
 * characters, without parsing them: one scan for the item boundaries, skipping strings. Everything of the text
 * but the items is parsed here, so a slice parsed as a JSON array gives exactly the items `JSON.parse` of the
 * whole text would: when each slice parses, the whole text does. Undefined for any other text (not a List,
 * no `items` array, a structure the scan does not follow): it is then read whole.
 */
export function sliceList(text: string, sliceLength: number): SlicedList | undefined {
  const root = skipSpace(text, 0);
  if (text.charCodeAt(root) !== OPEN_BRACE) return undefined;
  const items = lastItemsMember(text, root);
  if (!items || text.charCodeAt(items.valueOffset) !== OPEN_BRACKET) return undefined;
  const found = itemBounds(text, items.valueOffset);
  if (!found) return undefined;
  const bounds = found;
  const rest = skipValue(text, items.valueOffset);
  let skeleton: unknown;
  try {
    skeleton = JSON.parse(`${text.slice(0, items.valueOffset)}[]${text.slice(rest)}`);
  } catch {
    return undefined;
  }
  // The items cut here are those of the List only when the text's last `items` is this array and it is a List.
  if (!isObject(skeleton) || typeof skeleton.kind !== 'string' || !skeleton.kind.endsWith('List') || !Array.isArray(skeleton.items) || skeleton.items.length !== 0) return undefined;

  const lines = new LineCounter(text);
  const rootLine = lines.lineOf(root);
  const itemsLine = lines.lineOf(items.keyOffset);
  // Where each slice starts: the index of its first item.
  const firsts: number[] = [];
  for (let first = 0; first < bounds.length / 2; ) {
    firsts.push(first);
    const start = bounds[first * 2]!;
    let last = first;
    while (last + 1 < bounds.length / 2 && bounds[(last + 1) * 2 + 1]! - start <= sliceLength) last++;
    first = last + 1;
  }
  function* slices(): Generator<ListSlice> {
    for (let i = 0; i < firsts.length; i++) {
      const first = firsts[i]!;
      const last = (firsts[i + 1] ?? bounds.length / 2) - 1;
      const start = bounds[first * 2]!;
      yield { text: `[${text.slice(start, bounds[last * 2 + 1])}]`, first, line: lines.lineOf(start) };
    }
  }
  return { kind: skeleton.kind, rootLine, itemsLine, count: firsts.length, slices };
}

/**
 * The root of a List whose items are a slice (see sliceList): paths into the slice's items find their offsets
 * in `slice.text`; the root and its `items` key have negative offsets, which `listSliceLocator` turns into the
 * lines the whole text has for them.
 */
function sliceRoot(slice: SourceNode, first: number): SourceNode {
  const items: SourceNode = { offset: ITEMS_OFFSET, entry: () => undefined, item: (index) => slice.item(index - first) };
  return { offset: ROOT_OFFSET, entry: (key) => (key === 'items' ? { keyOffset: ITEMS_OFFSET, value: items } : undefined), item: () => undefined };
}

const ROOT_OFFSET = -2;
const ITEMS_OFFSET = -1;

/** Offsets to lines, one pass from the start: asked for in increasing order. */
class LineCounter {
  private at = 0;
  private line = 1;

  constructor(private readonly text: string) {}

  lineOf(offset: number): number {
    for (let next = this.text.indexOf('\n', this.at); next !== -1 && next < offset; next = this.text.indexOf('\n', next + 1)) {
      this.line++;
      this.at = next + 1;
    }
    return this.line;
  }
}

/** The top-level member `items` (the last one: `JSON.parse` keeps the last of repeated keys). */
function lastItemsMember(text: string, root: number): { keyOffset: number; valueOffset: number } | undefined {
  let found: { keyOffset: number; valueOffset: number } | undefined;
  let at = skipSpace(text, root + 1);
  if (text.charCodeAt(at) === CLOSE_BRACE) return undefined;
  for (;;) {
    if (text.charCodeAt(at) !== QUOTE) return undefined;
    const keyEnd = stringEnd(text, at);
    if (keyEnd < 0) return undefined;
    const colon = skipSpace(text, keyEnd);
    if (text.charCodeAt(colon) !== COLON) return undefined;
    const valueOffset = skipSpace(text, colon + 1);
    if (keyName(text, at, keyEnd) === 'items') found = { keyOffset: at, valueOffset };
    const end = skipValue(text, valueOffset);
    if (end < 0) return undefined;
    at = skipSpace(text, end);
    const code = text.charCodeAt(at);
    if (code === CLOSE_BRACE) return found;
    if (code !== COMMA) return undefined;
    at = skipSpace(text, at + 1);
  }
}

function keyName(text: string, start: number, end: number): string | undefined {
  const raw = text.slice(start + 1, end - 1);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return undefined;
  }
}

/** Start and end offsets of each item of the array at `open`, in pairs. */
function itemBounds(text: string, open: number): number[] | undefined {
  const bounds: number[] = [];
  let at = skipSpace(text, open + 1);
  if (text.charCodeAt(at) === CLOSE_BRACKET) return bounds;
  for (;;) {
    const end = skipValue(text, at);
    if (end < 0) return undefined;
    bounds.push(at, end);
    at = skipSpace(text, end);
    const code = text.charCodeAt(at);
    if (code === CLOSE_BRACKET) return bounds;
    if (code !== COMMA) return undefined;
    at = skipSpace(text, at + 1);
  }
}

/** The offset just after the value starting at `at`, or -1 when the text ends first. */
function skipValue(text: string, at: number): number {
  const code = text.charCodeAt(at);
  if (code === QUOTE) return stringEnd(text, at);
  if (code !== OPEN_BRACE && code !== OPEN_BRACKET) {
    // A number, true, false or null: JSON.parse of the slice checks which.
    let end = at;
    while (end < text.length && !isDelimiter(text.charCodeAt(end))) end++;
    return end === at ? -1 : end;
  }
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Blanks first: they are most of a pretty-printed text.
    if (c === 0x20) continue;
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end < 0) return -1;
      i = end - 1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) return i + 1;
  }
  return -1;
}

function isDelimiter(code: number): boolean {
  return code <= 0x20 || code === COMMA || code === CLOSE_BRACE || code === CLOSE_BRACKET;
}

/**
 * Lines of the whole List for the paths of a slice's items (see sliceList): the same lines the locator of the
 * whole text gives. `items` are the slice's items as parsed: a pretty-printed List has their lines in them
 * (json-lines.ts); any other is read structurally.
 */
export function listSliceLocator(slice: ListSlice, list: Pick<SlicedList, 'rootLine' | 'itemsLine'>, items: readonly unknown[]): LineLocator {
  let located: Located | undefined;
  // The slice's items, the List and its `items` key all on one line: every path is on it.
  let oneLine: boolean | undefined;
  return (path) => {
    oneLine ??= list.rootLine === slice.line && list.itemsLine === slice.line && onlyLine(slice.text) === 1;
    if (oneLine) return slice.line;
    located ??= slicePositions(slice, items);
    const position = offsetOf(located.root, path);
    if (position === ROOT_OFFSET) return list.rootLine;
    if (position === ITEMS_OFFSET) return list.itemsLine;
    return slice.line + located.lineOf(position) - 1;
  };
}

/** The root of a slice's List, and the lines in the slice's text of the positions its nodes give. */
function slicePositions(slice: ListSlice, items: readonly unknown[]): Located {
  const pretty = prettyJsonSlice(slice.text, items);
  if (pretty) return { root: sliceRoot(pretty, slice.first), lineOf: (line) => line };
  const lines = new LineIndex(slice.text);
  return { root: sliceRoot(jsonRoot(slice.text), slice.first), lineOf: (offset) => lines.lineOf(offset) };
}
