/**
 * The chart's in-tree policies (`validation.engine: cel | hybrid`, `migration.engine: cel`) are `podpatterns
 * compile` output, generated into charts/podpatterns/files/cel-policies.json by `npm run docs`: per rule and per
 * severity setting, the ValidatingAdmissionPolicy bodies compile makes in each mode and the actions they are bound
 * with. Options are baked into expressions, so the file holds the default options only (the chart refuses others
 * with `cel` and leaves those rules to the webhook with `hybrid`). What varies per install is templated by the
 * chart: names, bindings and their namespace selectors, and the two exemption variables (rendered from
 * `policy.exemptions` as src/cel/exemptions.ts writes them). test/chart/cel.test.ts fails while the committed file
 * is out of date, and checks that the chart renders what compile prints for the same values.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { ADMISSION_MODES, type AdmissionMode } from '../../src/admission/mode.js';
import { compilePolicies, type Compilation } from '../../src/cel/compile.js';
import { EXEMPTION_VARIABLES } from '../../src/cel/exemptions.js';
import { migrationPolicies, MUTATING_ADMISSION_POLICY_SINCE } from '../../src/cel/migration-policy.js';
import { NEW_OBJECT, OLD_OBJECT, podVariables, type CelVariable } from '../../src/cel/pod.js';
import { IGNORE_ANNOTATION, IGNORE_REASON_ANNOTATION } from '../../src/engine/engine.js';
import { SEVERITIES, type Rule } from '../../src/engine/types.js';
import type { KubeObject } from '../../src/model/kube.js';
import { NATIVE_SIDECARS_SINCE } from '../../src/model/native-sidecars.js';
import { compareVersions, formatVersion, NEWEST_KNOWN_VERSION, parseVersion, type KubeVersion } from '../../src/model/version.js';
import { DEFAULT_MIGRATION, parsePolicy, type MigrationMode } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';

export const CEL_POLICIES_FILE = new URL('../../charts/podpatterns/files/cel-policies.json', import.meta.url);

/** The oldest Kubernetes minor podpatterns supports: the chart's compiled policies start there. */
export const CHART_OLDEST_VERSION: KubeVersion = { major: 1, minor: 35 };
/** Kubelets may be up to three minors older than the API server (the version skew policy). */
const KUBELET_SKEW = 3;
/** How a rule's severity can be set in `policy.rules`: not at all, or pinned to one. */
export const SEVERITY_SETTINGS = ['default', ...SEVERITIES] as const;
export type SeveritySetting = (typeof SEVERITY_SETTINGS)[number];

/** A policy variable as the chart stores it: written out, one of the shared pod variables, or an exemption variable to render. */
export type StoredVariable =
  | { name: string; expression: string }
  | { name: string; shared: true }
  | { name: string; exemption: (typeof EXEMPTION_VARIABLES)[number]; object: 'object' | 'oldObject'; annotations: string };

/** What a rule becomes for one severity setting and mode: the policies, by the chart's name suffix, and their binding's actions. */
export interface PlannedPolicy {
  /** `<rule id>[-<verdict>]` as compile names it, then `-deny` for the policy that denies, `-pre-existing` for its companion. */
  name: string;
  body: string;
  actions: string[];
}

export interface CelVariant {
  /** The oldest API server minor this variant is compiled for (`X.Y`); it holds up to the next variant. */
  since: string;
  /** Rules compiled to policies, in rule order; every other rule with why it has none (CEL cannot express it, or it cannot fire). */
  compiled: string[];
  /** auditOnly: a rule that reads related objects, judged by `podpatterns audit` and the audit CronJob, never at admission. */
  webhookOnly: Array<{ rule: string; why: 'webhook-only' | 'not-needed'; reason: string; auditOnly: boolean }>;
  rules: Record<string, Record<SeveritySetting, Record<AdmissionMode, PlannedPolicy[]>>>;
  /** Policy specs by content hash; variables refer to `shared` by name. */
  bodies: Record<string, Record<string, unknown>>;
  shared: Record<string, string>;
}

export interface MigrationData {
  since: string;
  /** The oldest kubelet native sidecars need. */
  kubeletSince: string;
  /** Per migration mode: the policy's and the binding's kind and spec (the binding's scope is the chart's). */
  modes: Record<Exclude<MigrationMode, 'off'>, { policy: KubeObject; binding: KubeObject }>;
  /** `matchConstraints.resourceRules` per `cronJobs,pods` setting, e.g. `true,false`. */
  resourceRules: Record<string, unknown>;
}

