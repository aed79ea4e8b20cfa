import { errorMessage } from '../errors.js';
import type { Policy } from '../policy/policy.js';
import { runsOnMutate } from '../engine/scope.js';
import { validateRequest, EVALUATION_ERROR_ANNOTATION, type AdmissionResult, type AdmissionSettings } from './admit.js';
import {
  allowed,
  denied,
  patchResponse,
  withAuditAnnotations,
  withWarnings,
  type AdmissionResponse,
  type JsonPatchOperation,
} from './response.js';
import type { AdmissionMode } from './mode.js';
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
 * Called only for requests with an object that passed the dropped-field rules; a throw admits the request
 * unchanged with a warning (fail open).
 */
export type MutationStep = (input: MutationInput) => MutationResult | Promise<MutationResult>;

export interface MutationSettings extends AdmissionSettings {
  mutation?: MutationStep;
}

/** The annotation that says what a mutation would have changed, in audit mode. */
export const MUTATION_ANNOTATION = 'mutation';

/**
 * The `/mutate` webhook: the rules on fields dropped before validation (those that declare `droppedFields`: the
 * registry strategies drop them after mutating admission and before validating admission, see
 * pkg/registry/core/pod/strategy.go and pkg/api/pod/util.go dropDisabledFields), then the mutation step, if any.
 */
export async function mutateRequest(request: AdmissionRequest, settings: MutationSettings): Promise<AdmissionResult> {
  const rules = settings.rules.filter(runsOnMutate);
  const checked = validateRequest(request, { ...settings, rules });
  const { mutation } = settings;
  if (!checked.response.allowed || !mutation || checked.skipped !== undefined || checked.failure !== undefined) return checked;

  let result: MutationResult;
  try {
    result = await mutation({ request, policy: settings.policy, versions: settings.versions, mode: settings.mode });
  } catch (error) {
    const failure = `mutation failed: ${errorMessage(error)}`;
    const notice = settings.mode === 'audit' ? [] : [`podpatterns could not apply its changes and admitted this object unchanged: ${failure}`];
    const response = withAuditAnnotations(withWarnings(checked.response, ...notice), { [EVALUATION_ERROR_ANNOTATION]: failure });
    return { ...checked, response, failure };
  }
  const response = combine(checked.response, result, settings.mode);
  const wouldChange = result.dryRun === true || (result.patch ?? []).length > 0;
  const outcome = response.patch !== undefined ? 'patched' : wouldChange ? 'dry-run' : undefined;
  return { ...checked, response, ...(outcome && { mutation: outcome }) };
}

function combine(checked: AdmissionResponse, result: MutationResult, mode: AdmissionMode): AdmissionResponse {
  const patch = result.patch ?? [];
  const rejects = result.allowed === false;
  const message = result.message ?? 'rejected by the podpatterns mutation';
  let response: AdmissionResponse;
  const warnings = [...(checked.warnings ?? [])];
  const annotations: Record<string, string> = { ...checked.auditAnnotations, ...result.auditAnnotations };
  if (mode === 'audit') {
    // A dry run: nothing changes and nothing is rejected; the annotation says what would have happened.
    response = allowed();
    const would = [rejects ? `would reject: ${message}` : '', patch.length > 0 ? `would apply ${patch.length} JSON Patch operations: ${JSON.stringify(patch)}` : '']
      .filter(Boolean)
      .join('; ');
    if (would !== '') annotations[MUTATION_ANNOTATION] = would;
  } else {
    warnings.push(...(result.warnings ?? []));
    if (rejects && mode === 'enforce') response = denied(message);
    else {
      if (rejects) warnings.push(message);
      response = patchResponse(patch);
    }
  }
  return withAuditAnnotations(withWarnings(response, ...warnings), annotations);
}
