/** A step of a finding's path: a mapping key or a sequence index. */
export type PathSegment = string | number;

const SEGMENT = /\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|([^.[\]]+)/g;

/**
 * Splits a finding path such as `items[2].spec.containers[1].ports[0].containerPort` into its steps.
 * `["a.b"]` quotes a key that holds dots or brackets.
 */
export function parsePath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  for (const [, index, quoted, key] of path.matchAll(SEGMENT)) {
    if (index !== undefined) segments.push(Number(index));
    else if (quoted !== undefined) segments.push(JSON.parse(`"${quoted}"`) as string);
    else if (key !== undefined) segments.push(key);
  }
  return segments;
}