export interface ChartCelData {
  generatedBy: string;
  /** The annotations an object exempts itself with, where the policy honours them. */
  exemptionAnnotations: { ignore: string; reason: string };
  /** The default of every rule option: the only values the compiled policies hold. */
  options: Record<string, Record<string, unknown>>;
  variants: CelVariant[];
  migration: MigrationData;
}

/** The shared pod variables of both roots, as compile writes them. */
const SHARED: ReadonlyMap<string, string> = new Map([...podVariables(NEW_OBJECT), ...podVariables(OLD_OBJECT)].map((variable) => [variable.name, variable.expression]));

/** Compiles every rule for every supported API server minor, grouping the minors that compile alike. */
export function chartCelData(rules: readonly Rule[] = ALL_RULES): ChartCelData {
  const variants: CelVariant[] = [];
  let previous: string | undefined;
  for (let minor = CHART_OLDEST_VERSION.minor; minor <= NEWEST_KNOWN_VERSION.minor; minor++) {
    const version = { major: 1, minor };
    const variant = variantFor(rules, version);
    const text = JSON.stringify({ ...variant, since: '' });
    if (text !== previous) variants.push(variant);
    previous = text;
  }
  return {
    generatedBy: 'npm run docs (test/support/chart-cel.ts), from the rules: do not edit',
    exemptionAnnotations: { ignore: IGNORE_ANNOTATION, reason: IGNORE_REASON_ANNOTATION },
    options: Object.fromEntries(rules.filter((rule) => rule.options).map((rule) => [rule.id, Object.fromEntries(Object.entries(rule.options!).map(([name, spec]) => [name, spec.default]))])),
    variants,
    migration: migrationData(),
  };
}

function variantFor(rules: readonly Rule[], version: KubeVersion): CelVariant {
  const variant: CelVariant = { since: formatVersion(version), compiled: [], webhookOnly: [], rules: {}, bodies: {}, shared: {} };
  const oldestKubelet = { major: 1, minor: Math.max(version.minor - KUBELET_SKEW, parseVersion(NATIVE_SIDECARS_SINCE)!.minor) };
  for (const rule of rules) {
    const settings = {} as Record<SeveritySetting, Record<AdmissionMode, PlannedPolicy[]>>;
    for (const setting of SEVERITY_SETTINGS) {
      settings[setting] = {} as Record<AdmissionMode, PlannedPolicy[]>;
      for (const mode of ADMISSION_MODES) {
        const compile = (kubelets: KubeVersion) => compileOne(rules, rule, setting, mode, version, kubelets);
        const compilation = compile(version);
        // The chart cannot tell the kubelets' versions: a rule must compile alike for every kubelet the skew allows.
        if (JSON.stringify(withoutAnnotations(compile(oldestKubelet).objects)) !== JSON.stringify(withoutAnnotations(compilation.objects))) {
          throw new Error(`${rule.id} compiles differently for kubelets ${formatVersion(oldestKubelet)} and ${formatVersion(version)} on Kubernetes ${formatVersion(version)}: the chart cannot choose between them`);
        }
        const skipped = compilation.skipped.find((entry) => entry.rule === rule.id);
        if (skipped) {
          if (setting === 'default' && mode === 'enforce' && skipped.why !== 'disabled') variant.webhookOnly.push({ rule: rule.id, why: skipped.why, reason: skipped.reason, auditOnly: rule.related !== undefined });
          continue;
        }
        settings[setting][mode] = planned(compilation, variant);
      }
    }
    if (Object.keys(settings.default).length > 0) {
      variant.compiled.push(rule.id);
      variant.rules[rule.id] = settings;
    }
  }
  return variant;
}

/** `podpatterns compile` of one rule alone, with a severity setting and a mode, annotations honoured and no central list. */
function compileOne(rules: readonly Rule[], rule: Rule, setting: SeveritySetting, mode: AdmissionMode, version: KubeVersion, kubelets: KubeVersion): Compilation {
  const policyFile = stringify({
    rules: Object.fromEntries(rules.map((other) => [other.id, other.id !== rule.id ? 'off' : setting === 'default' ? {} : { severity: setting }])),
    migration: { mode: 'off' },
    exemptions: { annotations: true },
  });
  const policy = parsePolicy(policyFile, `(${rule.id}, severity ${setting})`, rules);
  return compilePolicies(rules, policy, { kubernetesVersion: version, minKubeletVersion: kubelets, mode, releaseNamespace: 'podpatterns', excludedNamespaces: [] });
}

