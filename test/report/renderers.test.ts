import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonReport, renderJson, renderJsonPieces } from '../../src/report/json.js';
import { renderText, renderTextErrors } from '../../src/report/text.js';
import { RULES, sampleReport } from './fixtures.js';

describe('renderJson', () => {
  it('prints findings with every documented key, nulls where a value does not apply', () => {
    const json = JSON.parse(renderJson(sampleReport())) as { findings: unknown[]; summary: unknown; errors: unknown[]; exemptions: unknown[] };
    expect(Object.keys(json)).toEqual(['findings', 'summary', 'errors', 'exemptions', 'expiredExemptions']);
    expect(json.findings[0]).toEqual({
      rule: 'port-clash',
      severity: 'deny',
      resource: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' },
      container: 'proxy',
      path: 'spec.template.spec.containers[1].ports[0].containerPort',
      message: "containers 'app' and 'proxy' both declare port 8080/TCP.",
      fix: "Move 'proxy' to another port.",
      file: 'manifests/web app.yaml',
      line: 27,
    });
    expect(json.findings[1]).toMatchObject({ container: null });
    expect(json.findings[2]).toMatchObject({ resource: { namespace: null, name: 'reader' } });
    expect(json.summary).toEqual({ findings: 3, deny: 1, warn: 1, audit: 1, errors: 1, exemptions: 1, resources: 8, documents: 7, files: 3 });
    expect(json.errors).toEqual([
      { file: 'manifests/broken.yaml', line: 4, code: 'PODPATTERNS_ERR_INPUT_SYNTAX', rule: null, message: 'document 2 is not valid YAML: bad indentation (column 3)' },
    ]);
    expect(json.exemptions).toEqual([
      {
        rule: 'port-clash',
        severity: 'deny',
        resource: { apiVersion: 'v1', kind: 'Pod', namespace: null, name: 'legacy' },
        container: 'proxy',
        path: 'spec.containers[1].ports[0].containerPort',
        message: "containers 'app' and 'proxy' both declare port 8080/TCP.",
        fix: "Move 'proxy' to another port.",
        file: 'manifests/legacy.yaml',
        line: 14,
        rules: ['port-clash'],
        source: 'annotation',
        reason: 'moving in Q3',
        exemption: null,
        expires: null,
      },
    ]);
  });

  it('writes any finding as JSON.stringify writes it: quotes, line breaks, control and astral characters, absent fields', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    const finding = fc.record({
      rule: text,
      severity: fc.constantFrom('deny' as const, 'warn' as const, 'audit' as const),
      resource: fc.record({ apiVersion: text, kind: text, namespace: fc.option(text, { nil: undefined }), name: text }, { requiredKeys: ['apiVersion', 'kind', 'name'] }),
      container: fc.option(text, { nil: undefined }),
      path: text,
      message: text,
      fix: text,
      problem: text,
      file: text,
      line: fc.option(fc.integer({ min: 1, max: 2 ** 31 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(finding, { minLength: 1, maxLength: 5 }), (findings) => {
        const report = { ...sampleReport(), findings };
        expect(renderJson(report)).toBe(`${JSON.stringify(jsonReport(report), null, 2)}\n`);
      }),
      { numRuns: 300 },
    );
  });

  it('writes the same text piece by piece as JSON.stringify writes it whole, empty lists included', () => {
    const full = sampleReport();
    const empty = { ...full, findings: [], errors: [], exemptions: [] };
    // More findings than one JSON.stringify call writes.
    const many = { ...full, findings: Array.from({ length: 600 }, (_, i) => ({ ...full.findings[i % full.findings.length]!, line: i + 1 })) };
    for (const report of [full, empty, many]) {
      const expected = `${JSON.stringify(jsonReport(report), null, 2)}\n`;
      expect(renderJson(report)).toBe(expected);
      const pieces = [...renderJsonPieces(report, 40)];
      expect(pieces.length).toBeGreaterThan(1);
      expect(pieces.join('')).toBe(expected);
    }
  });
});

describe('renderText', () => {
  const options = { color: false, rules: RULES };

  it('prints one line per finding with its fix below, explains each rule found once, then sums up', () => {
    expect(renderText(sampleReport(), options)).toBe(
      [
        "manifests/web app.yaml:27  deny   port-clash  'proxy' shares port 8080/TCP with 'app'  (Deployment shop/web)",
        "    fix: Move 'proxy' to another port.",
        'manifests/web app.yaml:12  audit  sidecar-limits  The pod has no limits  (Deployment shop/web)',
        '    fix: Add limits.',
        "stdin:3  warn   sidecar-limits  'x' is odd  (ClusterRole reader)",
        '    fix: Even it.',
        '',
        "manifests/legacy.yaml:14  exempt  port-clash  'proxy' shares port 8080/TCP with 'app': exempted by the podpatterns.io/ignore annotation (moving in Q3)",
        '',
        'Rules found (podpatterns rules <id> explains one in full, with a fixed example):',
        '  port-clash         1  Two containers bind one port.',
        '  sidecar-limits     2  A sidecar has no limits.',
        '',
        '3 findings (1 deny, 1 warn, 1 audit) in 8 resources (7 documents, 3 files). 1 error: not everything could be checked.',
        '',
      ].join('\n'),
    );
  });

  it('explains a rule once however many findings it has', () => {
    const report = sampleReport();
    const many = Array.from({ length: 200 }, (_, index) => ({ ...report.findings[0]!, line: index + 1 }));
    const text = renderText({ ...report, findings: many, exempted: [] }, options);
    expect(text.split('\n').filter((line) => line.includes('Two containers bind one port.'))).toHaveLength(1);
    // Two lines a finding, the legend's heading and rule, the summary and the blank lines between blocks.
    expect(text.trimEnd().split('\n')).toHaveLength(200 * 2 + 2 + 1 + 2);
  });

  it('reads whole for a single finding in a single file', () => {
    const report = { ...sampleReport(), findings: [sampleReport().findings[0]!], errors: [], exempted: [], resources: 1, documents: 1, files: 1 };
    expect(renderText(report, options)).toBe(
      [
        "manifests/web app.yaml:27  deny   port-clash  'proxy' shares port 8080/TCP with 'app'  (Deployment shop/web)",
        "    fix: Move 'proxy' to another port.",
        '',
        'Rules found (podpatterns rules <id> explains one in full, with a fixed example):',
        '  port-clash     1  Two containers bind one port.',
        '',
        '1 finding (1 deny, 0 warn, 0 audit) in 1 resource (1 document, 1 file).',
        '',
      ].join('\n'),
    );
  });

  it('names an object read from a cluster by its location alone', () => {
    const report = sampleReport();
    const fromCluster = { ...report.findings[0]!, file: 'cluster://shop/Deployment/web', line: undefined };
    expect(renderText({ ...report, findings: [fromCluster] }, options).split('\n')[0]).toBe(
      "cluster://shop/Deployment/web  deny   port-clash  'proxy' shares port 8080/TCP with 'app'",
    );
  });

  it('says so when nothing was found', () => {
    const report = { ...sampleReport(), findings: [], errors: [], exempted: [], resources: 1, documents: 1, files: 1 };
    expect(renderText(report, options)).toBe('No findings in 1 resource (1 document, 1 file).\n');
  });

  it('colours only when asked to', () => {
    expect(renderText(sampleReport(), options)).not.toContain('\u001b[');
    const coloured = renderText(sampleReport(), { ...options, color: true });
    expect(coloured).toContain('\u001b[31m');
    const ansi = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g');
    expect(coloured.replace(ansi, '')).toBe(renderText(sampleReport(), options));
  });

  it('prints errors with file, line and code', () => {
    expect(renderTextErrors(sampleReport().errors, { color: false })).toBe(
      'error manifests/broken.yaml:4: document 2 is not valid YAML: bad indentation (column 3) [PODPATTERNS_ERR_INPUT_SYNTAX]\n',
    );
  });
});
