import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { artifactUri, renderSarif, sarifLog } from '../../src/report/sarif.js';
import { RULES, sampleReport } from './fixtures.js';

/**
 * The parts of the SARIF 2.1.0 schema (docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json)
 * that podpatterns emits: their required properties, the properties each object may have (the schema allows
 * no others), level values and the region's minimum line.
 */
const object = (allowed: string[], { properties = {}, ...rest }: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'object',
  additionalProperties: false,
  properties: { ...Object.fromEntries(allowed.map((name) => [name, {}])), ...(properties as object) },
  ...rest,
});
const level = { enum: ['none', 'note', 'warning', 'error'] };
const SARIF_SUBSET = {
  $ref: '#/definitions/log',
  definitions: {
    log: object(['$schema', 'version', 'runs', 'inlineExternalProperties', 'properties'], {
      required: ['version', 'runs'],
      properties: { $schema: { type: 'string' }, version: { enum: ['2.1.0'] }, runs: { type: 'array', items: { $ref: '#/definitions/run' } } },
    }),
    run: object(['tool', 'invocations', 'results', 'originalUriBaseIds', 'artifacts', 'logicalLocations', 'columnKind', 'properties', 'automationDetails'], {
      required: ['tool'],
      properties: {
        tool: { $ref: '#/definitions/tool' },
        invocations: { type: 'array', items: { $ref: '#/definitions/invocation' } },
        results: { type: 'array', items: { $ref: '#/definitions/result' } },
      },
    }),
    tool: object(['driver', 'extensions', 'properties'], { required: ['driver'], properties: { driver: { $ref: '#/definitions/toolComponent' } } }),
    toolComponent: object(['name', 'version', 'semanticVersion', 'informationUri', 'rules', 'fullName', 'organization', 'properties'], {
      required: ['name'],
      properties: { name: { type: 'string' }, version: { type: 'string' }, rules: { type: 'array', items: { $ref: '#/definitions/reportingDescriptor' } } },
    }),
    reportingDescriptor: object(['id', 'name', 'shortDescription', 'fullDescription', 'defaultConfiguration', 'helpUri', 'help', 'properties'], {
      required: ['id'],
      properties: {
        id: { type: 'string' },
        shortDescription: { $ref: '#/definitions/multiformatMessageString' },
        fullDescription: { $ref: '#/definitions/multiformatMessageString' },
        help: { $ref: '#/definitions/multiformatMessageString' },
        defaultConfiguration: object(['enabled', 'level', 'rank', 'parameters', 'properties'], { properties: { level } }),
      },
    }),
    multiformatMessageString: object(['text', 'markdown', 'properties'], { required: ['text'], properties: { text: { type: 'string' }, markdown: { type: 'string' } } }),
    message: object(['text', 'markdown', 'id', 'arguments', 'properties'], { anyOf: [{ required: ['text'] }, { required: ['id'] }], properties: { text: { type: 'string' } } }),
    result: object(['ruleId', 'ruleIndex', 'level', 'message', 'locations', 'partialFingerprints', 'fingerprints', 'properties', 'suppressions'], {
      required: ['message'],
      properties: {
        ruleId: { type: 'string' },
        ruleIndex: { type: 'integer', minimum: -1 },
        level,
        message: { $ref: '#/definitions/message' },
        locations: { type: 'array', items: { $ref: '#/definitions/location' } },
        partialFingerprints: { type: 'object', additionalProperties: { type: 'string' } },
        properties: { type: 'object' },
      },
    }),
    location: object(['id', 'physicalLocation', 'logicalLocations', 'message', 'annotations', 'relationships', 'properties'], {
      properties: { physicalLocation: { $ref: '#/definitions/physicalLocation' }, logicalLocations: { type: 'array', items: { $ref: '#/definitions/logicalLocation' } } },
    }),
    physicalLocation: object(['address', 'artifactLocation', 'region', 'contextRegion', 'properties'], {
      anyOf: [{ required: ['address'] }, { required: ['artifactLocation'] }],
      properties: { artifactLocation: { $ref: '#/definitions/artifactLocation' }, region: { $ref: '#/definitions/region' } },
    }),
    artifactLocation: object(['uri', 'uriBaseId', 'index', 'description', 'properties'], { properties: { uri: { type: 'string' } } }),
    region: object(['startLine', 'startColumn', 'endLine', 'endColumn', 'charOffset', 'charLength', 'byteOffset', 'byteLength', 'snippet', 'message', 'sourceLanguage', 'properties'], {
      anyOf: [{ required: ['startLine'] }, { required: ['charOffset'] }, { required: ['byteOffset'] }],
      properties: { startLine: { type: 'integer', minimum: 1 } },
    }),
    logicalLocation: object(['name', 'index', 'fullyQualifiedName', 'decoratedName', 'parentIndex', 'kind', 'properties'], {
      properties: { name: { type: 'string' }, fullyQualifiedName: { type: 'string' }, kind: { type: 'string' } },
    }),
    invocation: object(['executionSuccessful', 'toolExecutionNotifications', 'toolConfigurationNotifications', 'exitCode', 'commandLine', 'workingDirectory', 'properties'], {
      required: ['executionSuccessful'],
      properties: { executionSuccessful: { type: 'boolean' }, toolExecutionNotifications: { type: 'array', items: { $ref: '#/definitions/notification' } } },
    }),
    notification: object(['locations', 'message', 'level', 'threadId', 'timeUtc', 'exception', 'descriptor', 'associatedRule', 'properties'], {
      required: ['message'],
      properties: {
        locations: { type: 'array', items: { $ref: '#/definitions/location' } },
        message: { $ref: '#/definitions/message' },
        level,
        associatedRule: object(['id', 'index', 'guid', 'toolComponent', 'properties'], { anyOf: [{ required: ['index'] }, { required: ['guid'] }, { required: ['id'] }] }),
      },
    }),
  },
};

