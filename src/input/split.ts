/** One YAML document of a stream, as text, with where it starts in the stream. */
export interface DocumentText {
  text: string;
  /** 1-based line of the stream on which `text` starts. */
  line: number;
}

/** `---` or `...` at column 0 followed by a blank or the end of the line. */
const MARKER = /^(?:---|\.\.\.)(?=[ \t\r\n]|$)/gm;
/** A line that is neither blank, a comment nor a directive. */
const CONTENT = /^[ \t]*[^\s#%]/m;

/**
 * Cuts a YAML stream into its documents without parsing them, so each document is parsed on its own and a
 * syntax error in one does not hide the others. The stream may come in pieces of any size: documents are
 * handed out as soon as the marker after them is seen, so only one document is held at a time.
 *
 * A `---` at column 0 always starts a new document, even where a block scalar seems to go on: YAML forbids
 * document markers inside any scalar (YAML 1.2.2, 9.1.2 and the `c-forbidden` production), and every parser
 * ends the scalar there. So cutting at column-0 markers gives exactly the documents a parser would see.
 * A `...` line ends a document; `%` directives and comments before a `---` stay with the document they precede.
 */
export class DocumentSplitter {
  /** The text of the document being read, up to the last complete line seen. */
  private document = '';
  /** A line not ended yet: markers are only looked for in complete lines. */
  private partial = '';
  private line = 1;
  private hasMarker = false;
  private hasContent = false;

  /** The documents that `piece` completes. */
  push(piece: string): DocumentText[] {
    const text = this.partial + piece;
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline === -1) {
      this.partial = text;
      return [];
    }
    this.partial = text.slice(lastNewline + 1);
    return this.lines(text.slice(0, lastNewline + 1));
  }

  /** The last document, once the stream has ended. */
  end(): DocumentText[] {
    const documents = this.partial === '' ? [] : this.lines(this.partial);
    this.partial = '';
    if (this.document !== '') documents.push(this.cut());
    return documents;
  }

  /** Length of the text held: the document being read and the line not ended yet. */
  get held(): number {
    return this.document.length + this.partial.length;
  }

  /** Complete lines (or the stream's last line). */
  private lines(text: string): DocumentText[] {
    const documents: DocumentText[] = [];
    let start = 0;
    for (const match of text.matchAll(MARKER)) {
      const at = match.index;
      if (match[0] === '---') {
        this.take(text.slice(start, at));
        start = at;
        if (this.hasMarker || this.hasContent) documents.push(this.cut());
        this.hasMarker = true;
      } else {
        const lineEnd = text.indexOf('\n', at);
        const next = lineEnd === -1 ? text.length : lineEnd + 1;
        this.take(text.slice(start, next));
        start = next;
        documents.push(this.cut());
      }
    }
    this.take(text.slice(start));
    return documents;
  }

  private take(text: string): void {
    if (text === '') return;
    if (!this.hasContent && CONTENT.test(text)) this.hasContent = true;
    this.document += text;
  }

  private cut(): DocumentText {
    const document = { text: this.document, line: this.line };
    this.line += countNewlines(this.document);
    this.document = '';
    this.hasMarker = false;
    this.hasContent = false;
    return document;
  }
}

/** The documents of a whole stream (see DocumentSplitter). */
export function splitDocuments(stream: string): DocumentText[] {
  const splitter = new DocumentSplitter();
  return [...splitter.push(stream), ...splitter.end()];
}

function countNewlines(text: string): number {
  let lines = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) lines++;
  return lines;
}
