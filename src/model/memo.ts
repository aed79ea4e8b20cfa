/** Keys longer than this are computed each time: remembered results stay small whatever the input holds. */
export const MEMO_KEY_LIMIT = 256;

const NOTHING: unique symbol = Symbol('nothing');

/**
 * Remembers the results of a pure function of a string, up to `limit` of them (then starts afresh). Fleets reuse
 * a handful of images, quantities and container names: an object of any size then costs a map lookup per value
 * instead of a parse. Results are shared between callers, so they must not be changed.
 */
export function memoized<T>(compute: (key: string) => T, limit = 10_000): (key: string) => T {
  // An undefined result is kept as NOTHING, so one lookup tells a remembered result from none.
  const results = new Map<string, T | typeof NOTHING>();
  return (key) => {
    if (key.length > MEMO_KEY_LIMIT) return compute(key);
    const known = results.get(key);
    if (known !== undefined) return known === NOTHING ? (undefined as T) : known;
    if (results.size >= limit) results.clear();
    const result = compute(key);
    results.set(key, result === undefined ? NOTHING : result);
    return result;
  };
}