const validate = new Ajv({ allErrors: true }).compile(SARIF_SUBSET);
const options = { rules: RULES, toolVersion: '0.1.0', cwd: '/repo' };

describe('SARIF output', () => {
  it('has the shape the SARIF 2.1.0 schema requires', () => {
    const log: unknown = JSON.parse(renderSarif(sampleReport(), options));
    const valid = validate(log);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('catches a log that breaks the schema', () => {
    const log = sarifLog(sampleReport(), options) as { runs: Array<{ results: Array<Record<string, unknown>> }> };
    log.runs[0]!.results[0]!.level = 'fatal';
    delete log.runs[0]!.results[1]!.message;
    expect(validate(log)).toBe(false);
    expect(validate.errors?.map((error) => error.instancePath)).toEqual(expect.arrayContaining(['/runs/0/results/0/level', '/runs/0/results/1']));
  });

  it('describes every rule with its summary, description, help and default level', () => {
    const log = sarifLog(sampleReport(), options) as { runs: Array<{ tool: { driver: { rules: Array<Record<string, unknown>> } } }> };
    const rules = log.runs[0]!.tool.driver.rules;
    expect(rules.map((rule) => rule.id)).toEqual(['port-clash', 'sidecar-limits']);
    expect(rules[0]).toMatchObject({
      shortDescription: { text: 'Two containers bind one port.' },
      fullDescription: { text: 'Containers share a network namespace. Fix: move one | the other.' },
      defaultConfiguration: { level: 'error' },
    });
    expect((rules[0]!.help as { markdown: string }).markdown).toContain('```yaml\nkind: Pod\nmetadata: {name: fixed}\n```');
    expect(rules[1]).toMatchObject({ defaultConfiguration: { level: 'note' } });
  });

  it('locates results by file, line and resource, with levels from severities', () => {
    const log = sarifLog(sampleReport(), options) as { runs: Array<{ results: Array<Record<string, unknown>>; invocations: Array<Record<string, unknown>> }> };
    const [run] = log.runs;
    expect(run!.results.map((result) => [result.ruleId, result.ruleIndex, result.level])).toEqual([
      ['port-clash', 0, 'error'],
      ['sidecar-limits', 1, 'note'],
      ['sidecar-limits', 1, 'warning'],
      ['port-clash', 0, 'error'],
    ]);
    expect(run!.results[3]).toMatchObject({
      locations: [{ physicalLocation: { artifactLocation: { uri: 'manifests/legacy.yaml' }, region: { startLine: 14 } } }],
      suppressions: [{ kind: 'inSource', status: 'accepted', justification: 'Exempted by the podpatterns.io/ignore annotation (moving in Q3).' }],
    });
    expect(run!.results.slice(0, 3).every((result) => result.suppressions === undefined)).toBe(true);
    expect(run!.results[0]).toMatchObject({
      message: { text: "proxy: containers 'app' and 'proxy' both declare port 8080/TCP. Fix: Move 'proxy' to another port." },
      locations: [
        {
          physicalLocation: { artifactLocation: { uri: 'manifests/web%20app.yaml' }, region: { startLine: 27 } },
          logicalLocations: [{ name: 'web', fullyQualifiedName: 'Deployment shop/web', kind: 'resource' }],
        },
      ],
    });
    expect(run!.invocations).toEqual([
      {
        executionSuccessful: false,
        toolExecutionNotifications: [
          {
            level: 'error',
            message: { text: 'document 2 is not valid YAML: bad indentation (column 3) [PODPATTERNS_ERR_INPUT_SYNTAX]' },
            locations: [{ physicalLocation: { artifactLocation: { uri: 'manifests/broken.yaml' }, region: { startLine: 4 } } }],
          },
        ],
        toolConfigurationNotifications: [],
      },
    ]);
  });

  it('keeps the fingerprint of a finding when only its line moves', () => {
    const fingerprints = (line: number): unknown => {
      const report = sampleReport();
      report.findings[0]!.line = line;
      return (sarifLog(report, options) as { runs: Array<{ results: Array<{ partialFingerprints: unknown }> }> }).runs[0]!.results[0]!.partialFingerprints;
    };
    expect(fingerprints(27)).toEqual(fingerprints(90));
    const other = sampleReport();
    other.findings[0]!.container = 'app';
    expect((sarifLog(other, options) as { runs: Array<{ results: Array<{ partialFingerprints: unknown }> }> }).runs[0]!.results[0]!.partialFingerprints).not.toEqual(fingerprints(27));
  });
});

describe('artifactUri', () => {
  it('makes paths relative to the working directory, with / and percent-encoding', () => {
    expect(artifactUri('/repo/charts/web/rendered manifests.yaml', '/repo')).toBe('charts/web/rendered%20manifests.yaml');
    expect(artifactUri('deploy/app.yaml', '/repo')).toBe('deploy/app.yaml');
    expect(artifactUri('../other/app.yaml', '/repo')).toBe('file:///other/app.yaml');
    expect(artifactUri('stdin', '/repo')).toBe('stdin');
  });
});
