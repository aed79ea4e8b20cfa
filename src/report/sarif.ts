import { createHash } from 'node:crypto';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Rule, Severity } from '../engine/types.js';
import { STDIN_NAME } from '../input/sources.js';
import { describeAppliedExemption, describeExemption, type Exemption } from '../engine/exemptions.js';
import type { AuditError, AuditReport, LocatedExemptedFinding, LocatedFinding } from './types.js';
import { resourceName } from './text.js';

/** SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/) as GitHub code scanning reads it. */
export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';

export interface SarifOptions {
  rules: readonly Rule[];
  toolVersion: string;
  /** Artifact URIs are relative to it, so code scanning can map them onto the repository. */
  cwd: string;
}

type Level = 'error' | 'warning' | 'note';
const LEVELS: Readonly<Record<Severity, Level>> = { deny: 'error', warn: 'warning', audit: 'note' };

export function sarifLog(report: AuditReport, options: SarifOptions): Record<string, unknown> {
  const ruleIndex = new Map(options.rules.map((rule, index) => [rule.id, index]));
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'podpatterns',
            version: options.toolVersion,
            semanticVersion: options.toolVersion,
            rules: options.rules.map(ruleDescriptor),
          },
        },
        invocations: [
          {
            executionSuccessful: report.errors.length === 0,
            toolExecutionNotifications: report.errors.map((error) => notification(error, options.cwd)),
            toolConfigurationNotifications: report.expiredExemptions.map(expiredNotification),
          },
        ],
        results: [
          ...report.findings.map((finding) => result(finding, ruleIndex.get(finding.rule), options.cwd)),
          // Exempted findings stay visible as suppressed results (SARIF §3.27.23), each with its justification.
          ...report.exempted.map((exempted) => ({ ...result(exempted, ruleIndex.get(exempted.rule), options.cwd), suppressions: [suppression(exempted)] })),
        ],
      },
    ],
  };
}

export function renderSarif(report: AuditReport, options: SarifOptions): string {
  return `${JSON.stringify(sarifLog(report, options), null, 2)}\n`;
}

function ruleDescriptor(rule: Rule): Record<string, unknown> {
  const examples = `Flagged:\n\n${rule.example.bad}\nFixed:\n\n${rule.example.fixed}`;
  return {
    id: rule.id,
    shortDescription: { text: rule.summary },
    fullDescription: { text: rule.description },
    help: {
      text: `${rule.description}\n\n${examples}`,
      markdown: `${rule.description}\n\n**Flagged:**\n\n\`\`\`yaml\n${rule.example.bad}\`\`\`\n\n**Fixed:**\n\n\`\`\`yaml\n${rule.example.fixed}\`\`\`\n`,
    },
    defaultConfiguration: { level: LEVELS[rule.defaultSeverity] },
  };
}

function result(finding: LocatedFinding, ruleIndex: number | undefined, cwd: string): Record<string, unknown> {
  return {
    ruleId: finding.rule,
    ...(ruleIndex !== undefined && { ruleIndex }),
    level: LEVELS[finding.severity],
    message: { text: `${finding.container !== undefined ? `${finding.container}: ` : ''}${finding.message} Fix: ${finding.fix}` },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: artifactUri(finding.file, cwd) },
          ...(finding.line !== undefined && { region: { startLine: finding.line } }),
        },
        logicalLocations: [{ name: finding.resource.name, fullyQualifiedName: resourceName(finding.resource), kind: 'resource' }],
      },
    ],
    // Stable across edits that only move lines, so code scanning keeps tracking the same alert.
    partialFingerprints: { 'podpatterns/v1': fingerprint(finding) },
    properties: { path: finding.path, ...(finding.container !== undefined && { container: finding.container }) },
  };
}

/** `inSource` for the annotation in the manifest, `external` for the policy's list. */
function suppression({ exemption }: LocatedExemptedFinding): Record<string, unknown> {
  return {
    kind: exemption.source === 'annotation' ? 'inSource' : 'external',
    status: 'accepted',
    justification: `Exempted by ${describeAppliedExemption(exemption)}.`,
    properties: { source: exemption.source, ...(exemption.entry !== undefined && { exemption: exemption.entry }), ...(exemption.expires !== undefined && { expires: exemption.expires }) },
  };
}

function expiredNotification(entry: Exemption): Record<string, unknown> {
  return {
    level: 'note',
    message: { text: `The policy exemption ${describeExemption(entry)} expired on ${entry.expires?.date ?? '?'} and no longer applies.` },
  };
}

function notification(error: AuditError, cwd: string): Record<string, unknown> {
  const region = error.line !== undefined ? { region: { startLine: error.line } } : {};
  return {
    level: 'error',
    message: { text: error.code ? `${error.message} [${error.code}]` : error.message },
    locations: [{ physicalLocation: { artifactLocation: { uri: artifactUri(error.file, cwd) }, ...region } }],
    ...(error.rule !== undefined && { associatedRule: { id: error.rule } }),
  };
}

/** `cluster://shop/Deployment/web`: already a URI (a Windows drive letter has no `//`). */
const URI_WITH_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** A URI reference relative to `cwd` with `/` separators; outside `cwd`, an absolute `file:` URI. */
export function artifactUri(file: string, cwd: string): string {
  if (file === STDIN_NAME || URI_WITH_SCHEME.test(file)) return file;
  const absolute = resolve(cwd, file);
  const path = relative(cwd, absolute);
  if (path === '..' || path.startsWith(`..${sep}`) || isAbsolute(path)) return pathToFileURL(absolute).href;
  return path.split(sep).map(encodeURIComponent).join('/');
}

function fingerprint(finding: LocatedFinding): string {
  const { kind, namespace, name } = finding.resource;
  return createHash('sha256')
    .update([finding.rule, finding.file, kind, namespace ?? '', name, finding.container ?? '', finding.path].join('\0'))
    .digest('hex')
    .slice(0, 32);
}
