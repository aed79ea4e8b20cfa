import type { Policy } from '../policy/policy.js';
import { allowedResult, type AdmissionHandler, type AdmissionSettings } from './handler.js';
import type { AdmissionMode } from './mode.js';
import { allowed, denied, patchResponse, withAuditAnnotations, withWarnings, type AdmissionResponse, type JsonPatchOperation } from './response.js';
import type { AdmissionRequest } from './review.js';

export interface MutationInput {
  request: AdmissionRequest;
  policy: Policy;
  versions: AdmissionSettings['versions'];
  mode: AdmissionMode;
}

/** What a mutation step decides for one request. Every field is optional: `{}` allows without a change. */
export interface MutationResult {
  /** false rejects the request (in enforce mode; a warning in warn mode, nothing in audit mode). */
  allowed?: boolean;
  /** Why the request is rejected, shown to the user. */
  message?: string;
  /** JSON Patch against `request.object` as sent (see patchResponseFromRaw). */
  patch?: readonly JsonPatchOperation[];
  warnings?: readonly string[];
  /** Bare keys, as for the rules' findings. */
  auditAnnotations?: Readonly<Record<string, string>>;
  /** The step found a change to make but its own settings say dry run: the audit annotations say what. */
  dryRun?: boolean;
}

/**
 * A change the `/mutate` webhook makes to an object (the classic → native sidecar migration plugs in here).
 * Called only for requests with an object; see mutationHandler for what the modes make of its result.
 */
export type MutationStep = (input: MutationInput) => MutationResult | Promise<MutationResult>;

/** The annotation that says what a mutation would have changed, in audit mode. */
export const MUTATION_ANNOTATION = 'mutation';

/**
 * A mutation step as a handler, under the mode: enforce applies its patch and its rejection, warn applies its
 * patch and turns a rejection into a warning, audit changes nothing and records what would have happened in an
 * audit annotation. A step that throws is left to `failOpen`.
 */
export function mutationHandler(step: MutationStep): AdmissionHandler {
  return async (request, { policy, versions, mode }) => {
    const result = await step({ request, policy, versions, mode });
    const response = responseOf(result, mode);
    const patch = mode === 'audit' ? [] : (result.patch ?? []);
    const wouldChange = result.dryRun === true || (result.patch ?? []).length > 0;
    const mutation = !response.allowed ? undefined : response.patch !== undefined ? 'patched' : wouldChange ? 'dry-run' : undefined;
    return { ...allowedResult(), response, ...(patch.length > 0 && { patch }), ...(mutation && { mutation }) };
  };
}

function responseOf(result: MutationResult, mode: AdmissionMode): AdmissionResponse {
  const patch = result.patch ?? [];
  const rejects = result.allowed === false;
  const message = result.message ?? 'rejected by the podpatterns mutation';
  const annotations: Record<string, string> = { ...result.auditAnnotations };
  if (mode === 'audit') {
    // A dry run: nothing changes and nothing is rejected; the annotation says what would have happened.
    const would = [rejects ? `would reject: ${message}` : '', patch.length > 0 ? `would apply ${patch.length} JSON Patch operations: ${JSON.stringify(patch)}` : '']
      .filter(Boolean)
      .join('; ');
    if (would !== '') annotations[MUTATION_ANNOTATION] = would;
    return withAuditAnnotations(allowed(), annotations);
  }
  const warnings = [...(result.warnings ?? [])];
  let response: AdmissionResponse;
  if (rejects && mode === 'enforce') response = denied(message);
  else {
    if (rejects) warnings.push(message);
    response = patchResponse(patch);
  }
  return withAuditAnnotations(withWarnings(response, warnings), annotations);
}
