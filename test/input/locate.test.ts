import fc from 'fast-check';
import { dump } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { lineLocator, offsetOf } from '../../src/input/locate.js';
import { lenientYamlRoot } from '../../src/input/lenient-yaml.js';
import { parseManifests, type ManifestDocument } from '../../src/input/manifest.js';
import { parsePath } from '../../src/input/path.js';
import { LineIndex } from '../../src/input/source-node.js';
import { realWorldCorpus } from '../support/corpus.js';

/** The documents of a stream, and a way to ask for the line of a path in one of them. */
function documentsOf(text: string): { documents: ManifestDocument[]; lineOf: (document: number, path: string) => number } {
  const { documents, errors } = parseManifests(text, 'test.yaml');
  expect(errors).toEqual([]);
  return { documents, lineOf: (index, path) => lineLocator(documents[index]!)(path) };
}

/** The path of every value in `value`, itself included, as findings write them. */
function pathsOf(value: unknown, path: string): string[] {
  const step = (key: string): string => (/[.[\]"]/.test(key) ? `[${JSON.stringify(key)}]` : key);
  if (Array.isArray(value)) return [path, ...value.flatMap((item, i) => pathsOf(item, `${path}[${i}]`))];
  if (value === null || typeof value !== 'object') return [path];
  return [path, ...Object.entries(value).flatMap(([key, item]) => pathsOf(item, path === '' ? step(key) : `${path}.${step(key)}`))];
}

/** The 1-based line of the first line of `text` that contains `needle` (after line `after`). */
function lineWith(text: string, needle: string, after = 0): number {
  const index = text.split('\n').findIndex((line, i) => i >= after && line.includes(needle));
  expect(index, needle).toBeGreaterThanOrEqual(0);
  return index + 1;
}

const deployment = (name: string, secondPort: number): string => `# Source: shop/templates/${name}.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  template:
    spec:
      containers:
        - name: app
          image: shop/${name}:1.0
          ports:
            - containerPort: 8080
        - name: proxy
          image: envoyproxy/envoy:v1.30.1
          ports:
            - name: admin
              containerPort: 9901
            - containerPort: ${secondPort}
`;

describe('lineLocator', () => {
  const stream = `---\n${deployment('cart', 8081)}---\n${deployment('catalog', 8082)}---\n${deployment('checkout', 8443)}`;

  it('points a path in the third document at the line of its field in the file', () => {
    const { lineOf } = documentsOf(stream);
    const third = lineWith(stream, 'name: checkout');
    expect(lineOf(2, 'spec.template.spec.containers[1].ports[1].containerPort')).toBe(lineWith(stream, 'containerPort: 8443', third));
    expect(lineOf(2, 'spec.template.spec.containers[1]')).toBe(lineWith(stream, '- name: proxy', third));
    expect(lineOf(2, 'spec.template.spec.containers[1].ports[0].name')).toBe(lineWith(stream, 'name: admin', third));
    expect(lineOf(0, 'spec.template.spec.containers[1].ports[1].containerPort')).toBe(lineWith(stream, 'containerPort: 8081'));
  });

  it('points a path to an absent field at its nearest present parent, where the fix goes', () => {
    const { lineOf } = documentsOf(stream);
    const second = lineWith(stream, 'name: catalog');
    expect(lineOf(1, 'spec.template.spec.containers[1].resources.requests.cpu')).toBe(lineWith(stream, '- name: proxy', second));
    expect(lineOf(1, 'spec.template.spec.initContainers[0]')).toBe(lineWith(stream, '    spec:', second));
    expect(lineOf(1, '')).toBe(second - 3);
  });

  it('finds the items of a YAML List', () => {
    const list = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: one}
    spec:
      containers: [{name: app, image: "nginx:1.27"}]
  - apiVersion: v1
    kind: Pod
    metadata:
      name: two
    spec:
      containers:
        - name: app
          image: nginx
`;
    const { lineOf } = documentsOf(list);
    expect(lineOf(0, 'items[1]')).toBe(lineWith(list, 'apiVersion: v1', 5));
    expect(lineOf(0, 'items[1].spec.containers[0].image')).toBe(lineWith(list, 'image: nginx', 10));
    expect(lineOf(0, 'items[0].spec.containers[0].image')).toBe(lineWith(list, 'containers: [{name: app'));
  });

  it('follows anchors, aliases and merge keys to where the value is written', () => {
    const yaml = `apiVersion: v1
kind: Pod
metadata:
  name: anchored
spec:
  containers:
    - &base
      name: app
      image: nginx:1.27
      resources:
        limits: {memory: 1Gi}
    - <<: *base
      name: copy
`;
    const { lineOf } = documentsOf(yaml);
    expect(lineOf(0, 'spec.containers[1].name')).toBe(lineWith(yaml, 'name: copy'));
    expect(lineOf(0, 'spec.containers[1].resources.limits.memory')).toBe(lineWith(yaml, 'limits: {memory: 1Gi}'));
  });

  it('reads YAML as its value is built: last of repeated keys, latest anchor, merge lists, merge loops', () => {
    const yaml = (specKey: string): string => `kind: Pod
metadata:
  name: first
  name: second
  labels: &labels {app: web}
  annotations: &labels {team: shop}
spec:
  ${specKey}
  base: &base
    image: nginx
  extra: &extra
    command: [run]
  containers:
    - <<: [*base, *extra]
      name: app
    - selector: *labels
    - &loop
      <<: *loop
      name: loop
`;
    // js-yaml refuses a key that is not a scalar: the lenient reader (the yaml package) reads that document.
    for (const [text, reader] of [
      [yaml('replicas: 1'), 'js-yaml'],
      [yaml('? [complex, key]\n  : ignored'), 'lenient'],
    ] as const) {
      const { documents, lineOf } = documentsOf(text);
      expect(documents[0]!.events !== undefined, reader).toBe(reader === 'js-yaml');
      expect(lineOf(0, 'metadata.name'), reader).toBe(4);
      expect(lineOf(0, 'spec.containers[0].image'), reader).toBe(lineWith(text, 'image: nginx'));
      expect(lineOf(0, 'spec.containers[0].command'), reader).toBe(lineWith(text, 'command: [run]'));
      // An alias is the anchor's latest definition before it: the annotations, not the labels.
      expect(lineOf(0, 'spec.containers[1].selector.team'), reader).toBe(lineWith(text, 'annotations: &labels'));
      // A mapping merged into itself: the search ends at the mapping, rather than never.
      expect(lineOf(0, 'spec.containers[2].missing'), reader).toBe(lineWith(text, '<<: *loop'));
      expect(lineOf(0, 'spec.containers[2].name'), reader).toBe(lineWith(text, 'name: loop'));
    }
  });

  it('finds every item of a long YAML sequence on its line, reading the text a bounded number of times', () => {
    const items = Array.from({ length: 2000 }, (_, i) => `  - kind: Pod\n    metadata:\n      name: pod-${i}\n`).join('');
    const yaml = `apiVersion: v1\nkind: List\nitems:\n${items}`;
    const lineOf = lineLocator(documentsOf(yaml).documents[0]!);
    const lines: number[] = [];
    const scanned = charactersScannedBy(() => {
      for (let i = 0; i < 2000; i++) lines.push(lineOf(`items[${i}].metadata.name`));
    });
    expect(lines.filter((line, i) => line !== 4 + i * 3 + 2)).toEqual([]);
    expect(scanned).toBeLessThan(4 * yaml.length);
  });

  it.runIf(realWorldCorpus.available)('gives every field of every real-world manifest the line the yaml package gives it', () => {
    let compared = 0;
    const wrong: string[] = [];
    for (const file of readdirSync(realWorldCorpus.dir).filter((name) => /\.ya?ml$/.test(name))) {
      for (const document of parseManifests(realWorldCorpus.read(file), file).documents) {
        if (!document.events) continue;
        const ours = lineLocator(document);
        const theirs = lenientYamlRoot(document.text)!;
        const lines = new LineIndex(document.text);
        for (const path of pathsOf(document.value, '')) {
          const offset = offsetOf(theirs, path);
          // The yaml package places a block scalar (| or >) at its indicator, js-yaml at its first line.
          const expected = document.line + lines.lineOf(offset) - 1 + ('|>'.includes(document.text[offset]!) ? 1 : 0);
          if (ours(path) !== expected) wrong.push(`${file}:${document.line} ${path}: ${ours(path)}, yaml package ${expected}`);
          compared++;
        }
      }
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(compared).toBeGreaterThan(50_000);
  });

  it('gives every field of any YAML, in any style js-yaml writes, the line the yaml package gives it', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9./-]{0,8}$/);
    const scalar = fc.oneof(fc.string({ maxLength: 12 }), fc.stringMatching(/^[a-z ]{0,8}\n[a-z \n]{0,12}$/), fc.integer(), fc.boolean(), fc.constant(null));
    const { node } = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(key, tie('node'), { maxKeys: 3 })),
    }));
    const styles = fc.record({ flowLevel: fc.integer({ min: -1, max: 3 }), indent: fc.integer({ min: 1, max: 4 }), noArrayIndent: fc.boolean(), lineWidth: fc.constantFrom(20, 80, -1) });
    fc.assert(
      fc.property(fc.dictionary(key, node, { minKeys: 1, maxKeys: 4 }), styles, (value, style) => {
        const text = `kind: Thing\n${dump(value, { ...style, noRefs: true })}`;
        const { documents } = parseManifests(text, 'generated.yaml');
        fc.pre(documents.length === 1 && documents[0]!.events !== undefined);
        const document = documents[0]!;
        const ours = lineLocator(document);
        const theirs = lenientYamlRoot(text)!;
        const lines = new LineIndex(text);
        for (const path of pathsOf(document.value, '')) {
          const offset = offsetOf(theirs, path);
          // The yaml package places a block scalar (| or >) at its indicator, js-yaml at its first line.
          expect(ours(path), `${path} in\n${text}`).toBe(lines.lineOf(offset) + ('|>'.includes(text[offset]!) ? 1 : 0));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('finds quoted keys and keys that contain dots', () => {
    const yaml = `apiVersion: v1
kind: Pod
metadata:
  name: annotated
  annotations:
    "podpatterns.io/ignore": port-conflict
    'kubectl.kubernetes.io/default-container': app
`;
    const { lineOf } = documentsOf(yaml);
    expect(lineOf(0, 'metadata.annotations.podpatterns.io/ignore')).toBe(6);
    expect(lineOf(0, 'metadata.annotations["kubectl.kubernetes.io/default-container"]')).toBe(7);
  });

  it('finds fields of JSON documents, pretty-printed or on one line', () => {
    const items = ['a', 'b', 'c'].map((name) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'app', image: `shop/${name}:1`, ports: [{ containerPort: 80 }] }] } }));
    const pretty = JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2);
    const { lineOf } = documentsOf(pretty);
    const third = lineWith(pretty, '"name": "c"');
    expect(lineOf(0, 'items[2].spec.containers[0].ports[0].containerPort')).toBe(lineWith(pretty, '"containerPort": 80', third));
    expect(lineOf(0, 'items[2].spec.containers[0].image')).toBe(lineWith(pretty, '"image": "shop/c:1"'));
    expect(lineOf(0, 'items[1]')).toBe(lineWith(pretty, '"name": "b"') - 4);

    const compact = `{"apiVersion":"v1","kind":"Pod",\n"metadata":{"name":"x\\"y"},\n"spec":{"containers":[{"name":"a"},{"name":"b","image":"nginx"}]}}`;
    const { lineOf: compactLine } = documentsOf(compact);
    expect(compactLine(0, 'spec.containers[1].image')).toBe(3);
    expect(compactLine(0, 'metadata.name')).toBe(2);
    expect(compactLine(0, 'spec.containers[5].image')).toBe(3);
  });

  it('points a repeated JSON key at its last occurrence, the value JSON.parse keeps', () => {
    const json = `{"apiVersion": "v1", "kind": "Pod",
"spec": {"containers": [{"name": "old", "image": "nginx"}]},
"metadata": {"name": "twice"},
"spec": {"containers": [{"name": "app", "image": "nginx:1.27"},
  {"name": "proxy", "image": "envoy"}]}}`;
    const { documents, lineOf } = documentsOf(json);
    expect(documents[0]!.value.spec).toEqual({ containers: [{ name: 'app', image: 'nginx:1.27' }, { name: 'proxy', image: 'envoy' }] });
    expect(lineOf(0, 'spec.containers[1].image')).toBe(5);
    expect(lineOf(0, 'spec.containers[0]')).toBe(4);
    expect(lineOf(0, 'metadata.name')).toBe(3);

    // Written on one line after blank ones: every path is on that line.
    const { lineOf: oneLine } = documentsOf('\n\n{"kind": "Pod", "metadata": {"name": "web"}, "spec": {"containers": [{"name": "app"}]}}\n');
    expect([oneLine(0, 'spec.containers[0].name'), oneLine(0, 'metadata'), oneLine(0, '')]).toEqual([3, 3, 3]);

    const list = `{"kind": "List", "items": [{"kind": "Pod",\n"spec": {"containers": []},\n"spec": {"containers": [{"name": "app"}]}}]}`;
    const { documents: listDocuments, lineOf: listLine } = documentsOf(list);
    expect((listDocuments[0]!.value.items as Array<{ spec: unknown }>)[0]!.spec).toEqual({ containers: [{ name: 'app' }] });
    expect(listLine(0, 'items[0].spec.containers[0].name')).toBe(3);
  });

  it('reads a JSON List a bounded number of times, however many findings it has, on one line or pretty-printed', () => {
    const items = Array.from({ length: 400 }, (_, i) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}` }, spec: { containers: [{ name: 'app', image: 'nginx' }] } }));
    for (const indent of [undefined, 2]) {
      const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, indent);
      const lineOf = lineLocator(documentsOf(text).documents[0]!);
      const lines: number[] = [];
      const scanned = charactersScannedBy(() => {
        for (let i = 0; i < items.length; i++) lines.push(lineOf(`items[${i}].spec.containers[0].image`), lineOf(`items[${i}].metadata.name`));
      });
      if (indent === undefined) expect(new Set(lines)).toEqual(new Set([1]));
      else expect(lines.slice(0, 2)).toEqual([text.slice(0, text.indexOf('"image"')).split('\n').length, text.slice(0, text.indexOf('"name": "pod-0"')).split('\n').length]);
      // Finding the structure of the text, then newlines: a few passes, never one per finding. On one line, a
      // search for a newline is all it takes: every path is on line 1.
      expect(scanned).toBeLessThan((indent === undefined ? 1.1 : 4) * text.length);
    }
  });

  it('finds JSON keys written with escapes, and paths through empty and nested containers', () => {
    const json = '{"kind": "Pod",\n"metadata": {"annotations": {},\n"labels": {"a\\u002eb": "x"}},\n"spec": {"volumes": [],\n"containers": [[], {"name": "\\"q\\""},\n{"name": "app"}]}}';
    const { lineOf } = documentsOf(json);
    expect(lineOf(0, 'metadata.labels["a.b"]')).toBe(3);
    expect(lineOf(0, 'spec.containers[2].name')).toBe(6);
    expect(lineOf(0, 'spec.containers[1].name')).toBe(5);
    expect(lineOf(0, 'spec.volumes[0]')).toBe(4);
    expect(lineOf(0, 'metadata.annotations.x')).toBe(2);
  });

  it('finds fields in documents only the lenient reader accepts', () => {
    const yaml = `apiVersion: v1
kind: Pod
metadata:
  name: spire
spec:
  containers:
    - name: csi
      args: [
          "-socket", "/run/csi.sock",
      ]
      image: ghcr.io/spiffe/spiffe-csi-driver:0.2.0
`;
    const { lineOf } = documentsOf(yaml);
    expect(lineOf(0, 'spec.containers[0].image')).toBe(11);
    expect(lineOf(0, 'spec.containers[0].args[1]')).toBe(9);
  });
});

describe('parsePath', () => {
  it('splits dotted paths with indexes and quoted keys', () => {
    expect(parsePath('items[2].spec.containers[10].ports[0].containerPort')).toEqual(['items', 2, 'spec', 'containers', 10, 'ports', 0, 'containerPort']);
    expect(parsePath('metadata.annotations["a.b/c"].x')).toEqual(['metadata', 'annotations', 'a.b/c', 'x']);
    expect(parsePath('')).toEqual([]);
  });

  it('reads any text as the pattern of its grammar does, stray brackets and escapes included', () => {
    // The grammar as one regular expression: a step is an index, a quoted key or a bare key; anything else is passed over.
    const grammar = /\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|([^.[\]]+)/g;
    const byGrammar = (path: string): Array<string | number> =>
      [...path.matchAll(grammar)].map(([, index, quoted, key]) => (index !== undefined ? Number(index) : quoted !== undefined ? (JSON.parse(`"${quoted}"`) as string) : key!));
    const piece = fc.constantFrom('.', '[', ']', '"', '\\', '\\"', '[0]', '[12]', '["a.b"]', '["q\\"x"]', 'spec', 'items', 'a-b/c', '7', '', 'ü');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const path = pieces.join('');
        let expected: Array<string | number> | Error;
        try {
          expected = byGrammar(path);
        } catch (error) {
          expected = error as Error;
        }
        if (expected instanceof Error) expect(() => parsePath(path)).toThrow();
        else expect(parsePath(path)).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });
});

/**
 * Characters that String.prototype.indexOf, lastIndexOf and charCodeAt looked at while `run` ran: the locators
 * read texts with them, so a locator that rescans the text per lookup shows here.
 */
function charactersScannedBy(run: () => void): number {
  const { indexOf, lastIndexOf, charCodeAt } = String.prototype;
  let scanned = 0;
  String.prototype.charCodeAt = function (this: string, at: number) {
    scanned++;
    return charCodeAt.call(this, at);
  };
  String.prototype.indexOf = function (this: string, search: string, from?: number) {
    const start = Math.max(0, from ?? 0);
    const at = indexOf.call(this, search, from);
    scanned += (at === -1 ? this.length : at) - start;
    return at;
  };
  String.prototype.lastIndexOf = function (this: string, search: string, from?: number) {
    const start = Math.min(this.length, from ?? this.length);
    const at = lastIndexOf.call(this, search, from);
    scanned += start - (at === -1 ? 0 : at);
    return at;
  };
  try {
    run();
  } finally {
    String.prototype.indexOf = indexOf;
    String.prototype.lastIndexOf = lastIndexOf;
    String.prototype.charCodeAt = charCodeAt;
  }
  return scanned;
}

describe('LineIndex', () => {
  it('finds the lines of a text without newlines without searching it again for each offset', () => {
    const text = 'x'.repeat(100_000);
    const index = new LineIndex(text);
    const lines = new Set<number>();
    const scanned = charactersScannedBy(() => {
      for (let offset = 0; offset < text.length; offset += 100) lines.add(index.lineOf(offset));
    });
    expect(lines).toEqual(new Set([1]));
    expect(scanned).toBeLessThanOrEqual(text.length);
  });

  it('gives the line of any offset, asked in any order', () => {
    const text = 'a\n\nbc\nd\n\n\nefg\n';
    const naive = (offset: number): number => text.slice(0, offset).split('\n').length;
    const index = new LineIndex(text);
    const offsets = [5, 0, text.length, 3, 2, 1, 9, 7, 8, 4, 12, 10, 6, 11, 0];
    expect(offsets.map((offset) => index.lineOf(offset))).toEqual(offsets.map(naive));
  });
});
