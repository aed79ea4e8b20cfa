import { CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE, SPACE, stringEnd } from './json-scan.js';
import type { SourceNode } from './source-node.js';

const NEWLINE = 0x0a;
const TAB = 0x09;

/**
 * The root of a JSON text pretty-printed as JSON.stringify, kubectl (Go's MarshalIndent), jq and Python's
 * json.dumps write it, with lines for positions; undefined for any other layout.
 *
 * In that layout every value starts a line of its own, and a non-empty object or array ends on one too: the
 * line of any field follows from the parsed value alone (each scalar and empty container takes one line, every
 * other container two more than its members). So no structural index of the text is needed, which on a
 * pretty-printed List is most of what locating its findings costs.
 *
 * The layout is checked, once, against the whole text, line by line in step with the value: each line must be
 * the indentation of its depth, then the member's key exactly as the value has it (`": "` after it), then one
 * scalar or an opening or closing bracket, then a comma exactly when more follows. Raw line feeds only occur
 * between tokens in JSON, so a text that passes is that layout token for token, and its keys are those of the
 * value in the same order, none repeated: the lines given are where the fields are written. Anything else
 * (a repeated key, keys that need escapes, a key JavaScript orders differently, CRLF, two values on a line)
 * gives undefined, and the text is read structurally instead (json-nodes.ts).
 */
export function prettyJsonRoot(text: string, value: unknown): SourceNode | undefined {
  // Blank lines before the value, which must start a line.
  let at = 0;
  let line = 1;
  while (text.charCodeAt(at) === NEWLINE) {
    at++;
    line++;
  }
  if (!isContainer(value) || isEmpty(value)) return undefined;
  // The unit of indentation is that of the first member: spaces or tabs.
  const unit = blanksAt(text, text.indexOf('\n', at) + 1);
  if (unit === '') return undefined;
  const layout = new Layout(text, unit, line);
  try {
    const end = layout.value(value, at, 0);
    if (end < 0 || text.slice(end).trim() !== '') return undefined;
  } catch {
    // Deeper than the stack: read structurally.
    return undefined;
  }
  return new LineNode(value, line, layout.itemLines);
}

/**
 * The items of a slice of a List (see json-list.ts), `[` then the items as the List's text has them then `]`,
 * with their lines in the slice's text for positions; undefined when the List is not in the layout. The first
 * item starts on the line of the `[`: the items' indentation is read from the last line, the unit from the
 * first line deeper than the items.
 */
export function prettyJsonSlice(text: string, items: readonly unknown[]): SourceNode | undefined {
  const lastLine = text.lastIndexOf('\n') + 1;
  if (text.charCodeAt(0) !== OPEN_BRACKET || items.length === 0 || lastLine === 0) return undefined;
  const itemIndent = blanksAt(text, lastLine);
  if (itemIndent === '') return undefined;
  let unit = itemIndent;
  for (let at = text.indexOf('\n') + 1; at > 0; at = text.indexOf('\n', at) + 1) {
    const blanks = blanksAt(text, at);
    if (blanks.length > itemIndent.length) {
      unit = blanks.slice(itemIndent.length);
      break;
    }
  }
  const depth = itemIndent.length / unit.length;
  if (!Number.isInteger(depth) || unit.repeat(depth) !== itemIndent || blanksAt(unit, 0) !== unit) return undefined;
  const layout = new Layout(text, unit, 1);
  try {
    if (!layout.items(items, depth)) return undefined;
  } catch {
    return undefined;
  }
  return new LineNode(items, 1, layout.itemLines);
}

/** The spaces, or the tabs, at `at`: one kind of blank only. */
function blanksAt(text: string, at: number): string {
  const blank = text.charCodeAt(at);
  if (blank !== SPACE && blank !== TAB) return '';
  let end = at;
  while (text.charCodeAt(end) === blank) end++;
  return text.slice(at, end);
}

/** Arrays longer than this have the line of each item kept as the layout is checked: a List's items are found without summing those before. */
const INDEXED_LENGTH = 32;

