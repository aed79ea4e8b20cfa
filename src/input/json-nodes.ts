import type { SourceNode } from './source-node.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/**
 * Positions inside a JSON text that `JSON.parse` has already accepted. Objects and arrays are read lazily
 * and only as far as a path needs, remembering where they stopped: the items of a long `List` are skipped
 * over once, and inside an item only the members before the wanted one are. With repeated keys the first
 * one is found (JSON.parse keeps the last; manifests do not repeat keys in practice).
 */
export function jsonRoot(text: string): SourceNode {
  return new JsonNode(text, skipSpace(text, 0));
}

class JsonNode implements SourceNode {
  private readonly members = new Map<string, { keyOffset: number; value: SourceNode }>();
  private readonly items: SourceNode[] = [];
  /** Where the next member or item starts, or the start of the last one read, not yet skipped over. */
  private cursor: number;
  private skipPending = false;
  private ended = false;

  constructor(
    private readonly text: string,
    readonly offset: number,
  ) {
    this.cursor = skipSpace(text, offset + 1);
  }

  entry(key: string): { keyOffset: number; value: SourceNode } | undefined {
    if (this.text.charCodeAt(this.offset) !== OPEN_BRACE) return undefined;
    const { text } = this;
    while (!this.members.has(key) && this.next() && text.charCodeAt(this.cursor) === QUOTE) {
      const keyOffset = this.cursor;
      const keyEnd = stringEnd(text, keyOffset);
      const raw = text.slice(keyOffset, keyEnd);
      const name = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      this.cursor = skipSpace(text, skipSpace(text, keyEnd) + 1);
      this.skipPending = true;
      if (!this.members.has(name)) this.members.set(name, { keyOffset, value: new JsonNode(text, this.cursor) });
    }
    return this.members.get(key);
  }

  item(index: number): SourceNode | undefined {
    if (this.text.charCodeAt(this.offset) !== OPEN_BRACKET) return undefined;
    while (this.items.length <= index && this.next() && this.text.charCodeAt(this.cursor) !== CLOSE_BRACKET) {
      this.items.push(new JsonNode(this.text, this.cursor));
      this.skipPending = true;
    }
    return this.items[index];
  }

  /** Skips the value read last, if any; false once the container has no more entries. */
  private next(): boolean {
    if (this.skipPending && !this.ended) {
      const at = skipSpace(this.text, valueEnd(this.text, this.cursor));
      this.skipPending = false;
      if (this.text.charCodeAt(at) === COMMA) this.cursor = skipSpace(this.text, at + 1);
      else this.ended = true;
    }
    return !this.ended;
  }
}

/** The offset just after the value starting at `at`. */
function valueEnd(text: string, at: number): number {
  const first = text.charCodeAt(at);
  if (first === QUOTE) return stringEnd(text, at);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    let end = at;
    while (end < text.length && !isDelimiter(text.charCodeAt(end))) end++;
    return end;
  }
  let depth = 0;
  for (let end = at; end < text.length; end++) {
    const code = text.charCodeAt(end);
    if (code === QUOTE) end = stringEnd(text, end) - 1;
    else if (code === OPEN_BRACE || code === OPEN_BRACKET) depth++;
    else if ((code === CLOSE_BRACE || code === CLOSE_BRACKET) && --depth === 0) return end + 1;
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
