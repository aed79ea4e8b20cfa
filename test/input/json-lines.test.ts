import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { prettyJsonRoot } from '../../src/input/json-lines.js';
import { jsonRoot } from '../../src/input/json-nodes.js';
import { lineLocator, offsetOf } from '../../src/input/locate.js';
import { parseManifests, type ManifestDocument } from '../../src/input/manifest.js';
import { LineIndex } from '../../src/input/source-node.js';
import type { KubeObject } from '../../src/model/kube.js';
import { realWorldCorpus } from '../support/corpus.js';

function documentOf(text: string): ManifestDocument {
  return { source: 'test.json', index: 0, line: 1, format: 'json', text, value: JSON.parse(text) as KubeObject };
}

/** Lines from the structural index of the text: what lineLocator gave before pretty-printed texts were read by their value. */
function structuralLine(text: string): (path: string) => number {
  const root = jsonRoot(text);
  const lines = new LineIndex(text);
  return (path) => lines.lineOf(offsetOf(root, path));
}

/** Every path of `value` as findings write them, and paths into fields and items that are not there. */
function pathsOf(value: unknown, path: string): string[] {
  const step = (key: string): string => (/[.[\]"]/.test(key) ? `[${JSON.stringify(key)}]` : key);
  const missing = [`${path}.absent`, `${path}[7]`];
  if (Array.isArray(value)) return [path, ...missing, ...value.flatMap((item, i) => pathsOf(item, `${path}[${i}]`))];
  if (value === null || typeof value !== 'object') return [path, ...missing];
  return [path, ...missing, ...Object.entries(value).flatMap(([key, item]) => pathsOf(item, path === '' ? step(key) : `${path}.${step(key)}`))];
}

const key = fc.oneof(
  fc.constantFrom('name', 'spec', 'a.b', 'podpatterns.io/ignore', '', '0', '10', '__proto__', 'x"y', 'back\\slash', 'ünïcode', 'tab\there'),
  fc.string({ maxLength: 6 }),
);
const scalar = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.constantFrom('"quoted"', 'back\\slash\\', 'line\nfeed', '{[,]}', ''),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const { node } = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(key, tie('node'), { maxKeys: 4 })),
}));
const document = fc.dictionary(key, node, { minKeys: 1, maxKeys: 5 });
/** Keys JSON writes as themselves and JavaScript keeps in the order written: texts the layout check accepts. */
const plainKey = fc.stringMatching(/^[a-z][a-z0-9./-]{0,6}$/);
const { plainNode } = fc.letrec((tie) => ({
  plainNode: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('plainNode'), { maxLength: 4 }), fc.dictionary(plainKey, tie('plainNode'), { maxKeys: 4 })),
}));

