import type { AdmissionSettings } from '../../src/admission/handler.js';
import { decodeAdmissionReview, type AdmissionRequest } from '../../src/admission/review.js';
import { parseVersion } from '../../src/model/version.js';
import { defaultPolicy, parsePolicy, type Policy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { admissionReview } from '../server/support.js';

/** The default policy, Kubernetes 1.35 on the API server and every kubelet, enforce mode. */
export function settings(overrides: Partial<AdmissionSettings> = {}): AdmissionSettings {
  return { policy: defaultPolicy(ALL_RULES), versions: versionsOf('1.35'), mode: 'enforce', ...overrides };
}

export function versionsOf(version: string): AdmissionSettings['versions'] {
  const parsed = parseVersion(version)!;
  return { kubernetesVersion: parsed, minKubeletVersion: parsed };
}

export function policyOf(yaml: string): Policy {
  return parsePolicy(yaml, 'policy.yaml', ALL_RULES);
}

/** The request of an AdmissionReview for `object`, as the server decodes it. */
export function requestFor(object: unknown, options: Parameters<typeof admissionReview>[1] = {}): AdmissionRequest {
  return decodeAdmissionReview(admissionReview(object, options)).request;
}

export const rulesNamed = (...ids: string[]) => ALL_RULES.filter((rule) => ids.includes(rule.id));
