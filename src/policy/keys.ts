/** Helpers shared by the policy parsers: key paths for messages, value descriptions, typo suggestions. */

/** A path of keys into the policy file; numbers index lists (`exemptions.list[2].rules`). */
export type KeyPath = readonly (string | number)[];

/** Throws the policy error for a key: the message names the file, the line and the key. */
export type Fail = (keyPath: KeyPath, problem: string) => never;

/** The line of a key in the policy file, 0 when unknown. */
export type LineOf = (keyPath: KeyPath) => number;

/** `rules.port-conflict.severity`, `exemptions.list[0].rules[1]`. */
export function formatKeyPath(keyPath: KeyPath): string {
  return keyPath.map((key, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? key : `.${key}`)).join('');
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** " (did you mean 'x'?)" when a known name is within two edits. */
export function suggest(name: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best ? ` (did you mean '${best}'?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
