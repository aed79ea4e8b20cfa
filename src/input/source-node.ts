/** A node of a parsed document, with where it sits in the document's text. */
export interface SourceNode {
  /** Offset of the node's first character in the document text. */
  readonly offset: number;
  /** The value stored under `key` of a mapping, with the offset of the key itself. */
  entry(key: string): { keyOffset: number; value: SourceNode } | undefined;
  /** The item at `index` of a sequence. */
  item(index: number): SourceNode | undefined;
}

/** Merge keys (`<<`) followed through other merge keys, at most: deeper is a loop (`&a {<<: *a}`), not a document. */
export const MAX_MERGE_DEPTH = 32;

/**
 * Offsets to 1-based lines. Newlines are found once, only as far as the furthest offset asked for, and a line
 * is then a binary search: O(log n) per lookup whatever the layout, even a List written on one line.
 */
export class LineIndex {
  /**
   * Offsets of the newlines found so far, in order (`count` of them): 4 bytes each, a pretty List has millions.
   * It starts small enough for V8 to keep it on its heap, as cheap as any object: most documents are short.
   */
  private newlines = new Int32Array(16);
  private count = 0;
  /** Everything before this offset has been searched for newlines. */
  private searched = 0;

  constructor(private readonly text: string) {}

  lineOf(offset: number): number {
    const { text } = this;
    while (this.searched <= offset && this.searched < text.length) {
      const at = text.indexOf('\n', this.searched);
      if (at === -1) {
        this.searched = text.length;
        break;
      }
      if (this.count === this.newlines.length) {
        const grown = new Int32Array(this.count * 2);
        grown.set(this.newlines);
        this.newlines = grown;
      }
      this.newlines[this.count++] = at;
      this.searched = at + 1;
    }
    const { newlines } = this;
    let low = 0;
    let high = this.count;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (newlines[middle]! < offset) low = middle + 1;
      else high = middle;
    }
    return low + 1;
  }
}