/** The layout check: each method takes the offset where a line's content starts and gives where it ends, or -1. */
class Layout {
  private readonly indents: string[] = [''];
  /** Keys seen to need no escape in JSON: written as themselves between quotes. */
  private readonly plainKeys = new Set<string>();
  /** The line of each item of the arrays longer than INDEXED_LENGTH. */
  readonly itemLines = new Map<readonly unknown[], Int32Array>();

  constructor(
    private readonly text: string,
    private readonly unit: string,
    /** The line being checked. */
    private line: number,
  ) {}

  /** A value starting at `at` on a line of depth `depth`: the offset just after its last token, or -1. */
  value(value: unknown, at: number, depth: number): number {
    const { text } = this;
    if (value === null || typeof value !== 'object') return scalarEnd(text, value, at);
    const array = Array.isArray(value);
    if (text.charCodeAt(at) !== (array ? OPEN_BRACKET : OPEN_BRACE)) return -1;
    const close = array ? CLOSE_BRACKET : CLOSE_BRACE;
    if (text.charCodeAt(at + 1) === close) return isEmpty(value) ? at + 2 : -1;
    if (text.charCodeAt(at + 1) !== NEWLINE) return -1;
    const inner = this.indent(depth + 1);
    let end = -1;
    if (array) {
      const lines = value.length > INDEXED_LENGTH ? new Int32Array(value.length) : undefined;
      if (lines) this.itemLines.set(value, lines);
      for (let i = 0; i < value.length; i++) {
        if (lines) lines[i] = this.line + 1;
        if ((end = this.member(undefined, value[i], end < 0 ? at + 2 : this.nextLine(end), inner, depth + 1)) < 0) return -1;
      }
    } else {
      for (const key in value) if ((end = this.member(key, (value as Record<string, unknown>)[key], end < 0 ? at + 2 : this.nextLine(end), inner, depth + 1)) < 0) return -1;
    }
    // An empty value written over lines is not the layout.
    if (end < 0) return -1;
    // The last member, then the closing bracket on a line of its own.
    if (text.charCodeAt(end) !== NEWLINE) return -1;
    const outer = this.indent(depth);
    if (!startsAt(text, outer, end + 1) || text.charCodeAt(end + 1 + outer.length) !== close) return -1;
    this.line++;
    return end + 2 + outer.length;
  }

  /**
   * `items` written from the `[` at the text's start, the first on its line, each at depth `depth`, and the `]` at
   * the text's end: whether they are, keeping the line of each.
   */
  items(items: readonly unknown[], depth: number): boolean {
    const { text } = this;
    const lines = new Int32Array(items.length);
    const indent = this.indent(depth);
    let end = -1;
    for (let i = 0; i < items.length; i++) {
      let at = 1;
      if (i > 0) {
        at = this.nextLine(end);
        if (at < 0 || !startsAt(text, indent, at)) return false;
        at += indent.length;
        this.line++;
      }
      lines[i] = this.line;
      if ((end = this.value(items[i], at, depth)) < 0) return false;
    }
    this.itemLines.set(items, lines);
    return text.charCodeAt(end) === CLOSE_BRACKET && end + 1 === text.length;
  }

  /** A member (with its key) or an item (without) on the line starting at `at`: where its value ends, or -1. */
  private member(key: string | undefined, value: unknown, at: number, indent: string, depth: number): number {
    if (at < 0 || !startsAt(this.text, indent, at)) return -1;
    this.line++;
    let start = at + indent.length;
    if (key !== undefined && (start = this.key(key, start)) < 0) return -1;
    return this.value(value, start, depth);
  }

  /** Past the comma and line feed after a member that is not the last: the next line's start, or -1. */
  private nextLine(end: number): number {
    return this.text.charCodeAt(end) === COMMA && this.text.charCodeAt(end + 1) === NEWLINE ? end + 2 : -1;
  }

  /** `"key": ` at `at`, written without escapes: the offset of the value after it, or -1. */
  private key(key: string, at: number): number {
    const { text } = this;
    const after = at + key.length + 1;
    if (text.charCodeAt(at) !== QUOTE || !startsAt(text, key, at + 1) || text.charCodeAt(after) !== QUOTE) return -1;
    if (text.charCodeAt(after + 1) !== COLON || text.charCodeAt(after + 2) !== SPACE) return -1;
    if (!this.plainKeys.has(key)) {
      if (!isPlain(key)) return -1;
      this.plainKeys.add(key);
    }
    return after + 3;
  }

