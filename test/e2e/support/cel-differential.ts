import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { MAX_STATUS_MESSAGE_LENGTH, truncate } from '../../../src/admission/limits.js';
import type { AdmissionMode } from '../../../src/admission/mode.js';
import { evaluate } from '../../../src/engine/engine.js';
import type { EvaluationContext, Finding, Rule, Severity } from '../../../src/engine/types.js';
import { isObject, type KubeObject } from '../../../src/model/kube.js';
import type { Policy } from '../../../src/policy/policy.js';
import { runPodpatterns } from '../cluster-audit/run.js';
import { readAuditEvents, type AuditEvent } from './audit-log.js';
import type { DifferentialCase } from './cel-cases.js';
import { RUN_LABEL, type Clients, type E2eCluster } from './cluster.js';
import { waitFor } from './network.js';
import { RawApi } from './raw-api.js';

/** What a rule did to an object: denied it, warned, only recorded it (audit) — absent when it found nothing. */
export type Verdict = 'deny' | 'warn' | 'audit';

export interface CompileSettings {
  /** Extra `podpatterns compile` / `podpatterns audit` flags: versions and policy. */
  kubernetesVersion: string;
  minKubeletVersion: string;
  policyFile?: string;
  mode: AdmissionMode;
}

export interface CaseOutcome {
  case: DifferentialCase;
  /** The name it was created under. */
  name: string;
  /** The API server's own refusal (validation), when the object never reached the admission policies. */
  rejected?: string;
  engine: Map<string, Verdict>;
  cel: Map<string, Verdict>;
  /** Per rule: the policy's message as the API server recorded it, and the engine's text for the stored object. */
  celMessages: Map<string, string>;
  engineMessages: Map<string, string>;
  /** The refusal the client saw, if any. */
  denial?: string;
}

export interface DifferentialReport {
  outcomes: CaseOutcome[];
  /** Rules that became policies. */
  compiledRules: string[];
  /** `<source>: <rule>: engine <verdict> vs CEL <verdict>` for every rule and case that disagree. */
  disagreements: string[];
  messageMismatches: string[];
  /** Rule verdicts compared (cases × compiled rules), and how many of them were findings. */
  comparisons: number;
  findings: number;
}

const FAILURE_ANNOTATION = 'validation.policy.admission.k8s.io/validation_failure';

interface ValidationFailure {
  message: string;
  policy: string;
  binding: string;
  validationActions: string[];
}

/**
 * The compiled policies, scoped for a test run: names suffixed with `tag`, the run label added, and each
 * binding narrowed to `namespace` (the compiled selector, which leaves kube-system alone, is kept).
 */
export function scopePolicies(objects: KubeObject[], tag: string, runId: string, namespace: string): KubeObject[] {
  return objects.map((original) => {
    const object = structuredClone(original) as KubeObject & { spec: Record<string, unknown> };
    const metadata = object.metadata!;
    metadata.name = `${metadata.name}-${tag}`;
    metadata.labels = { ...metadata.labels, [RUN_LABEL]: runId };
    if (object.kind === 'ValidatingAdmissionPolicyBinding') {
      object.spec.policyName = `${object.spec.policyName as string}-${tag}`;
      const selector = (object.spec.matchResources as { namespaceSelector: { matchExpressions: unknown[] } }).namespaceSelector;
      selector.matchExpressions.push({ key: 'kubernetes.io/metadata.name', operator: 'In', values: [namespace] });
    }
    return object;
  });
}

export function compileArgs(settings: CompileSettings): string[] {
  return [
    '--kubernetes-version', settings.kubernetesVersion,
    '--min-kubelet-version', settings.minKubeletVersion,
    ...(settings.policyFile ? ['--policy', settings.policyFile] : []),
  ];
}

/** `podpatterns compile -o json` for the settings; fails on a non-zero exit. */
export async function compiledObjects(cluster: E2eCluster, settings: CompileSettings, extra: string[] = []): Promise<KubeObject[]> {
  const run = await runPodpatterns(cluster, ['compile', ...compileArgs(settings), '--mode', settings.mode, '-o', 'json', ...extra]);
  if (run.code !== 0) throw new Error(`podpatterns compile exited ${run.code}: ${run.stderr}`);
  return (JSON.parse(run.stdout) as { items: KubeObject[] }).items;
}

export interface DifferentialOptions {
  cluster: E2eCluster;
  clients: Clients;
  directory: string;
  auditLog: string;
  /** Policies apply here. */
  namespace: string;
  /** No policy applies here: the API server's defaults and its own validation, alone. */
  plainNamespace: string;
  settings: CompileSettings;
  policy: Policy;
  rules: readonly Rule[];
  /** policy name → rule id, from the compiled objects' labels. */
  policyRules: Map<string, string>;
  cases: DifferentialCase[];
  /** Prefix of the objects' names, unique per run of the differential. */
  prefix: string;
}

