import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../src/input/manifest.js';
import { resolvePlainScalar } from '../../src/input/schema.js';

const pod = (name: string): string => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n    - name: app\n      image: nginx:1.27\n`;

describe('parseManifests', () => {
  it('reads every document of a multi-document stream with its index and first line', () => {
    const { documents, errors } = parseManifests(`${pod('a')}---\n${pod('b')}---\n${pod('c')}`, 'pods.yaml');
    expect(errors).toEqual([]);
    expect(documents.map((document) => [document.value.metadata?.name, document.index, document.line])).toEqual([
      ['a', 0, 1],
      ['b', 1, 9],
      ['c', 2, 18],
    ]);
    expect(documents.every((document) => document.source === 'pods.yaml' && document.format === 'yaml')).toBe(true);
  });

  it('skips empty and comment-only documents, as helm template prints them', () => {
    const stream = `---\n# Source: web/templates/empty.yaml\n---\n# Source: web/templates/pod.yaml\n${pod('web')}---\n---\n`;
    const { documents, errors } = parseManifests(stream, 'rendered.yaml');
    expect(errors).toEqual([]);
    expect(documents.map((document) => document.value.metadata?.name)).toEqual(['web']);
  });

  it('reports a broken document with its line and keeps the documents around it', () => {
    const broken = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\n   labels: {}\n';
    const { documents, errors } = parseManifests(`${pod('first')}---\n${broken}---\n${pod('last')}`, 'mixed.yaml');
    expect(documents.map((document) => document.value.metadata?.name)).toEqual(['first', 'last']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ source: 'mixed.yaml', line: 14, code: 'PODPATTERNS_ERR_INPUT_SYNTAX' });
    expect(errors[0]!.message).toContain('document 2');
  });

  it('reports a document that is not a mapping at its first line', () => {
    const { documents, errors } = parseManifests(`${pod('ok')}---\n# a list by mistake\n- name: x\n---\njust text\n`, 'odd.yaml');
    expect(documents).toHaveLength(1);
    expect(errors.map((error) => [error.line, error.message])).toEqual([
      [11, 'document 2 is a list, not a Kubernetes object (a mapping with apiVersion and kind)'],
      [13, 'document 3 is the string "just text", not a Kubernetes object (a mapping with apiVersion and kind)'],
    ]);
  });

  it('reads a JSON object and a JSON List as one document starting on line 1', () => {
    const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }] }, null, 2);
    const { documents, errors } = parseManifests(`\n${list}`, 'list.json');
    expect(errors).toEqual([]);
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({ format: 'json', line: 1, index: 0, value: { kind: 'List' } });
  });

  it('reads JSON documents separated by --- and reports broken JSON with its line', () => {
    const stream = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}\n---\n{"apiVersion": "v1",\n "kind": "Pod" "metadata": {}}\n';
    const { documents, errors } = parseManifests(stream, 'objects.json');
    expect(documents.map((document) => document.value.metadata?.name)).toEqual(['a']);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.line).toBe(4);
  });

  it('drops a byte order mark and reads CRLF line endings', () => {
    const { documents, errors } = parseManifests(`\uFEFF${pod('bom').replaceAll('\n', '\r\n')}---\r\n${pod('crlf').replaceAll('\n', '\r\n')}`, 'windows.yaml');
    expect(errors).toEqual([]);
    expect(documents.map((document) => [document.value.metadata?.name, document.line])).toEqual([
      ['bom', 1],
      ['crlf', 9],
    ]);
  });

  it('reads scalars as kubectl does: YAML 1.1 booleans and octals, timestamps as strings', () => {
    const yaml = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'spec:',
      '  yes: yes',
      '  on: On',
      '  off: off',
      '  quoted: "on"',
      '  octal: 0755',
      '  goOctal: 0o17',
      '  hex: 0x1F',
      '  notOctal: 09',
      '  exponent: 1e3',
      '  underscores: 1_000',
      '  date: 2024-01-01',
      '  clock: 190:20:30',
      '  tilde: ~',
      '  version: 1.20',
      '  merged:',
      '    <<: {inherited: 1, overridden: 1}',
      '    overridden: 2',
    ].join('\n');
    const [document] = parseManifests(yaml, 'scalars.yaml').documents;
    expect(document!.value.spec).toEqual({
      // Keys are resolved too and then turned into strings, as sigs.k8s.io/yaml does: `yes:` and `on:` are both "true".
      true: true,
      false: false,
      quoted: 'on',
      octal: 493,
      goOctal: 15,
      hex: 31,
      notOctal: 9,
      exponent: 1000,
      underscores: 1000,
      date: '2024-01-01',
      clock: '190:20:30',
      tilde: null,
      version: 1.2,
      merged: { inherited: 1, overridden: 2 },
    });
  });

  it('keeps the last of repeated keys, as kubectl does', () => {
    const [document] = parseManifests('apiVersion: v1\nkind: Pod\nmetadata:\n  name: first\n  name: second\n', 'dup.yaml').documents;
    expect(document!.value.metadata?.name).toBe('second');
  });

  it('accepts a flow sequence closed at the indentation of its key, as go-yaml does (Istio ships one)', () => {
    const yaml = [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      '  name: spire',
      'spec:',
      '  containers:',
      '    - name: csi',
      '      args: [',
      '          "-workload-api-socket-dir", "/spire-agent-socket",',
      '      ]',
      '      ports:',
      '        - containerPort: 0x50',
      '      securityContext: {privileged: yes}',
    ].join('\n');
    const { documents, errors } = parseManifests(yaml, 'spire.yaml');
    expect(errors).toEqual([]);
    expect(documents[0]!.value.spec).toEqual({
      containers: [{ name: 'csi', args: ['-workload-api-socket-dir', '/spire-agent-socket'], ports: [{ containerPort: 80 }], securityContext: { privileged: true } }],
    });
  });
});

describe('resolvePlainScalar', () => {
  it('resolves unquoted scalars the way go-yaml v2 does', () => {
    const cases: Array<[string, unknown]> = [
      ['', null], ['~', null], ['Null', null], ['y', true], ['NO', false], ['True', true],
      ['0', 0], ['-0x10', -16], ['0b101', 5], ['0755', 493], ['0128', 128], ['+12', 12],
      ['.5', 0.5], ['-1.5e2', -150], ['.inf', Infinity], ['-.INF', -Infinity],
      ['1.2.3', '1.2.3'], ['0x', '0x'], ['NaN', 'NaN'], ['yes please', 'yes please'], ['12:30', '12:30'],
    ];
    for (const [source, value] of cases) expect(resolvePlainScalar(source), source).toEqual(value);
    expect(resolvePlainScalar('.nan')).toBeNaN();
  });
});
