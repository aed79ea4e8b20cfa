import { parseAllDocuments } from 'yaml';
import { evaluate } from '../../src/engine/engine.js';
import type { EvaluationContext, Finding } from '../../src/engine/types.js';
import type { KubeObject } from '../../src/model/kube.js';
import { parseVersion, NEWEST_KNOWN_VERSION, type KubeVersion } from '../../src/model/version.js';
import { defaultPolicy, type Policy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';

export interface EvaluateOptions {
  kubernetesVersion?: string;
  minKubeletVersion?: string;
  policy?: Policy;
  related?: KubeObject[];
  oldObject?: KubeObject;
  operation?: EvaluationContext['operation'];
}

export function version(text: string | undefined): KubeVersion {
  if (text === undefined) return NEWEST_KNOWN_VERSION;
  const parsed = parseVersion(text);
  if (!parsed) throw new Error(`bad version in test: ${text}`);
  return parsed;
}

export function contextFor(options: EvaluateOptions = {}): EvaluationContext {
  const kubernetesVersion = version(options.kubernetesVersion);
  return {
    kubernetesVersion,
    minKubeletVersion: options.minKubeletVersion ? version(options.minKubeletVersion) : kubernetesVersion,
    ...(options.operation && { operation: options.operation }),
    ...(options.oldObject && { oldObject: options.oldObject }),
    ...(options.related && { related: options.related }),
  };
}

/** Parses YAML (one or more documents) into objects; throws on a syntax error so a broken fixture is loud. */
export function objectsFromYaml(text: string): KubeObject[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`fixture YAML: ${doc.errors[0]!.message}`);
    return doc.toJS() as KubeObject;
  }).filter((object) => object !== null);
}

/**
 * Evaluates every document of a YAML text with the default policy, the other documents serving as
 * related objects (as the CLI does), and returns all findings.
 */
export function findingsFor(text: string, options: EvaluateOptions = {}): Finding[] {
  const objects = objectsFromYaml(text);
  const policy = options.policy ?? defaultPolicy(ALL_RULES);
  const context = contextFor({ ...options, related: options.related ?? objects });
  return objects.flatMap((object) => {
    const result = evaluate(object, context, policy, ALL_RULES);
    if (result.errors.length > 0) throw new Error(`rule error: ${JSON.stringify(result.errors)}`);
    return result.findings;
  });
}

/** Findings of one rule only. */
export function ruleFindings(rule: string, text: string, options: EvaluateOptions = {}): Finding[] {
  return findingsFor(text, options).filter((finding) => finding.rule === rule);
}
