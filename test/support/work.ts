/**
 * Counts the work a synchronous call asks of JavaScript's built-in scanners, so a test can tell linear from
 * quadratic code without a clock: characters a regular expression advanced over (every `test`, `match`,
 * `matchAll`, `replace` and `split` goes through `RegExp.prototype.exec`), characters of the strings that are
 * lowercased, trimmed, split, joined or searched, and elements of the arrays that are mapped, filtered,
 * searched, sliced or sorted. Plain loops are not counted; what rules and model helpers do is mostly these
 * calls, and a quadratic pattern (a scan per element, a search per match) shows up as quadratic work.
 *
 * The prototypes are patched only for the duration of `run`, which must not await.
 */
export function measureWork(run: () => void): number {
  let work = 0;
  const restore: Array<() => void> = [];
  const patch = <T extends object>(prototype: T, name: keyof T & string, cost: (self: never, args: unknown[], result: unknown, before: number) => number): void => {
    const original = prototype[name] as (...args: unknown[]) => unknown;
    const patched = function (this: never, ...args: unknown[]): unknown {
      const before = this && typeof (this as { lastIndex?: unknown }).lastIndex === 'number' ? (this as unknown as RegExp).lastIndex : 0;
      const result = original.apply(this, args);
      work += cost(this, args, result, before);
      return result;
    };
    Object.defineProperty(prototype, name, { value: patched, configurable: true, writable: true });
    restore.push(() => Object.defineProperty(prototype, name, { value: original, configurable: true, writable: true }));
  };
  patch(RegExp.prototype, 'exec', (regex: RegExp, [input], result, before) => {
    const text = String(input);
    const start = regex.global || regex.sticky ? before : 0;
    const match = result as RegExpExecArray | null;
    if (match) return match.index + match[0].length - start + 1;
    // A sticky expression only tries its own position; any other failing one has looked at the rest of the input.
    return regex.sticky ? 1 : text.length - start + 1;
  });
  const stringLength = (self: string): number => String(self).length + 1;
  for (const name of ['toLowerCase', 'toUpperCase', 'trim', 'trimStart', 'trimEnd', 'split', 'includes', 'indexOf', 'lastIndexOf', 'replaceAll'] as const) {
    patch(String.prototype, name, stringLength);
  }
  const arrayLength = (self: unknown[]): number => self.length + 1;
  for (const name of ['map', 'filter', 'flatMap', 'forEach', 'some', 'every', 'find', 'findIndex', 'includes', 'indexOf', 'reduce', 'join', 'sort'] as const) {
    patch(Array.prototype, name, arrayLength);
  }
  patch(Array.prototype, 'slice', (self: unknown[], args) => {
    const [start = 0, end = self.length] = args as [number?, number?];
    const from = start < 0 ? Math.max(self.length + start, 0) : Math.min(start, self.length);
    const to = end < 0 ? Math.max(self.length + end, 0) : Math.min(end, self.length);
    return Math.max(to - from, 0) + 1;
  });
  try {
    run();
  } finally {
    for (const undo of restore.reverse()) undo();
  }
  return work;
}
