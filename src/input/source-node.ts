/** A node of a parsed document, with where it sits in the document's text. */
export interface SourceNode {
  /** Offset of the node's first character in the document text. */
  readonly offset: number;
  /** The value stored under `key` of a mapping, with the offset of the key itself. */
  entry(key: string): { keyOffset: number; value: SourceNode } | undefined;
  /** The item at `index` of a sequence. */
  item(index: number): SourceNode | undefined;
}

/**
 * Offsets to 1-based lines. Counts newlines from the last offset asked for, forwards or backwards: the
 * lines asked for in one document are close to each other, so no index of a long text is ever built.
 */
export class LineIndex {
  private offset = 0;
  private line = 1;

  constructor(private readonly text: string) {}

  lineOf(offset: number): number {
    const { text } = this;
    if (offset >= this.offset) {
      for (let at = text.indexOf('\n', this.offset); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) this.line++;
    } else {
      for (let at = text.lastIndexOf('\n', this.offset - 1); at !== -1 && at >= offset; at = at === 0 ? -1 : text.lastIndexOf('\n', at - 1)) this.line--;
    }
    this.offset = offset;
    return this.line;
  }
}
