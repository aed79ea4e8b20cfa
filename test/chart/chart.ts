import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { CHART_DIR, renderChart, type KubeManifest } from '../support/helm.js';

export const NAMESPACE = 'podpatterns-system';

/** The chart's defaults and every ci/*-values.yaml, each with the values helm will merge. */
export interface ValuesCase {
  name: string;
  files: string[];
  values: Values;
}

export type Values = Record<string, unknown>;

export const DEFAULT_VALUES = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Values;

export const CI_VALUES_FILES = readdirSync(join(CHART_DIR, 'ci'))
  .filter((name) => name.endsWith('-values.yaml'))
  .sort()
  .map((name) => join(CHART_DIR, 'ci', name));

export const VALUES_CASES: ValuesCase[] = [
  { name: 'defaults', files: [], values: DEFAULT_VALUES },
  ...CI_VALUES_FILES.map((file) => ({
    name: basename(file),
    files: [file],
    values: merge(DEFAULT_VALUES, parse(readFileSync(file, 'utf8')) as Values),
  })),
];

const rendered = new Map<ValuesCase, Promise<KubeManifest[]>>();

/** The case rendered once per test file (genCA makes RSA keys, which takes a while). */
export function renderCase(valuesCase: ValuesCase): Promise<KubeManifest[]> {
  let manifests = rendered.get(valuesCase);
  if (!manifests) {
    manifests = renderChart(valuesCase.files);
    rendered.set(valuesCase, manifests);
  }
  return manifests;
}

/** helm's merge: maps merge key by key, everything else (lists included) is replaced. */
export function merge(base: Values, override: Values): Values {
  const result: Values = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = result[key];
    result[key] = isMap(current) && isMap(value) ? merge(current, value) : value;
  }
  return result;
}

function isMap(value: unknown): value is Values {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value at a dotted path of the merged values, e.g. `validation.namespaces.enforce`. */
export function valueAt<T>(values: Values, path: string): T {
  let node: unknown = values;
  for (const key of path.split('.')) node = isMap(node) ? node[key] : undefined;
  return node as T;
}

export function ofKind<T = KubeManifest>(manifests: readonly KubeManifest[], kind: string): T[] {
  return manifests.filter((manifest) => manifest.kind === kind) as T[];
}

export function single<T = KubeManifest>(manifests: readonly KubeManifest[], kind: string): T {
  const found = ofKind<T>(manifests, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0]!;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/** Label selector semantics of k8s.io/apimachinery pkg/labels: every term must hold. */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    const ok =
      operator === 'In' ? has && values.includes(labels[key]!)
      : operator === 'NotIn' ? !has || !values.includes(labels[key]!)
      : operator === 'Exists' ? has
      : !has;
    if (!ok) return false;
  }
  return true;
}

/** The labels the API server puts on every namespace (kubernetes.io/metadata.name, GA in 1.22). */
export function namespaceLabels(name: string): Record<string, string> {
  return { 'kubernetes.io/metadata.name': name };
}

export interface WebhookRule {
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  operations: string[];
  scope?: string;
}

export interface Webhook {
  name: string;
  clientConfig: { url?: string; service?: { name: string; namespace: string; port: number; path?: string }; caBundle?: string };
  admissionReviewVersions: string[];
  sideEffects: string;
  failurePolicy?: string;
  matchPolicy?: string;
  timeoutSeconds?: number;
  reinvocationPolicy?: string;
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  rules: WebhookRule[];
}

export interface WebhookConfiguration extends KubeManifest {
  webhooks: Webhook[];
}

/** The path the API server will call: the service path or the path of the URL. */
export function webhookPath(webhook: Webhook): string {
  const { url, service } = webhook.clientConfig;
  if (url) return new URL(url).pathname;
  return service?.path ?? '/';
}

/** True when the webhook's rules send `operation` on `group/resource` to it. */
export function covers(webhook: Webhook, group: string, resource: string, operation: string): boolean {
  return webhook.rules.some(
    (rule) =>
      (rule.apiGroups.includes(group) || rule.apiGroups.includes('*')) &&
      (rule.resources.includes(resource) || rule.resources.includes('*')) &&
      (rule.operations.includes(operation) || rule.operations.includes('*')),
  );
}

/** Every kind the validating webhooks must review, as group/resource. */
export const POD_BEARING_RESOURCES: readonly [string, string][] = [
  ['', 'pods'],
  ['', 'replicationcontrollers'],
  ['', 'podtemplates'],
  ['apps', 'deployments'],
  ['apps', 'statefulsets'],
  ['apps', 'daemonsets'],
  ['apps', 'replicasets'],
  ['batch', 'jobs'],
  ['batch', 'cronjobs'],
];
