import { describe, expect, it } from 'vitest';
import { prettyJsonSlice } from '../../src/input/json-lines.js';
import { listSliceLocator, sliceList } from '../../src/input/json-list.js';
import { lineLocator } from '../../src/input/locate.js';
import type { ManifestDocument } from '../../src/input/manifest.js';
import type { KubeObject } from '../../src/model/kube.js';
import { generatedWorkloads } from '../support/workloads.js';

/** The items the slices give, parsed one slice at a time. */
function slicedItems(text: string, length: number): unknown[] | undefined {
  const sliced = sliceList(text, length);
  return sliced && [...sliced.slices()].flatMap((slice) => JSON.parse(slice.text) as unknown[]);
}

const tricky = [
  { kind: 'ConfigMap', metadata: { name: 'brackets' }, data: { a: '}]{["', b: 'a "quoted" \\ backslash\\', c: '\\"' } },
  { kind: 'List', items: [{ kind: 'Pod', metadata: { name: 'nested' } }, []] },
  null,
  42,
  'a string item',
  { kind: 'Pod', metadata: { name: 'unicode — ü 你好' } },
];

describe('sliceList', () => {
  it('cuts the items of a List so that the slices parse to exactly the items of the whole text, whatever the layout', () => {
    const items = [...tricky, ...generatedWorkloads(200)];
    for (const text of [
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } }),
      JSON.stringify({ apiVersion: 'v1', kind: 'PodList', items }, null, 2),
      `\n\t { "kind" : "List" ,\r\n "items" :\n[ ${items.map((item) => JSON.stringify(item)).join(' ,\n  ')} ] , "extra": [1, {"items": 2}] }\n`,
    ]) {
      for (const length of [1, 500, 10_000, 1 << 30]) expect(slicedItems(text, length)).toEqual((JSON.parse(text) as { items: unknown[] }).items);
    }
  });

  it('takes the last items key, as JSON.parse does, escaped or not', () => {
    expect(slicedItems('{"kind":"List","items":[1,2],"item\\u0073":[3]}', 1)).toEqual([3]);
    expect(slicedItems('{"kind":"List","items":[1,2],"items":[3,4]}', 1)).toEqual([3, 4]);
    // The last items is not an array: JSON.parse gives no List, so there is nothing to cut.
    expect(sliceList('{"kind":"List","items":[1,2],"items":{}}', 1)).toBeUndefined();
  });

  it('leaves alone what is not a List or not valid JSON outside the items', () => {
    for (const text of [
      '{"kind":"Pod","items":[1,2]}',
      '{"kind":7,"items":[1,2]}',
      '{"items":[1,2]}',
      '[{"kind":"List","items":[1]}]',
      '{"kind":"List","items":[1,2]} trailing',
      '{"kind":"List","items":[1,2]',
      '{"kind":"List","items":[1,2,]}',
      '{"kind":"List" "items":[1,2]}',
      '{"kind":"List","items":["unclosed]}',
    ]) {
      expect(sliceList(text, 1), text).toBeUndefined();
    }
  });

  it('gives an item that is not valid JSON to the slice that holds it, whose parse then fails', () => {
    const sliced = sliceList('{"kind":"List","items":[{"a":1},{"a":01},{"a":3}]}', 1)!;
    expect([...sliced.slices()].map((slice) => slice.text)).toEqual(['[{"a":1}]', '[{"a":01}]', '[{"a":3}]']);
  });

  it('gives every path of every item the line the locator of the whole text gives, pretty, on one line or between', () => {
    const items = [...tricky, ...generatedWorkloads(60)];
    const list = { apiVersion: 'v1', kind: 'List', metadata: { name: 'x' }, items };
    for (const text of [
      JSON.stringify(list, null, 2),
      JSON.stringify(list),
      `\n\n${JSON.stringify(list)}\n`,
      // The items on one line, the List around them on lines of their own.
      `{\n  "kind": "List",\n  "items": ${JSON.stringify(items)}\n}\n`,
    ]) {
      expectSameLines(text, items.length);
    }
  });

  it('reads the lines of the slices of a pretty-printed List from their items, in any indentation', () => {
    const items = [...tricky, ...generatedWorkloads(60)];
    for (const indent of [2, 4, '\t']) {
      const text = `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, indent)}\n`;
      for (const slice of sliceList(text, 3000)!.slices()) expect(prettyJsonSlice(slice.text, JSON.parse(slice.text) as unknown[]), slice.text.slice(0, 80)).toBeDefined();
      expectSameLines(text, items.length);
    }
    // A slice whose items are not in the layout is read structurally.
    const joined = JSON.stringify({ kind: 'List', items }, null, 2).replace('"kind": "ConfigMap",\n', '"kind": "ConfigMap", ');
    expect([...sliceList(joined, 3000)!.slices()].some((slice) => prettyJsonSlice(slice.text, JSON.parse(slice.text) as unknown[]) === undefined)).toBe(true);
    expectSameLines(joined, items.length);
  });
});

/** Every path of every item of the List `text` (of `items` items) gets the same line from its slice as from the whole text. */
function expectSameLines(text: string, items: number): void {
  const whole = lineLocator({ source: 'list.json', index: 0, line: 1, format: 'json', text, value: JSON.parse(text) as KubeObject } satisfies ManifestDocument);
  const sliced = sliceList(text, 3000)!;
  expect(sliced.count).toBeGreaterThan(5);
  let checked = 0;
  for (const slice of sliced.slices()) {
    const lineOf = listSliceLocator(slice, sliced, JSON.parse(slice.text) as unknown[]);
    const count = (JSON.parse(slice.text) as unknown[]).length;
    for (let index = slice.first; index < slice.first + count; index++) {
      for (const path of [`items[${index}]`, `items[${index}].metadata.name`, `items[${index}].spec.template.spec.containers[1].ports[0]`, `items[${index}].missing.field`, `items[${index}].items[0].metadata`]) {
        expect(lineOf(path), path).toBe(whole(path));
        checked++;
      }
    }
  }
  // Paths that enter no item (no object of a List has one): the List's first line and its items key.
  const first = [...sliced.slices()][0]!;
  for (const path of ['', 'items']) expect(listSliceLocator(first, sliced, JSON.parse(first.text) as unknown[])(path), path).toBe(whole(path));
  expect(checked).toBe(items * 5);
}
