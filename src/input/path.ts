/** A step of a finding's path: a mapping key or a sequence index. */
export type PathSegment = string | number;

const DOT = 0x2e;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Splits a finding path such as `items[2].spec.containers[1].ports[0].containerPort` into its steps.
 * `["a.b"]` quotes a key that holds dots or brackets (escaped as in JSON). Anything else (a stray bracket,
 * an index that is not a number) is passed over, one character at a time: a path is never refused.
 */
export function parsePath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let at = 0;
  while (at < path.length) {
    const code = path.charCodeAt(at);
    if (code === OPEN) {
      const step = bracketed(path, at);
      if (step) {
        segments.push(step.segment);
        at = step.end;
      } else at++;
    } else if (code === DOT || code === CLOSE) at++;
    else {
      let end = at + 1;
      while (end < path.length && !isDelimiter(path.charCodeAt(end))) end++;
      segments.push(path.slice(at, end));
      at = end;
    }
  }
  return segments;
}

/** `[12]` or `["key"]` at `at`, with the offset just after it; undefined when it is neither. */
function bracketed(path: string, at: number): { segment: PathSegment; end: number } | undefined {
  let end = at + 1;
  if (path.charCodeAt(end) === QUOTE) {
    for (end++; end < path.length; end++) {
      const code = path.charCodeAt(end);
      if (code === BACKSLASH) end++;
      else if (code === QUOTE) break;
    }
    if (end >= path.length || path.charCodeAt(end + 1) !== CLOSE) return undefined;
    return { segment: JSON.parse(path.slice(at + 1, end + 1)) as string, end: end + 2 };
  }
  while (isDigit(path.charCodeAt(end))) end++;
  if (end === at + 1 || path.charCodeAt(end) !== CLOSE) return undefined;
  return { segment: Number(path.slice(at + 1, end)), end: end + 1 };
}

function isDelimiter(code: number): boolean {
  return code === DOT || code === OPEN || code === CLOSE;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}