/**
 * Sends every case to the API server (dry run) twice — where no policy applies, for the object as stored and
 * the API server's own verdict, and where the compiled policies apply — reads each rule's verdict and message
 * from the audit log, and compares them with `podpatterns audit` on the same objects.
 */
export async function runDifferential(options: DifferentialOptions): Promise<DifferentialReport> {
  const { cases, prefix } = options;
  const named = cases.map((entry, index) => ({ entry, name: `${prefix}-${index}`, object: placed(entry.object, `${prefix}-${index}`, options.namespace) }));
  const engine = await engineVerdicts(options, named.map(({ object }) => object));
  const raw = new RawApi(options.clients.config);
  const outcomes: CaseOutcome[] = [];
  await inBatches(named, 4, async ({ entry, name, object }) => {
    const outcome: CaseOutcome = { case: entry, name, engine: engine.get(name) ?? new Map(), cel: new Map(), celMessages: new Map(), engineMessages: new Map() };
    outcomes.push(outcome);
    if (!RawApi.serves(object)) {
      outcome.rejected = `${object.apiVersion} ${object.kind} is not served`;
      return;
    }
    const plainObject: KubeObject = { ...object, metadata: { ...object.metadata, namespace: options.plainNamespace } };
    const plain = await raw.create(options.plainNamespace, plainObject, { dryRun: true });
    if (plain.status >= 300) {
      outcome.rejected = `${plain.status} ${isObject(plain.body) ? String(plain.body.message) : String(plain.body)}`;
      return;
    }
    outcome.engineMessages = engineTexts(options, { ...(plain.body as KubeObject), metadata: { ...(plain.body as KubeObject).metadata, namespace: options.namespace } });
    const answer = await raw.create(options.namespace, object, { dryRun: true });
    if (answer.status >= 300) outcome.denial = isObject(answer.body) ? String(answer.body.message) : String(answer.body);
  });
  outcomes.sort((a, b) => Number(a.name.slice(prefix.length + 1)) - Number(b.name.slice(prefix.length + 1)));
  await readCelVerdicts(options, outcomes.filter((outcome) => outcome.rejected === undefined));
  return compare(options, outcomes);
}

function placed(object: KubeObject, name: string, namespace: string): KubeObject {
  const copy = structuredClone(object);
  const metadata = isObject(copy.metadata) ? copy.metadata : {};
  delete metadata.generateName;
  delete metadata.resourceVersion;
  delete metadata.uid;
  delete metadata.creationTimestamp;
  delete copy.status;
  copy.metadata = { ...metadata, name, namespace };
  return copy;
}

async function inBatches<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/** `podpatterns audit -o json` over all objects in one file: each rule's most severe finding per object. */
async function engineVerdicts(options: DifferentialOptions, objects: KubeObject[]): Promise<Map<string, Map<string, Verdict>>> {
  const file = join(options.directory, `${options.prefix}-objects.yaml`);
  await writeFile(file, objects.map((object) => `---\n${stringify(object, { lineWidth: 0 })}`).join(''));
  const run = await runPodpatterns(options.cluster, ['audit', '-o', 'json', '--fail-on', 'none', ...compileArgs(options.settings), file]);
  if (run.code !== 0) throw new Error(`podpatterns audit exited ${run.code}: ${run.stderr.slice(0, 2000)}`);
  const report = JSON.parse(run.stdout) as { findings: Array<{ rule: string; severity: Severity; resource: { name: string } }> };
  const verdicts = new Map<string, Map<string, Verdict>>();
  for (const finding of report.findings) {
    const byRule = verdicts.get(finding.resource.name) ?? new Map<string, Verdict>();
    const verdict = actionOf(finding.severity, options.settings.mode);
    const known = byRule.get(finding.rule);
    if (!known || rank(verdict) < rank(known)) byRule.set(finding.rule, verdict);
    verdicts.set(finding.resource.name, byRule);
  }
  return verdicts;
}

/** The webhook's decide(): what a finding of this severity does under the mode. */
function actionOf(severity: Severity, mode: AdmissionMode): Verdict {
  if (severity === 'audit' || mode === 'audit') return 'audit';
  return severity === 'deny' && mode === 'enforce' ? 'deny' : 'warn';
}

function rank(verdict: Verdict): number {
  return ['deny', 'warn', 'audit'].indexOf(verdict);
}

