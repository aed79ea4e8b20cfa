import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/engine/types.js';
import type { ResourceRef } from '../../src/model/pod.js';
import { policyReport, renderPolicyReports, REPORT_APIS, type AuditedObject } from '../../src/report/policyreport.js';

const TIMESTAMP = new Date('2026-03-01T10:20:30.456Z');
const OPENREPORTS_CRDS = join(import.meta.dirname, '..', 'e2e', 'cluster-audit', 'openreports-crds.yaml');

const web: ResourceRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' };

function finding(rule: string, severity: Finding['severity'], resource: ResourceRef = web): Finding {
  return { rule, severity, resource, container: 'proxy', path: 'spec.template.spec.containers[1]', message: `${rule} breaks.`, fix: `Fix ${rule}.`, problem: 'breaks' };
}

function object(resource: ResourceRef, findings: Finding[] = [], extra: Partial<AuditedObject> = {}): AuditedObject {
  return { resource, uid: `uid-${resource.name}`, findings, errors: [], exempted: [], ...extra };
}

function pod(name: string): ResourceRef {
  return { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name };
}

describe.each(REPORT_APIS)('the report of a namespace (%s)', (api) => {
  const options = { api, timestamp: TIMESTAMP, enabledRules: 17 };

  it('maps deny to a scored fail of high severity, with the container, path, fix and podpatterns severity as properties', () => {
    const report = policyReport('shop', [object(web, [finding('port-conflict', 'deny')])], options);
    expect(report.results).toEqual([
      {
        source: 'podpatterns',
        policy: 'podpatterns',
        rule: 'port-conflict',
        result: 'fail',
        severity: 'high',
        scored: true,
        message: 'proxy: port-conflict breaks.',
        category: 'Multi-Container Pods',
        resources: [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web', uid: 'uid-web' }],
        timestamp: { seconds: 1772360430, nanos: 0 },
        properties: { container: 'proxy', path: 'spec.template.spec.containers[1]', fix: 'Fix port-conflict.', podpatternsSeverity: 'deny' },
      },
    ]);
  });

  it.each([
    ['warn', 'warn', 'medium'],
    ['audit', 'warn', 'low'],
  ] as const)('maps %s to an unscored %s of %s severity', (severity, result, reportSeverity) => {
    const [reported] = policyReport('shop', [object(web, [finding('too-many-sidecars', severity)])], options).results;
    expect(reported).toMatchObject({ result, severity: reportSeverity, scored: false, properties: { podpatternsSeverity: severity } });
  });

  it('counts a clean audited object as one pass, without a rule', () => {
    const report = policyReport('shop', [object(pod('clean'))], options);
    expect(report.results).toEqual([expect.objectContaining({ result: 'pass', scored: true, message: 'no finding from the 17 enabled podpatterns rules', resources: [expect.objectContaining({ name: 'clean' })] })]);
    expect(report.results[0]).not.toHaveProperty('rule');
    expect(report.summary).toEqual({ pass: 1, fail: 0, warn: 0, error: 0, skip: 0 });
  });

  it('reports a rule that threw as an error, and the object as no pass', () => {
    const report = policyReport('shop', [object(web, [], { errors: [{ rule: 'port-conflict', resource: web, message: 'boom' }] })], options);
    expect(report.results).toEqual([expect.objectContaining({ rule: 'port-conflict', result: 'error', message: 'rule port-conflict failed: boom' })]);
    expect(report.summary).toEqual({ pass: 0, fail: 0, warn: 0, error: 1, skip: 0 });
  });

  it('reports exempted findings as skip, naming the exemption and its reason', () => {
    const exempted = [
      { ...finding('unpinned-image', 'warn'), exemption: { source: 'annotation' as const, reason: 'pinned by digest in CI' } },
      { ...finding('port-conflict', 'deny'), exemption: { source: 'policy' as const, reason: 'ticket OPS-1234', entry: 'shop/Deployment/web (policy line 4)', expires: '2027-03-31' } },
    ];
    const report = policyReport('shop', [object(web, [], { exempted })], options);
    expect(report.results.map((result) => [result.result, result.rule, result.message])).toEqual([
      ['skip', 'unpinned-image', 'exempted by the podpatterns.io/ignore annotation (pinned by digest in CI): proxy: unpinned-image breaks.'],
      ['skip', 'port-conflict', 'exempted by the policy exemption shop/Deployment/web (policy line 4) (ticket OPS-1234): proxy: port-conflict breaks.'],
      ['pass', undefined, 'no finding from the 17 enabled podpatterns rules'],
    ]);
    expect(report.results[1]!.properties).toMatchObject({ exemptionSource: 'policy', exemptionReason: 'ticket OPS-1234', exemptionExpires: '2027-03-31' });
  });

  it('lists fail first, then error, warn, skip and pass, and counts each in the summary', () => {
    const report = policyReport(
      'shop',
      [
        object(pod('a')),
        object(pod('b'), [finding('unpinned-image', 'warn', pod('b'))]),
        object(web, [finding('port-conflict', 'deny'), finding('sidecar-missing-resources', 'audit')]),
      ],
      options,
    );
    expect(report.results.map((result) => `${result.result} ${result.resources[0]!.name}`)).toEqual(['fail web', 'warn b', 'warn web', 'pass a']);
    expect(report.summary).toEqual({ pass: 1, fail: 1, warn: 2, error: 0, skip: 0 });
    expect(report.metadata).toEqual({ name: 'podpatterns', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'podpatterns' } });
  });

  it('keeps at most maxResults results, the worst first, ending with a note on what it left out', () => {
    const objects = [object(web, [finding('port-conflict', 'deny'), finding('privileged-sidecar', 'warn')]), ...['a', 'b', 'c', 'd'].map((name) => object(pod(name)))];
    const report = policyReport('shop', objects, { ...options, maxResults: 3 });
    expect(report.results.map((result) => result.result)).toEqual(['fail', 'warn', 'skip']);
    expect(report.results[2]).toMatchObject({
      policy: 'podpatterns',
      resources: [],
      properties: { note: 'results omitted', omitted: '4', omittedByResult: '4 pass' },
      message: expect.stringContaining('4 more results (4 pass) are not listed'),
    });
    expect(report.summary).toEqual({ pass: 4, fail: 1, warn: 1, error: 0, skip: 0 });
    expect(report.metadata.annotations).toEqual({ 'podpatterns.io/omitted-results': '4' });
  });

  it('keeps the results under maxBytes however many maxResults allows', () => {
    const many = Array.from({ length: 50 }, (_, index) => object(pod(`p${index}`), [finding('unpinned-image', 'warn', pod(`p${index}`))]));
    const report = policyReport('shop', many, { ...options, maxBytes: 4000 });
    const listed = report.results.slice(0, -1);
    expect(JSON.stringify(listed).length).toBeLessThanOrEqual(4000);
    expect(listed.length).toBeGreaterThan(0);
    expect(report.results.at(-1)!.properties).toMatchObject({ omitted: String(50 - listed.length) });
  });

  it('adds no note when everything fits', () => {
    const report = policyReport('shop', [object(pod('a')), object(pod('b'))], { ...options, maxResults: 2 });
    expect(report.results.map((result) => result.result)).toEqual(['pass', 'pass']);
    expect(report.metadata.annotations).toBeUndefined();
  });

  it('renders reports as a plain YAML stream that parses back to the same objects', () => {
    const reports = ['shop', 'batch'].map((namespace) => policyReport(namespace, [object({ ...web, namespace }, [finding('port-conflict', 'deny', { ...web, namespace }), finding('privileged-sidecar', 'warn', { ...web, namespace })])], options));
    const yaml = renderPolicyReports(reports);
    expect(yaml).not.toMatch(/[&*]a\d/);
    const parsed = parseAllDocuments(yaml).map((document) => document.toJS() as unknown);
    expect(parsed).toEqual(JSON.parse(JSON.stringify(reports)));
  });
});

