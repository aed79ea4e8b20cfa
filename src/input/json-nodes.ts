import type { SourceNode } from './source-node.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/**
 * Positions inside a JSON text that `JSON.parse` has already accepted. The document's own members are read
 * when a path first goes through them, and while skipping over an array value its items are noted, so the
 * items of a long `List` are found in one pass over the text. An item is read whole, once, the first time a
 * path enters it: one more pass over that item only, whatever the number of its findings. A repeated key
 * means its last value, as in `JSON.parse`.
 */
export function jsonRoot(text: string): SourceNode {
  return new JsonNode(text, skipSpace(text, 0));
}

interface Member {
  keyOffset: number;
  valueOffset: number;
  /** The items of an array value, noted while skipping over it. */
  items?: number[];
  node?: JsonNode;
}

/** The document and its direct values: read lazily, as far as paths go. */
class JsonNode implements SourceNode {
  private members: Map<string, Member> | undefined;
  private items: number[] | undefined;
  private readonly itemNodes: SourceNode[] = [];

  constructor(
    private readonly text: string,
    readonly offset: number,
    items?: number[],
  ) {
    this.items = items;
  }

  entry(key: string): { keyOffset: number; value: SourceNode } | undefined {
    if (this.text.charCodeAt(this.offset) !== OPEN_BRACE) return undefined;
    const member = (this.members ??= readMembers(this.text, this.offset)).get(key);
    if (!member) return undefined;
    member.node ??= new JsonNode(this.text, member.valueOffset, member.items);
    return { keyOffset: member.keyOffset, value: member.node };
  }

  item(index: number): SourceNode | undefined {
    if (this.text.charCodeAt(this.offset) !== OPEN_BRACKET) return undefined;
    if (!this.items) {
      this.items = [];
      valueEnd(this.text, this.offset, this.items);
    }
    const at = this.items[index];
    if (at === undefined) return undefined;
    return (this.itemNodes[index] ??= new ItemNode(this.text, at));
  }
}

/** An item of an array the document holds (an object of a List): read whole on first use. */
class ItemNode implements SourceNode {
  private tree: TreeNode | undefined;

  constructor(
    private readonly text: string,
    readonly offset: number,
  ) {}

  entry(key: string): { keyOffset: number; value: SourceNode } | undefined {
    return (this.tree ??= readTree(this.text, this.offset).node).entry(key);
  }

  item(index: number): SourceNode | undefined {
    return (this.tree ??= readTree(this.text, this.offset).node).item(index);
  }
}

/** A value with all of its members and items already read. */
class TreeNode implements SourceNode {
  constructor(
    readonly offset: number,
    private readonly members?: Map<string, { keyOffset: number; value: TreeNode }>,
    private readonly items?: TreeNode[],
  ) {}

  entry(key: string): { keyOffset: number; value: SourceNode } | undefined {
    return this.members?.get(key);
  }

  item(index: number): SourceNode | undefined {
    return this.items?.[index];
  }
}

/** The value at `at` and everything in it, in one pass; `end` is just after it. */
function readTree(text: string, at: number): { node: TreeNode; end: number } {
  const first = text.charCodeAt(at);
  if (first === OPEN_BRACE) {
    const members = new Map<string, { keyOffset: number; value: TreeNode }>();
    let cursor = skipSpace(text, at + 1);
    while (text.charCodeAt(cursor) === QUOTE) {
      const keyOffset = cursor;
      const keyEnd = stringEnd(text, keyOffset);
      const raw = text.slice(keyOffset, keyEnd);
      const name = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      const value = readTree(text, skipSpace(text, skipSpace(text, keyEnd) + 1));
      members.set(name, { keyOffset, value: value.node });
      cursor = skipSpace(text, value.end);
      if (text.charCodeAt(cursor) !== COMMA) break;
      cursor = skipSpace(text, cursor + 1);
    }
    return { node: new TreeNode(at, members), end: text.charCodeAt(cursor) === CLOSE_BRACE ? cursor + 1 : cursor };
  }
  if (first === OPEN_BRACKET) {
    const items: TreeNode[] = [];
    let cursor = skipSpace(text, at + 1);
    while (cursor < text.length && text.charCodeAt(cursor) !== CLOSE_BRACKET) {
      const item = readTree(text, cursor);
      items.push(item.node);
      cursor = skipSpace(text, item.end);
      if (text.charCodeAt(cursor) !== COMMA) break;
      cursor = skipSpace(text, cursor + 1);
    }
    return { node: new TreeNode(at, undefined, items), end: text.charCodeAt(cursor) === CLOSE_BRACKET ? cursor + 1 : cursor };
  }
  return { node: new TreeNode(at), end: valueEnd(text, at) };
}

/** Every member of the object at `at`; a later repeat of a key replaces the earlier one. */
function readMembers(text: string, at: number): Map<string, Member> {
  const members = new Map<string, Member>();
  let cursor = skipSpace(text, at + 1);
  while (text.charCodeAt(cursor) === QUOTE) {
    const keyOffset = cursor;
    const keyEnd = stringEnd(text, keyOffset);
    const raw = text.slice(keyOffset, keyEnd);
    const name = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
    const valueOffset = skipSpace(text, skipSpace(text, keyEnd) + 1);
    const items = text.charCodeAt(valueOffset) === OPEN_BRACKET ? [] : undefined;
    const end = skipSpace(text, valueEnd(text, valueOffset, items));
    members.set(name, { keyOffset, valueOffset, ...(items && { items }) });
    if (text.charCodeAt(end) !== COMMA) break;
    cursor = skipSpace(text, end + 1);
  }
  return members;
}

/** The offset just after the value starting at `at`; for an array, `items` receives where its items start. */
function valueEnd(text: string, at: number, items?: number[]): number {
  const first = text.charCodeAt(at);
  if (first === QUOTE) return stringEnd(text, at);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    let end = at;
    while (end < text.length && !isDelimiter(text.charCodeAt(end))) end++;
    return end;
  }
  const found = first === OPEN_BRACKET ? items : undefined;
  if (found) {
    const start = skipSpace(text, at + 1);
    if (text.charCodeAt(start) !== CLOSE_BRACKET) found.push(start);
  }
  let depth = 0;
  for (let end = at; end < text.length; end++) {
    const code = text.charCodeAt(end);
    if (code === QUOTE) end = stringEnd(text, end) - 1;
    else if (code === OPEN_BRACE || code === OPEN_BRACKET) depth++;
    else if ((code === CLOSE_BRACE || code === CLOSE_BRACKET) && --depth === 0) return end + 1;
    else if (code === COMMA && depth === 1 && found) found.push(skipSpace(text, end + 1));
  }
  return text.length;
}

/** The offset just after the closing quote of the string starting at `at`. */
function stringEnd(text: string, at: number): number {
  let end = text.indexOf('"', at + 1);
  while (end !== -1) {
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return end + 1;
    end = text.indexOf('"', end + 1);
  }
  return text.length;
}

function isDelimiter(code: number): boolean {
  return code === COMMA || code === CLOSE_BRACE || code === CLOSE_BRACKET || code <= 0x20;
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && text.charCodeAt(at) <= 0x20) at++;
  return at;
}