  private indent(depth: number): string {
    while (this.indents.length <= depth) this.indents.push(this.indents[this.indents.length - 1]! + this.unit);
    return this.indents[depth]!;
  }
}

/**
 * `text.startsWith(part, at)`, in about half the time on V8 (where startsWith takes about 40 ns a call). When
 * `part` is not at `at`, the search goes on through the text: the layout check stops at the first miss.
 */
function startsAt(text: string, part: string, at: number): boolean {
  return text.indexOf(part, at) === at;
}

/** The offset just after the scalar `value` written at `at`, or -1 when something else is written there. */
function scalarEnd(text: string, value: unknown, at: number): number {
  switch (typeof value) {
    case 'string':
      return text.charCodeAt(at) === QUOTE ? stringEnd(text, at) : -1;
    case 'number': {
      let end = at;
      while (isNumberCharacter(text.charCodeAt(end))) end++;
      return end > at ? end : -1;
    }
    case 'boolean':
      return text.startsWith(value ? 'true' : 'false', at) ? at + (value ? 4 : 5) : -1;
    default:
      return value === null && text.startsWith('null', at) ? at + 4 : -1;
  }
}

/** Digits, signs, the decimal point and exponents: a JSON number's characters. */
function isNumberCharacter(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x2b || code === 0x2e || code === 0x65 || code === 0x45;
}

/** A key JSON writes as itself: no quote, backslash or control character. */
function isPlain(key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code < 0x20 || code === QUOTE || code === 0x5c) return false;
  }
  return true;
}

function isContainer(value: unknown): value is object {
  return value !== null && typeof value === 'object';
}

function isEmpty(value: object): boolean {
  if (Array.isArray(value)) return value.length === 0;
  for (const _ in value) return false;
  return true;
}

/** Lines a value takes in the layout: one for a scalar or an empty container, else its members' and two. */
function linesOf(value: unknown): number {
  if (!isContainer(value)) return 1;
  let lines = 2;
  if (Array.isArray(value)) for (const item of value) lines += linesOf(item);
  else for (const key in value) lines += linesOf((value as Record<string, unknown>)[key]);
  return lines === 2 ? 1 : lines;
}

/**
 * A value of a text in the layout; its `offset` is its 1-based line in the text. Members and items are kept once
 * asked for, but of a long array only the last: findings come object by object, and a List's items are not held
 * twice.
 */
class LineNode implements SourceNode {
  private children: Map<string | number, LineNode> | undefined;
  private last: LineNode | undefined;

  constructor(
    private readonly value: unknown,
    readonly offset: number,
    private readonly itemLines: ReadonlyMap<readonly unknown[], Int32Array>,
  ) {}

  entry(key: string): { keyOffset: number; value: SourceNode } | undefined {
    const { value } = this;
    if (!isContainer(value) || Array.isArray(value) || !Object.hasOwn(value, key)) return undefined;
    const members = value as Record<string, unknown>;
    const children = (this.children ??= new Map());
    let node = children.get(key);
    if (!node) {
      let line = this.offset + 1;
      for (const name in members) {
        if (name === key) break;
        line += linesOf(members[name]);
      }
      node = new LineNode(members[key], line, this.itemLines);
      children.set(key, node);
    }
    return { keyOffset: node.offset, value: node };
  }

  item(index: number): SourceNode | undefined {
    const { value } = this;
    if (!Array.isArray(value) || !Number.isInteger(index) || index < 0 || index >= value.length) return undefined;
    const lines = this.itemLines.get(value);
    if (lines) {
      const line = lines[index]!;
      if (this.last?.offset !== line) this.last = new LineNode(value[index], line, this.itemLines);
      return this.last;
    }
    const children = (this.children ??= new Map());
    let node = children.get(index);
    if (!node) {
      let line = this.offset + 1;
      for (let i = 0; i < index; i++) line += linesOf(value[i]);
      node = new LineNode(value[index], line, this.itemLines);
      children.set(index, node);
    }
    return node;
  }
}
