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
 * syntax error in one does not hide the others.
 *
 * A `---` at column 0 always starts a new document, even where a block scalar seems to go on: YAML forbids
 * document markers inside any scalar (YAML 1.2.2, 9.1.2 and the `c-forbidden` production), and every parser
 * ends the scalar there. So cutting at column-0 markers gives exactly the documents a parser would see.
 * A `...` line ends a document; `%` directives and comments before a `---` stay with the document they precede.
 */
export function splitDocuments(stream: string): DocumentText[] {
  const documents: DocumentText[] = [];
  let start = 0;
  let startLine = 1;
  let hasMarker = false;
  const cut = (end: number, nextStart: number): void => {
    const text = stream.slice(start, end);
    documents.push({ text, line: startLine });
    startLine += countLines(stream, start, nextStart);
    start = nextStart;
  };
  for (const match of stream.matchAll(MARKER)) {
    const at = match.index;
    if (match[0] === '---') {
      if (hasMarker || CONTENT.test(stream.slice(start, at))) cut(at, at);
      hasMarker = true;
    } else {
      const lineEnd = stream.indexOf('\n', at);
      const next = lineEnd === -1 ? stream.length : lineEnd + 1;
      cut(next, next);
      hasMarker = false;
    }
  }
  if (start < stream.length) documents.push({ text: stream.slice(start), line: startLine });
  return documents;
}

function countLines(text: string, from: number, to: number): number {
  let lines = 0;
  for (let at = text.indexOf('\n', from); at !== -1 && at < to; at = text.indexOf('\n', at + 1)) lines++;
  return lines;
}