/**
 * The engine's text for each rule's first finding on the object as the API server stores it, as the policy should
 * write it. A rule that picks a verdict per finding compiles to one policy per verdict, each listing its own
 * findings: the text is that of the policy for the rule's strongest verdict, the one the comparison reads.
 */
function engineTexts(options: DifferentialOptions, stored: KubeObject): Map<string, string> {
  const context: EvaluationContext = {
    kubernetesVersion: parse(options.settings.kubernetesVersion),
    minKubeletVersion: parse(options.settings.minKubeletVersion),
    operation: 'CREATE',
  };
  const { findings } = evaluate(stored, context, options.policy, options.rules);
  const byRule = new Map<string, Finding[]>();
  for (const finding of findings) byRule.set(finding.rule, [...(byRule.get(finding.rule) ?? []), finding]);
  return new Map([...byRule].map(([rule, list]) => {
    const strongest = Math.min(...list.map((finding) => rank(actionOf(finding.severity, options.settings.mode))));
    return [rule, expectedText(rule, list.filter((finding) => rank(actionOf(finding.severity, options.settings.mode)) === strongest))];
  }));
}

/** What src/cel/compile.ts messageExpression writes for these findings. */
export function expectedText(rule: string, findings: Finding[]): string {
  const first = findings[0]!;
  const more = findings.length > 1 ? ` (+${findings.length - 1} more ${rule} findings: podpatterns audit lists them)` : '';
  return truncate(`${rule}: ${first.message} Fix: ${first.fix}${more}`.replaceAll('\n', ' '), MAX_STATUS_MESSAGE_LENGTH).trim();
}

function parse(version: string): { major: number; minor: number } {
  const [major, minor] = version.split('.').map(Number);
  return { major: major!, minor: minor! };
}

async function readCelVerdicts(options: DifferentialOptions, outcomes: CaseOutcome[]): Promise<void> {
  const wanted = new Set(outcomes.map((outcome) => outcome.name));
  const events = await waitFor('audit events of every dry-run create', async () => {
    const found = new Map<string, AuditEvent>();
    for (const event of await readAuditEvents(options.auditLog)) {
      const name = event.objectRef?.name;
      if (event.stage === 'ResponseComplete' && event.verb === 'create' && event.objectRef?.namespace === options.namespace && name && wanted.has(name)) found.set(name, event);
    }
    return found.size === wanted.size ? found : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  for (const outcome of outcomes) {
    const annotation = events.get(outcome.name)?.annotations?.[FAILURE_ANNOTATION];
    const failures = annotation ? (JSON.parse(annotation) as ValidationFailure[]) : [];
    for (const failure of failures) {
      const rule = options.policyRules.get(failure.policy);
      if (!rule) continue;
      const verdict: Verdict = failure.validationActions.includes('Deny') ? 'deny' : failure.validationActions.includes('Warn') ? 'warn' : 'audit';
      const known = outcome.cel.get(rule);
      // The message of the policy for the strongest verdict, as engineTexts() expects it.
      if (!known || rank(verdict) < rank(known)) {
        outcome.cel.set(rule, verdict);
        outcome.celMessages.set(rule, failure.message);
      }
    }
  }
}

function compare(options: DifferentialOptions, outcomes: CaseOutcome[]): DifferentialReport {
  const compiledRules = [...new Set(options.policyRules.values())];
  const report: DifferentialReport = { outcomes, compiledRules, disagreements: [], messageMismatches: [], comparisons: 0, findings: 0 };
  for (const outcome of outcomes) {
    if (outcome.rejected !== undefined) continue;
    for (const rule of compiledRules) {
      report.comparisons++;
      const engine = outcome.engine.get(rule);
      const cel = outcome.cel.get(rule);
      if (engine) report.findings++;
      if (engine !== cel) report.disagreements.push(`${outcome.case.source}: ${rule}: engine ${engine ?? 'admitted'} vs CEL ${cel ?? 'admitted'}`);
      const expected = outcome.engineMessages.get(rule);
      const actual = outcome.celMessages.get(rule);
      if (cel && expected !== undefined && actual !== expected) {
        report.messageMismatches.push(`${outcome.case.source}: ${rule}:\n  engine: ${expected}\n  CEL:    ${actual}`);
      }
    }
  }
  return report;
}

/** One line per count, for the test log. */
export function summary(report: DifferentialReport, label: string): string {
  const rejected = report.outcomes.filter((outcome) => outcome.rejected !== undefined).length;
  return (
    `${label}: ${report.outcomes.length} objects (${rejected} refused by the API server's own validation, not compared), ` +
    `${report.compiledRules.length} compiled rules, ${report.comparisons} rule verdicts compared (${report.findings} findings), ` +
    `${report.disagreements.length} disagreements, ${report.messageMismatches.length} message mismatches`
  );
}