describe('the two report APIs', () => {
  const objects = [object(web, [finding('port-conflict', 'deny')]), object(pod('clean'))];
  const reportOf = (api: (typeof REPORT_APIS)[number]) => policyReport('shop', objects, { api, timestamp: TIMESTAMP, enabledRules: 17, maxResults: 500 });

  it('writes an OpenReports Report by default, naming its source and its result cap', () => {
    const report = policyReport('shop', objects, { timestamp: TIMESTAMP, enabledRules: 17, maxResults: 500 });
    expect(Object.keys(report)).toEqual(['apiVersion', 'kind', 'metadata', 'source', 'configuration', 'summary', 'results']);
    expect(report).toMatchObject({ apiVersion: 'openreports.io/v1alpha1', kind: 'Report', source: 'podpatterns', configuration: { limits: { maxResults: 500 } } });
    expect(reportOf('openreports')).toEqual(report);
  });

  it('writes a wg-policy PolicyReport with --report-api wgpolicy, without the fields that API lacks', () => {
    const report = reportOf('wgpolicy');
    expect(Object.keys(report)).toEqual(['apiVersion', 'kind', 'metadata', 'summary', 'results']);
    expect(report).toMatchObject({ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport' });
  });

  it('carries the same metadata, summary and results in both', () => {
    const { metadata, summary, results } = reportOf('openreports');
    expect(reportOf('wgpolicy')).toMatchObject({ metadata, summary, results });
  });

  describe('against the published OpenReports CRD', () => {
    const crds = parseAllDocuments(readFileSync(OPENREPORTS_CRDS, 'utf8')).map((document) => document.toJS() as Crd);
    const reports = crds.find((crd) => crd.metadata.name === 'reports.openreports.io')!;
    const schema = reports.spec.versions.find((version) => version.name === 'v1alpha1')!.schema.openAPIV3Schema;
    const full = policyReport(
      'shop',
      [
        object(web, [finding('port-conflict', 'deny'), finding('too-many-sidecars', 'warn'), finding('sidecar-missing-resources', 'audit')]),
        object(pod('broken'), [], { errors: [{ rule: 'port-conflict', resource: pod('broken'), message: 'boom' }] }),
        object(pod('exempt'), [], { exempted: [{ ...finding('unpinned-image', 'warn', pod('exempt')), exemption: { source: 'annotation', reason: 'pinned in CI' } }] }),
        ...['a', 'b', 'c'].map((name) => object(pod(name))),
      ],
      { api: 'openreports', timestamp: TIMESTAMP, enabledRules: 17, maxResults: 8 },
    );

    it('is namespaced, served as reports in openreports.io/v1alpha1', () => {
      expect(reports.spec).toMatchObject({ group: 'openreports.io', scope: 'Namespaced', names: { kind: 'Report', plural: 'reports' } });
    });

    it('passes its schema: types, enums and required fields, every kind of result and the omission note included', () => {
      expect(new Set(full.results.map((result) => result.result))).toEqual(new Set(['fail', 'warn', 'error', 'skip', 'pass']));
      expect(full.results.at(-1)?.properties).toMatchObject({ note: 'results omitted' });
      const validate = new Ajv({ strict: false, validateFormats: false, allErrors: true }).compile(schema);
      expect(validate(JSON.parse(JSON.stringify(full))) ? [] : validate.errors).toEqual([]);
    });

    it('holds no field the API server would prune', () => {
      expect(unknownFields(JSON.parse(JSON.stringify(full)) as unknown, schema, '')).toEqual([]);
    });
  });
});

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

interface Crd {
  metadata: { name: string };
  spec: { group: string; scope: string; names: { kind: string; plural: string }; versions: Array<{ name: string; schema: { openAPIV3Schema: Schema } }> };
}

/** Paths of fields a structural schema does not declare: the API server drops them on write. */
function unknownFields(value: unknown, schema: Schema, path: string): string[] {
  if (Array.isArray(value)) return schema.items ? value.flatMap((item, index) => unknownFields(item, schema.items!, `${path}[${index}]`)) : [];
  if (typeof value !== 'object' || value === null || path === '.metadata') return [];
  if (schema['x-kubernetes-preserve-unknown-fields']) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const declared = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    return declared ? unknownFields(child, declared, `${path}.${key}`) : [`${path}.${key}`];
  });
}
