import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { splitDocuments } from '../../src/input/split.js';

const texts = (stream: string): string[] => splitDocuments(stream).map((document) => document.text);
const lines = (stream: string): number[] => splitDocuments(stream).map((document) => document.line);

describe('splitDocuments', () => {
  it('cuts a stream at every column-0 --- and keeps the line each document starts on', () => {
    const stream = 'a: 1\n---\nb: 2\nc: 3\n---\nd: 4\n';
    expect(texts(stream)).toEqual(['a: 1\n', '---\nb: 2\nc: 3\n', '---\nd: 4\n']);
    expect(lines(stream)).toEqual([1, 2, 5]);
  });

  it('keeps comments and directives before a --- with the document that follows', () => {
    expect(texts('# Source: chart/a.yaml\n---\na: 1\n')).toEqual(['# Source: chart/a.yaml\n---\na: 1\n']);
    expect(texts('a: 1\n...\n%YAML 1.1\n---\nb: 2\n')).toEqual(['a: 1\n...\n', '%YAML 1.1\n---\nb: 2\n']);
  });

  it('starts Helm output (--- then # Source:) with its first document, not an empty one', () => {
    const stream = '---\n# Source: web/templates/svc.yaml\nkind: Service\n---\n# Source: web/templates/deploy.yaml\nkind: Deployment\n';
    expect(texts(stream)).toEqual(['---\n# Source: web/templates/svc.yaml\nkind: Service\n', '---\n# Source: web/templates/deploy.yaml\nkind: Deployment\n']);
    expect(lines(stream)).toEqual([1, 4]);
  });

  it('keeps content written on the marker line and empty documents between two markers', () => {
    expect(texts('--- {a: 1}\n---\n--- # comment\nb: 2\n')).toEqual(['--- {a: 1}\n', '---\n', '--- # comment\nb: 2\n']);
  });

  it('ends a document at ... and starts the next one after it', () => {
    const stream = 'a: 1\n...\nb: 2\n...\n---\nc: 3\n';
    expect(texts(stream)).toEqual(['a: 1\n...\n', 'b: 2\n...\n', '---\nc: 3\n']);
    expect(lines(stream)).toEqual([1, 3, 5]);
  });

  it('does not cut at --- that is indented, quoted or followed by other characters', () => {
    const stream = 'script: |\n  echo one\n  ---\n  echo two\nmarker: "---"\nrule: ---x\n----\n';
    expect(texts(stream)).toEqual([stream]);
  });

  it('cuts where a YAML parser sees a new document, even after a block scalar', () => {
    const streams = ['config: |\n  line one\n---\n  line two\n', '--- |\nliteral\n---\nnext\n', 'a: 1\r\n---\r\nb: 2\r\n'];
    for (const stream of streams) {
      expect(texts(stream).flatMap((text) => loadAll(text))).toEqual(loadAll(stream));
    }
  });

  it('returns no document for an empty stream', () => {
    expect(splitDocuments('')).toEqual([]);
  });
});
