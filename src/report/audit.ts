import { evaluate } from '../engine/engine.js';
import type { EvaluationContext, ExemptedFinding, Finding, ResourceRef, Rule } from '../engine/types.js';
import { lineLocator, type LineLocator } from '../input/locate.js';
import { parseManifests, type InputError, type ManifestDocument } from '../input/manifest.js';
import { collectSources } from '../input/sources.js';
import type { KubeObject } from '../model/kube.js';
import { resourceRef } from '../model/pod.js';
import { objectsIn } from '../model/workload.js';
import { errorMessage, type ErrorCode } from '../policy/errors.js';
import { expiredExemptions, type Exemption } from '../policy/exemptions.js';
import type { Policy } from '../policy/policy.js';

export interface AuditSettings {
  /** The cluster checked against; `related` is filled in from the input. */
  context: Omit<EvaluationContext, 'related'>;
  policy: Policy;
  rules: readonly Rule[];
}

/** A finding with the file and line of the field it is about. */
export interface LocatedFinding extends Finding {
  file: string;
  /** Absent for objects read from a cluster (`file` is then `cluster://<namespace>/<kind>/<name>`). */
  line?: number;
}

/** Something that could not be checked: an unreadable path, a broken document, or a rule that failed. */
export interface AuditError {
  file: string;
  line?: number;
  code?: ErrorCode;
  /** The rule that failed, for rule errors. */
  rule?: string;
  resource?: ResourceRef;
  message: string;
}

/** A finding an exemption suppressed, with the file and line of the field it is about. */
export interface LocatedExemptedFinding extends ExemptedFinding {
  file: string;
  line?: number;
}

export interface AuditReport {
  findings: LocatedFinding[];
  errors: AuditError[];
  /** Findings exempted by the policy or by an annotation it honours: every exemption used. */
  exempted: LocatedExemptedFinding[];
  /** Policy exemptions past their last day: they no longer apply, and whoever owns the policy should know. */
  expiredExemptions: Exemption[];
  /** Sources read. */
  files: number;
  /** Non-empty documents parsed. */
  documents: number;
  /** Objects checked, the items of Lists counted one by one. */
  resources: number;
}

/** Reads, parses and checks everything the command line names: the whole `audit` command but the output. */
export async function auditPaths(paths: readonly string[], settings: AuditSettings, readStdin: () => Promise<string>): Promise<AuditReport> {
  const collected = await collectSources(paths, readStdin);
  const inputErrors: InputError[] = [...collected.errors];
  const documents: ManifestDocument[] = [];
  let files = 0;
  for (const source of collected.sources) {
    let text: string;
    try {
      text = await source.read();
    } catch (error) {
      inputErrors.push({ source: source.name, code: 'PODPATTERNS_ERR_INPUT_READ', message: `cannot be read: ${errorMessage(error)}` });
      continue;
    }
    files++;
    const parsed = parseManifests(text, source.name);
    for (const document of parsed.documents) documents.push(document);
    inputErrors.push(...parsed.errors);
  }
  const report = auditDocuments(documents, settings);
  report.files = files;
  report.errors = [...inputErrors.map(toAuditError), ...report.errors];
  return report;
}

/**
 * Checks parsed documents. Every object of the input is passed to the rules as a related object (an HPA
 * finds its target that way). Lines are only worked out for documents with something to report.
 */
export function auditDocuments(documents: readonly ManifestDocument[], settings: AuditSettings): AuditReport {
  const related: KubeObject[] = [];
  for (const document of documents) for (const { object } of objectsIn(document.value)) related.push(object);
  const context: EvaluationContext = { ...settings.context, related };
  const report: AuditReport = {
    findings: [],
    errors: [],
    exempted: [],
    expiredExemptions: expiredExemptions(settings.policy.exemptions, settings.context.now ?? Date.now()),
    files: new Set(documents.map((document) => document.source)).size,
    documents: documents.length,
    resources: related.length,
  };
  for (const document of documents) {
    const result = evaluate(document.value, context, settings.policy, settings.rules);
    if (result.findings.length === 0 && result.errors.length === 0 && result.exempted.length === 0) continue;
    const lineOf = lineLocator(document);
    const file = document.source;
    const located = result.findings.map((finding) => ({ ...finding, file, line: lineOf(finding.path) }));
    for (const finding of located.sort((a, b) => a.line - b.line)) report.findings.push(finding);
    for (const error of result.errors) {
      report.errors.push({ file, line: resourceLine(document, error.resource, lineOf), rule: error.rule, resource: error.resource, message: `rule ${error.rule} failed: ${error.message}` });
    }
    for (const exempted of result.exempted) report.exempted.push({ ...exempted, file, line: lineOf(exempted.path) });
  }
  return report;
}

/** The line of a resource inside its document: the document itself, or the List item that names it. */
function resourceLine(document: ManifestDocument, resource: ResourceRef, lineOf: LineLocator): number {
  const match = objectsIn(document.value).find(({ object }) => sameResource(resourceRef(object), resource));
  return lineOf(match?.path ?? '');
}

function sameResource(a: ResourceRef, b: ResourceRef): boolean {
  return a.kind === b.kind && a.name === b.name && a.namespace === b.namespace && a.apiVersion === b.apiVersion;
}

function toAuditError(error: InputError): AuditError {
  return { file: error.source, ...(error.line !== undefined && { line: error.line }), code: error.code, message: error.message };
}
