import jsonPatch from 'fast-json-patch';
import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { EvaluationContext } from '../../src/engine/types.js';
import { asArray, asString, isObject, type JsonObject, type KubeObject, type PodSpec } from '../../src/model/kube.js';
import { atLeast, NEWEST_KNOWN_VERSION, parseVersion, type KubeVersion } from '../../src/model/version.js';
import type { MigrationPlan, MigrationOptions } from '../../src/migration/index.js';
import type { MigrationSettings } from '../../src/policy/policy.js';
import { realWorldCorpus, seedArticles } from '../support/corpus.js';

export const REAL_WORLD = realWorldCorpus.url;
export const SEEDS = seedArticles.url;

export const APPLY: MigrationSettings = { mode: 'apply', cronJobs: false, pods: false };

export function version(text: string): KubeVersion {
  const parsed = parseVersion(text);
  if (!parsed) throw new Error(`bad version in test: ${text}`);
  return parsed;
}

export function context(apiServer = '1.35', oldestKubelet = apiServer): EvaluationContext {
  return { kubernetesVersion: version(apiServer), minKubeletVersion: version(oldestKubelet) };
}

export function options(overrides: Partial<Omit<MigrationOptions, 'settings'>> & { settings?: Partial<MigrationSettings> } = {}): MigrationOptions {
  return { ...overrides, context: overrides.context ?? context(), settings: { ...APPLY, ...overrides.settings } };
}

/** Parses YAML into objects; a broken fixture fails loudly. */
export function objectsIn(text: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`fixture YAML: ${document.errors[0]!.message}`);
    const object: unknown = document.toJS();
    return isObject(object) ? [object as KubeObject] : [];
  });
}

export function one(text: string): KubeObject {
  const [object] = objectsIn(text);
  if (!object) throw new Error('fixture has no object');
  return object;
}

/** Validates the patch against the object (fast-json-patch) and applies it to a copy. */
export function applyPlan(object: unknown, plan: MigrationPlan): KubeObject {
  const copy = structuredClone(object);
  const error = jsonPatch.validate(plan.patch, copy);
  if (error) throw error;
  return jsonPatch.applyPatch(copy, plan.patch, true, true).newDocument as KubeObject;
}

export function podSpecOf(object: KubeObject): PodSpec {
  const kind = object.kind;
  const path = kind === 'Pod' ? ['spec'] : kind === 'CronJob' ? ['spec', 'jobTemplate', 'spec', 'template', 'spec'] : ['spec', 'template', 'spec'];
  const spec = path.reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), object);
  if (!isObject(spec)) throw new Error(`no pod spec in ${kind}`);
  return spec as PodSpec;
}

export function names(list: unknown): string[] {
  return asArray(list).filter(isObject).map((container) => asString(container.name) ?? '?');
}

export function container(spec: PodSpec, name: string): JsonObject {
  const found = [...asArray(spec.initContainers), ...asArray(spec.containers)].filter(isObject).find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

/**
 * What the API server would reject in a pod spec, for the rules the migration can affect (a test oracle written
 * from pkg/apis/core/validation: validateInitContainers, validateContainers, probe validation).
 */
export function podSpecViolations(spec: PodSpec, apiServer: KubeVersion = NEWEST_KNOWN_VERSION): string[] {
  const problems: string[] = [];
  const init = asArray(spec.initContainers).filter(isObject);
  const regular = asArray(spec.containers).filter(isObject);
  if (regular.length === 0) problems.push('containers is empty');
  const all = [...init, ...regular].map((c) => asString(c.name) ?? '');
  all.forEach((name, index) => {
    if (all.indexOf(name) !== index) problems.push(`duplicate container name ${name}`);
  });
  const probesValid = (c: JsonObject, where: string): void => {
    for (const probe of ['livenessProbe', 'startupProbe']) {
      const p = c[probe];
      if (isObject(p) && p.successThreshold !== undefined && p.successThreshold !== 1) problems.push(`${where}.${probe}.successThreshold must be 1`);
    }
    if (isObject(c.readinessProbe) && c.readinessProbe.terminationGracePeriodSeconds !== undefined) {
      problems.push(`${where}.readinessProbe.terminationGracePeriodSeconds must not be set`);
    }
  };
  for (const c of init) {
    const where = `initContainers[${String(c.name)}]`;
    if (c.restartPolicy !== undefined && c.restartPolicy !== 'Always') problems.push(`${where}.restartPolicy must be Always`);
    if (c.restartPolicy === 'Always') {
      probesValid(c, where);
      if (c.restartPolicyRules !== undefined) problems.push(`${where}.restartPolicyRules needs RestartAllContainersOnContainerExits`);
    } else {
      for (const field of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe']) {
        if (c[field] !== undefined) problems.push(`${where}.${field} needs restartPolicy: Always`);
      }
    }
    if (c.resizePolicy !== undefined && !atLeast(apiServer, 1, 33)) problems.push(`${where}.resizePolicy needs 1.33`);
  }
  for (const c of regular) {
    probesValid(c, `containers[${String(c.name)}]`);
    if (c.restartPolicy !== undefined && !atLeast(apiServer, 1, 35)) problems.push(`containers[${String(c.name)}].restartPolicy needs 1.35`);
  }
  return problems;
}

/** The classic sidecars INDEX.md names in the corpus's Jobs and CronJobs; every other one must stay as it is. */
export const EXPECTED_SIDECARS: Readonly<Record<string, string[]>> = {
  'istio-injected-classic-sidecar.yaml Job/pi': ['istio-proxy'],
  'istio-injected-classic-sidecar.yaml CronJob/hellocron': ['istio-proxy'],
  'k8s-website-classic-multicontainer.yaml Job/myjob': ['logshipper'],
};

export interface RealWorldObject {
  file: string;
  object: KubeObject;
}

/** The manifest files of the real-world corpus, sorted; none when it is absent (the tests that read it are skipped then). */
export function realWorldFiles(): string[] {
  if (!realWorldCorpus.available) return [];
  return readdirSync(REAL_WORLD).filter((file) => file.endsWith('.yaml')).sort();
}

export function realWorldObjects(kinds: readonly string[]): RealWorldObject[] {
  return realWorldFiles()
    .flatMap((file) => objectsIn(readFileSync(new URL(file, REAL_WORLD), 'utf8')).map((object) => ({ file, object })))
    .filter(({ object }) => kinds.includes(String(object.kind)));
}