describe('prettyJsonRoot', () => {
  it('reads the lines of JSON.stringify, kubectl (4 spaces), tab and one-space layouts from the value alone', () => {
    const value = { apiVersion: 'v1', kind: 'List', items: [{ kind: 'Pod', metadata: { name: 'a', labels: {} }, spec: { containers: [{ name: 'app', ports: [] }] } }] };
    for (const indent of [2, 4, '\t', 1]) {
      const text = `${JSON.stringify(value, null, indent)}\n`;
      const root = prettyJsonRoot(text, JSON.parse(text));
      expect(root, `indent ${JSON.stringify(indent)}`).toBeDefined();
      expect(offsetOf(root!, 'items[0].spec.containers[0].name')).toBe(text.split('\n').findIndex((line) => line.includes('"name": "app"')) + 1);
    }
  });

  it('refuses every text not in that layout, so that it is read structurally', () => {
    const refused = {
      'two members on a line': '{\n  "a": 1, "b": 2\n}',
      'a repeated key': '{\n  "b": 2,\n  "b": 0,\n  "a": 1\n}',
      'a repeated key hidden where the indentation goes': '{\n    "x": {\n        "b": 2,\n"b": 0, "a": 1\n    }\n}',
      'a space before the colon': '{\n  "a" :"x"\n}',
      'a key written with an escape': '{\n  "n\\u0061me": "x"\n}',
      'keys JavaScript orders otherwise': '{\n  "b": 1,\n  "1": 2\n}',
      'CRLF line ends': '{\r\n  "a": 1\r\n}',
      'no space after the colon': '{\n  "a":1\n}',
      'an empty object over two lines': '{\n  "a": {\n  }\n}',
      'a closing bracket at the end of a line': '{\n  "a": [\n    1]\n}',
      'the value on the next line': '{\n  "a":\n    1\n}',
      'written on one line': '{"a": {"b": 1}}',
      'indented root': '  {\n    "a": 1\n  }',
      'mixed indentation': '{\n  "a": {\n\t\t"b": 1\n  }\n}',
    };
    for (const [what, text] of Object.entries(refused)) expect(prettyJsonRoot(text, JSON.parse(text)), what).toBeUndefined();
  });

  it('puts a repeated key at its last occurrence, however the text hides the first', () => {
    // The value JSON.parse keeps for "b" is 0, written on line 4 where the indentation of "a" should be: every
    // line but that one is in the layout. The check refuses the text, and the structural index finds the line.
    const text = '{\n    "x": {\n        "b": 2,\n"b": 0, "a": 1\n    }\n}';
    const lineOf = lineLocator(documentOf(text));
    expect(JSON.parse(text)).toEqual({ x: { b: 0, a: 1 } });
    expect([lineOf('x.b'), lineOf('x.a'), lineOf('x')]).toEqual([4, 4, 2]);
  });

  it('gives every path of any value, pretty-printed in any indentation, the line the structural index gives', () => {
    fc.assert(
      fc.property(document, fc.constantFrom(1, 2, 4, '\t'), fc.nat(), (value, indent, edit) => {
        const pretty = JSON.stringify(value, null, indent);
        // The text as written, and the same with two of its lines joined: no longer the layout.
        const breaks = [...pretty.matchAll(/,\n\s*/g)];
        const joined = breaks.length === 0 ? pretty : pretty.slice(0, breaks[edit % breaks.length]!.index + 1) + ' ' + pretty.slice(breaks[edit % breaks.length]!.index + breaks[edit % breaks.length]![0].length);
        for (const text of [pretty, `\n\n${pretty}\n`, joined]) {
          const ours = lineLocator(documentOf(text));
          const reference = structuralLine(text);
          for (const path of pathsOf(JSON.parse(text), '')) expect(ours(path), `${path} in\n${text}`).toBe(reference(path));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('gives the items of arrays long enough to have their lines kept the lines the structural index gives', () => {
    fc.assert(
      fc.property(fc.array(plainNode, { minLength: 33, maxLength: 40 }), fc.constantFrom(2, '\t'), (items, indent) => {
        const text = JSON.stringify({ kind: 'List', items: [items, ...items] }, null, indent);
        expect(prettyJsonRoot(text, JSON.parse(text))).toBeDefined();
        const ours = lineLocator(documentOf(text));
        const reference = structuralLine(text);
        for (const path of pathsOf(JSON.parse(text), '')) expect(ours(path), path).toBe(reference(path));
      }),
      { numRuns: 20 },
    );
  });

  it('takes the lines of a 5,000-item List written as kubectl writes it from its value', () => {
    const items = Array.from({ length: 5000 }, (_, i) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}`, labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx', ports: [{ containerPort: 80 }] }] } }));
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 4);
    expect(prettyJsonRoot(text, JSON.parse(text))).toBeDefined();
    const lineOf = lineLocator(documentOf(text));
    const reference = structuralLine(text);
    for (const i of [0, 1, 2500, 4999]) {
      for (const path of [`items[${i}].spec.containers[0].ports[0].containerPort`, `items[${i}].metadata.labels.app`, `items[${i}]`]) expect(lineOf(path)).toBe(reference(path));
    }
  });

  it.runIf(realWorldCorpus.available)('gives every field of every real-world manifest, as kubectl -o json would print it, the line the structural index gives', () => {
    let compared = 0;
    let pretty = 0;
    const wrong: string[] = [];
    for (const file of readdirSync(realWorldCorpus.dir).filter((name) => /\.ya?ml$/.test(name))) {
      for (const { value } of parseManifests(realWorldCorpus.read(file), file).documents) {
        const text = `${JSON.stringify(value, null, 4)}\n`;
        if (prettyJsonRoot(text, JSON.parse(text))) pretty++;
        const ours = lineLocator(documentOf(text));
        const reference = structuralLine(text);
        for (const path of pathsOf(value, '')) {
          if (ours(path) !== reference(path)) wrong.push(`${file} ${path}: ${ours(path)}, structural ${reference(path)}`);
          compared++;
        }
      }
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(compared).toBeGreaterThan(100_000);
    // Printed this way every document of the corpus is in the layout today (1,030 of 1,030); one with an
    // integer-like key (a ConfigMap's "0") would be read structurally.
    expect(pretty).toBeGreaterThan(1000);
  });
});
