/**
 * Bounds on what one request may ask the engine to evaluate. Rules run on the event loop and some compare
 * entries pairwise (every port with every other), so one absurd object (the API server accepts 3 MiB bodies:
 * room for ~100k ports) would stall every other admission for seconds or minutes. Real pods stay far below
 * these numbers; an object above them is admitted unchecked, with a warning, like any evaluation failure.
 */
export const MAX_CONTAINERS = 128;
export const MAX_ARRAY_ENTRIES = 4096;

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** Why the object is too large to evaluate, or undefined. Iterative, so any nesting depth is fine. */
export function overBudget(object: unknown): string | undefined {
  let entries = 0;
  // Two parallel stacks rather than one of {value, key} pairs: this runs on every request.
  const values: unknown[] = [object];
  const keys: string[] = [''];
  while (values.length > 0) {
    const value = values.pop();
    const key = keys.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      if (value.length > MAX_CONTAINERS && CONTAINER_LISTS.has(key)) {
        return `a ${key} list has ${value.length} entries; podpatterns checks pods with at most ${MAX_CONTAINERS}`;
      }
      entries += value.length;
      if (entries > MAX_ARRAY_ENTRIES) return `the object has more than ${MAX_ARRAY_ENTRIES} list entries in all; podpatterns checks objects up to that size`;
      for (const item of value) {
        if (typeof item === 'object' && item !== null) {
          values.push(item);
          keys.push('');
        }
      }
    } else {
      for (const childKey in value) {
        const child = (value as Record<string, unknown>)[childKey];
        if (typeof child === 'object' && child !== null) {
          values.push(child);
          keys.push(childKey);
        }
      }
    }
  }
  return undefined;
}
