import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInputError, parseManifests, readManifests, type ManifestDocument, type ManifestItem } from '../../src/input/manifest.js';
import { collectSources } from '../../src/input/sources.js';
import { DocumentSplitter, splitDocuments } from '../../src/input/split.js';

const STREAM = `\ufeff# Source: shop/templates/a.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: café}
data:
  greeting: "grüß dich — 你好"
---
# Source: shop/templates/b.yaml
apiVersion: v1
kind: Pod
metadata:\r
  name: web\r
spec:
  containers:
    - name: app
      image: nginx:1.27
...
%YAML 1.1
---
kind: Pod
metadata:
  name: [unclosed
---
--- {apiVersion: v1, kind: Service, metadata: {name: svc}}
---
# only a comment
---
just a string
`;

/** The bytes of `text` cut every `size` bytes, through multi-byte characters too. */
async function* inPieces(text: string, size: number): AsyncIterable<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function itemsOf(pieces: AsyncIterable<Uint8Array>, options: { maxTextLength?: number; size?: number } = {}): Promise<ManifestItem[]> {
  const items: ManifestItem[] = [];
  for await (const item of readManifests(pieces, 'stream.yaml', options)) items.push(item);
  return items;
}

describe('readManifests', () => {
  it('yields the same documents and errors, in the same order, whatever the size of the pieces read', async () => {
    const whole = parseManifests(STREAM, 'stream.yaml');
    expect(whole.documents.map((document) => [document.index, document.line, document.value.kind])).toEqual([
      [0, 1, 'ConfigMap'],
      [1, 7, 'Pod'],
      [4, 24, 'Service'],
    ]);
    expect(whole.errors.map((error) => error.line)).toEqual([23, 28]);
    const expected = [...whole.documents, ...whole.errors].map(({ line }) => line).sort((a, b) => (a ?? 0) - (b ?? 0));
    for (const size of [1, 2, 3, 7, 64, 1 << 20]) {
      const items = await itemsOf(inPieces(STREAM, size));
      expect(items.map(({ line }) => line), `pieces of ${size} bytes`).toEqual(expected);
      const documents = items.filter((item): item is ManifestDocument => !isInputError(item));
      expect(documents.map(({ text, value }) => ({ text, value })), `pieces of ${size} bytes`).toEqual(whole.documents.map(({ text, value }) => ({ text, value })));
    }
  });

  it('reads a JSON text whole, in any pieces', async () => {
    const json = `  \n${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ kind: 'Pod', metadata: { name: 'ü' } }] }, null, 2)}`;
    const items = await itemsOf(inPieces(json, 3));
    expect(items).toEqual(parseManifests(json, 'stream.yaml').documents);
    expect(items).toMatchObject([{ format: 'json', line: 1, value: { kind: 'List' } }]);
  });

  it('reports a YAML document longer than a string may be, after the documents before it', async () => {
    const stream = `kind: ConfigMap\nmetadata: {name: small}\n---\nkind: ConfigMap\ndata:\n  big: ${'x'.repeat(5000)}\n`;
    const items = await itemsOf(inPieces(stream, 100), { maxTextLength: 1000 });
    expect(items).toMatchObject([
      { value: { metadata: { name: 'small' } } },
      { source: 'stream.yaml', code: 'PODPATTERNS_ERR_INPUT_READ', message: expect.stringMatching(/^cannot be read: it has a YAML document longer than 0\.0 MiB, and a JavaScript string holds at most 0\.0 MiB \(V8's limit\): split it/) as unknown },
    ]);
  });

  it('refuses a JSON text over the limit without reading past its first piece when its size is known', async () => {
    let pieces = 0;
    async function* counted(): AsyncIterable<Uint8Array> {
      for (let i = 0; i < 100; i++) {
        pieces++;
        yield Buffer.from(i === 0 ? '{"kind": "List", "items": [' : '{}, ');
      }
    }
    const items = await itemsOf(counted(), { maxTextLength: 2 ** 20, size: 3 * 2 ** 20 });
    expect(items).toEqual([{ source: 'stream.yaml', code: 'PODPATTERNS_ERR_INPUT_READ', message: expect.stringContaining('it is 3.0 MiB of JSON, and a JavaScript string holds at most 1.0 MiB') as unknown }]);
    expect(pieces).toBe(1);
  });
});

describe('DocumentSplitter', () => {
  it('cuts a stream fed in pieces exactly as the whole stream', () => {
    const streams = [STREAM, 'a: 1\n---\nb: 2\n...\n---\nc: 3', '--- |\nliteral\n---\nnext\n', '# only\n# comments\n', 'x: 1\r\n---\r\ny: 2\r\n'];
    for (const stream of streams) {
      for (const size of [1, 2, 5, 13]) {
        const splitter = new DocumentSplitter();
        const documents = [];
        for (let at = 0; at < stream.length; at += size) documents.push(...splitter.push(stream.slice(at, at + size)));
        documents.push(...splitter.end());
        expect(documents, `${JSON.stringify(stream)} in pieces of ${size}`).toEqual(splitDocuments(stream));
      }
    }
  });
});

describe('collectSources', () => {
  let root: string;
  const noStdin = (): Promise<string> => Promise.reject(new Error('no standard input here'));

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'podpatterns-walk-'));
    await mkdir(join(root, 'manifests', 'nested'), { recursive: true });
    await writeFile(join(root, 'manifests', 'b.yaml'), 'kind: Pod\n');
    await writeFile(join(root, 'manifests', 'nested', 'a.json'), '{}');
    await writeFile(join(root, 'manifests', 'notes.txt'), 'not a manifest');
    await symlink('..', join(root, 'manifests', 'nested', 'parent'));
    await symlink(join(root, 'nowhere.yaml'), join(root, 'manifests', 'dangling.yaml'));
    execFileSync('mkfifo', [join(root, 'manifests', 'pipe.yaml')]);
    execFileSync('mkfifo', [join(root, 'manifests', 'pipe.txt')]);
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('walks regular files once through symbolic link loops, and reports a pipe and a dangling link without opening them', async () => {
    const { sources, errors } = await collectSources([join(root, 'manifests')], noStdin);
    expect(sources.map((source) => source.name)).toEqual([join(root, 'manifests', 'b.yaml'), join(root, 'manifests', 'nested', 'a.json')]);
    expect(sources.map((source) => source.size)).toEqual([10, 2]);
    expect(errors).toEqual([
      { source: join(root, 'manifests', 'dangling.yaml'), code: 'PODPATTERNS_ERR_INPUT_READ', message: expect.stringMatching(/^cannot be read: ENOENT/) as unknown },
      { source: join(root, 'manifests', 'pipe.yaml'), code: 'PODPATTERNS_ERR_INPUT_READ', message: 'skipped: a named pipe, not a regular file, so it is not read (reading it could wait forever)' },
    ]);
  });

  it('reads a pipe named on the command line, as <(helm template …) gives one', async () => {
    const { sources, errors } = await collectSources([join(root, 'manifests', 'pipe.yaml')], noStdin);
    expect(errors).toEqual([]);
    expect(sources).toMatchObject([{ name: join(root, 'manifests', 'pipe.yaml') }]);
    expect(sources[0]!.size).toBeUndefined();
  });
});
