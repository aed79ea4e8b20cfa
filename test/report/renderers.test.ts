import { describe, expect, it } from 'vitest';
import { jsonReport, renderJson, renderJsonPieces } from '../../src/report/json.js';
import { renderText, renderTextErrors } from '../../src/report/text.js';
import { sampleReport } from './fixtures.js';

describe('renderJson', () => {
  it('prints findings with every documented key, nulls where a value does not apply', () => {
    const json = JSON.parse(renderJson(sampleReport())) as { findings: unknown[]; summary: unknown; errors: unknown[]; exemptions: unknown[] };
    expect(Object.keys(json)).toEqual(['findings', 'summary', 'errors', 'exemptions']);
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
      { resource: { apiVersion: 'v1', kind: 'Pod', namespace: null, name: 'legacy' }, rules: ['port-clash'], reason: 'moving in Q3', file: 'manifests/legacy.yaml', line: 1 },
    ]);
  });

  it('writes the same text piece by piece as JSON.stringify writes it whole, empty lists included', () => {
    const full = sampleReport();
    const empty = { ...full, findings: [], errors: [], exemptions: [] };
    for (const report of [full, empty]) {
      const expected = `${JSON.stringify(jsonReport(report), null, 2)}\n`;
      expect(renderJson(report)).toBe(expected);
      const pieces = [...renderJsonPieces(report, 40)];
      expect(pieces.length).toBeGreaterThan(1);
      expect(pieces.join('')).toBe(expected);
    }
  });
});

describe('renderText', () => {
  it('groups findings per resource with file:line, severity, rule, container, message and the fix below', () => {
    const text = renderText(sampleReport(), { color: false });
    expect(text).toBe(
      [
        'Deployment shop/web (manifests/web app.yaml)',
        "  manifests/web app.yaml:27  deny   port-clash  proxy: containers 'app' and 'proxy' both declare port 8080/TCP.",
        "      fix: Move 'proxy' to another port.",
        '  manifests/web app.yaml:12  audit  sidecar-limits  the pod has no limits.',
        '      fix: Add limits.',
        '',
        'ClusterRole reader (stdin)',
        '  stdin:3  warn   sidecar-limits  x: odd.',
        '      fix: Even it.',
        '',
        '3 findings (1 deny, 1 warn, 1 audit) in 8 resources (7 documents, 3 files). 1 error: not everything could be checked.',
        '',
      ].join('\n'),
    );
  });

  it('says so when nothing was found', () => {
    const report = { ...sampleReport(), findings: [], errors: [], resources: 1, documents: 1, files: 1 };
    expect(renderText(report, { color: false })).toBe('No findings in 1 resource (1 document, 1 file).\n');
  });

  it('colours only when asked to', () => {
    expect(renderText(sampleReport(), { color: false })).not.toContain('\u001b[');
    const coloured = renderText(sampleReport(), { color: true });
    expect(coloured).toContain('\u001b[31m');
    const ansi = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g');
    expect(coloured.replace(ansi, '')).toBe(renderText(sampleReport(), { color: false }));
  });

  it('prints errors with file, line and code', () => {
    expect(renderTextErrors(sampleReport().errors, { color: false })).toBe(
      'error manifests/broken.yaml:4: document 2 is not valid YAML: bad indentation (column 3) [PODPATTERNS_ERR_INPUT_SYNTAX]\n',
    );
  });
});
