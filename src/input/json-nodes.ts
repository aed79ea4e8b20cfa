import { CLOSE_BRACE, CLOSE_BRACKET, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE, SPACE, skipSpace, stringEnd } from './json-scan.js';
import type { SourceNode } from './source-node.js';


/**
 * Positions inside a JSON text that `JSON.parse` has already accepted. The text is read once, on the first
 * lookup, for its braces, brackets and commas outside strings, each opening one paired with its closing one
 * (a structural index, as simdjson's first stage builds). A path then goes from member to member and item to
 * item by jumping over values, never reading them again: a finding costs the members and items along its
 * path, whatever the size of the document or its layout, and nothing is built for values no path enters.
 * A repeated key means its last value, as in `JSON.parse`.
 */
export function jsonRoot(text: string): SourceNode {
  const structure = new Structure(text);
  const offset = skipSpace(text, 0);
  return new JsonNode(structure, offset, isContainer(text.charCodeAt(offset)) ? 0 : -1);
}

/** The braces, brackets and commas of a JSON text outside strings, in order. */
class Structure {
  /** Offset of each structural character. */
  readonly offsets: Int32Array;
  /** For an opening brace or bracket, the index of its closing one; unused for the others. */
  readonly partners: Int32Array;

  constructor(readonly text: string) {
    let offsets = new Int32Array(1024);
    let partners = new Int32Array(1024);
    const open: number[] = [];
    let count = 0;
    for (let at = 0; at < text.length; at++) {
      const code = text.charCodeAt(at);
      // Blanks first: they are most of a pretty-printed text.
      if (code === SPACE) continue;
      if (code === QUOTE) {
        at = closedStringEnd(text, at) - 1;
        continue;
      }
      if (code !== COMMA && !isContainer(code) && code !== CLOSE_BRACE && code !== CLOSE_BRACKET) continue;
      if (count === offsets.length) {
        offsets = grown(offsets);
        partners = grown(partners);
      }
      offsets[count] = at;
      if (isContainer(code)) open.push(count);
      else if (code !== COMMA) partners[open.pop() ?? 0] = count;
      count++;
    }
    // JSON.parse accepted the text: every opening brace and bracket has its closing one.
    this.offsets = offsets;
    this.partners = partners;
  }

  /** The index just after the value at `offset`, whose structural index is `index` when it is a container. */
  after(index: number, offset: number): number {
    return isContainer(this.text.charCodeAt(offset)) ? this.partners[index + 1]! + 1 : index + 1;
  }
}

interface Member {
  keyOffset: number;
  /** Index of the structural character before the member: the object's `{` or a `,`. */
  before: number;
  valueOffset: number;
  node?: JsonNode;
}

/** A value; an object's members, or an array's items, are listed the first time a path goes through it. */
class JsonNode implements SourceNode {
  private members: Map<string, Member> | undefined;
  /** For an array: the structural index before each item. */
  private items: number[] | undefined;
  private readonly itemNodes: JsonNode[] = [];

  constructor(
    private readonly structure: Structure,
    readonly offset: number,
    /** Index of the value's `{` or `[` in the structure; -1 for a scalar. */
    private readonly index: number,
  ) {}

  entry(key: string): { keyOffset: number; value: SourceNode } | undefined {
    const { text } = this.structure;
    if (this.index < 0 || text.charCodeAt(this.offset) !== OPEN_BRACE) return undefined;
    const member = (this.members ??= this.readMembers()).get(key);
    if (!member) return undefined;
    member.node ??= new JsonNode(this.structure, member.valueOffset, isContainer(text.charCodeAt(member.valueOffset)) ? member.before + 1 : -1);
    return { keyOffset: member.keyOffset, value: member.node };
  }

  item(index: number): SourceNode | undefined {
    const { structure } = this;
    const { text } = structure;
    if (this.index < 0 || text.charCodeAt(this.offset) !== OPEN_BRACKET) return undefined;
    const items = (this.items ??= this.readItems());
    const before = items[index];
    if (before === undefined) return undefined;
    const offset = skipSpace(text, structure.offsets[before]! + 1);
    return (this.itemNodes[index] ??= new JsonNode(structure, offset, isContainer(text.charCodeAt(offset)) ? before + 1 : -1));
  }

  /** Every member of the object; a later repeat of a key replaces the earlier one. */
  private readMembers(): Map<string, Member> {
    const { structure } = this;
    const { text, offsets } = structure;
    const members = new Map<string, Member>();
    const end = structure.partners[this.index]!;
    let before = this.index;
    while (before < end) {
      const keyOffset = skipSpace(text, offsets[before]! + 1);
      if (text.charCodeAt(keyOffset) !== QUOTE) break;
      const keyEnd = closedStringEnd(text, keyOffset);
      const raw = text.slice(keyOffset + 1, keyEnd - 1);
      const name = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
      // Past the key, blanks and the colon.
      const valueOffset = skipSpace(text, skipSpace(text, keyEnd) + 1);
      members.set(name, { keyOffset, before, valueOffset });
      before = structure.after(before, valueOffset);
    }
    return members;
  }

  private readItems(): number[] {
    const { structure } = this;
    const { text, offsets } = structure;
    const items: number[] = [];
    const end = structure.partners[this.index]!;
    let before = this.index;
    while (before < end) {
      const offset = skipSpace(text, offsets[before]! + 1);
      if (before === this.index && text.charCodeAt(offset) === CLOSE_BRACKET) break;
      items.push(before);
      before = structure.after(before, offset);
    }
    return items;
  }
}

function grown(array: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const larger = new Int32Array(array.length * 2);
  larger.set(array);
  return larger;
}

function isContainer(code: number): boolean {
  return code === OPEN_BRACE || code === OPEN_BRACKET;
}

/** The offset just after the closing quote of the string starting at `at` (the text was accepted by JSON.parse). */
function closedStringEnd(text: string, at: number): number {
  const end = stringEnd(text, at);
  return end === -1 ? text.length : end;
}