function planned(compilation: Compilation, variant: CelVariant): PlannedPolicy[] {
  const plans: PlannedPolicy[] = [];
  for (const policy of compilation.objects.filter((object) => object.kind === 'ValidatingAdmissionPolicy')) {
    const compiledName = policy.metadata!.name!.replace(/^podpatterns-/, '');
    const binding = compilation.objects.find((object) => object.kind === 'ValidatingAdmissionPolicyBinding' && object.metadata!.name === policy.metadata!.name)!;
    const actions = (binding.spec as { validationActions: string[] }).validationActions;
    const name = compiledName.endsWith('-pre-existing') || !actions.includes('Deny') ? compiledName : `${compiledName}-deny`;
    plans.push({ name, body: store(policy.spec as Record<string, unknown>, variant), actions });
  }
  return plans;
}

/** The spec by content hash, its shared and exemption variables replaced by references. */
function store(spec: Record<string, unknown>, variant: CelVariant): string {
  const variables = (spec.variables as CelVariable[]).map((variable): StoredVariable => {
    const exemption = EXEMPTION_VARIABLES.find((name) => variable.name === name || variable.name === `old${name.charAt(0).toUpperCase()}${name.slice(1)}`);
    if (exemption) {
      const old = variable.name !== exemption;
      return { name: variable.name, exemption, object: old ? 'oldObject' : 'object', annotations: old ? 'variables.oldAnnotations' : 'variables.annotations' };
    }
    if (SHARED.get(variable.name) === variable.expression) {
      variant.shared[variable.name] = variable.expression;
      return { name: variable.name, shared: true };
    }
    return variable;
  });
  const stored = { ...spec, variables };
  const text = JSON.stringify(stored);
  const key = createHash('sha256').update(text).digest('hex').slice(0, 12);
  variant.bodies[key] = stored;
  return key;
}

function withoutAnnotations(objects: KubeObject[]): KubeObject[] {
  return objects.map((object) => ({ ...object, metadata: { ...object.metadata, annotations: {} } }));
}

function migrationData(): MigrationData {
  const version = NEWEST_KNOWN_VERSION;
  const target = (mode: MigrationMode, cronJobs = false, pods = false) =>
    migrationPolicies({ kubernetesVersion: version, minKubeletVersion: version, migration: { ...DEFAULT_MIGRATION, mode, cronJobs, pods }, releaseNamespace: 'podpatterns' });
  const modes = {} as MigrationData['modes'];
  for (const mode of ['apply', 'dry-run'] as const) {
    const [policy, binding] = target(mode).objects as KubeObject[];
    modes[mode] = { policy: policy!, binding: binding! };
  }
  const resourceRules: Record<string, unknown> = {};
  for (const cronJobs of [false, true]) {
    for (const pods of [false, true]) {
      const [policy] = target('apply', cronJobs, pods).objects as KubeObject[];
      resourceRules[`${cronJobs},${pods}`] = (policy!.spec as { matchConstraints: { resourceRules: unknown } }).matchConstraints.resourceRules;
    }
  }
  if (compareVersions(MUTATING_ADMISSION_POLICY_SINCE, CHART_OLDEST_VERSION) < 0) throw new Error('the chart assumes MutatingAdmissionPolicy is newer than its oldest Kubernetes');
  return { since: formatVersion(MUTATING_ADMISSION_POLICY_SINCE), kubeletSince: NATIVE_SIDECARS_SINCE, modes, resourceRules };
}

/** The file as committed: JSON indented by one space (it is large), one trailing newline. */
export function renderChartCelData(rules: readonly Rule[] = ALL_RULES): string {
  return `${JSON.stringify(chartCelData(rules), null, 1)}\n`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/test\//, '/test/'))) {
  const next = renderChartCelData();
  const current = await readFile(CEL_POLICIES_FILE, 'utf8').catch(() => '');
  if (current !== next) await writeFile(CEL_POLICIES_FILE, next);
  console.log(`charts/podpatterns/files/cel-policies.json ${current === next ? 'up to date' : 'updated'}`);
}
