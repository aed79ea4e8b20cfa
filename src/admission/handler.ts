import jsonPatch from 'fast-json-patch';
import type { EvaluationContext, ExemptedFinding, RuleError } from '../engine/types.js';
import type { JsonObject } from '../model/kube.js';
import type { Policy } from '../policy/policy.js';
import type { Decision } from './decision.js';
import type { AdmissionMode } from './mode.js';
import { allowed, patchResponse, withAuditAnnotations, withWarnings, type AdmissionResponse, type JsonPatchOperation } from './response.js';
import type { AdmissionRequest } from './review.js';

/** What every handler reads besides the request: the policy in force, the cluster's versions and the webhook URL's mode. */
export interface AdmissionSettings {
  policy: Policy;
  versions: Pick<EvaluationContext, 'kubernetesVersion' | 'minKubeletVersion'>;
  mode: AdmissionMode;
}

/** The answer to one request and what led to it, for logs and metrics. */
/** What a failure left undone: the object's checks, or the change a mutation would have made. */
export type Undone = 'checks' | 'change';

export interface AdmissionResult {
  response: AdmissionResponse;
  /** The JSON Patch the response carries, as operations, for the handlers that run after this one. */
  patch?: readonly JsonPatchOperation[];
  decision: Decision;
  /** Rules that threw on the object (the request was then allowed: fail open). */
  ruleErrors: RuleError[];
  /** Findings an exemption suppressed; each is shown as a warning and an audit annotation. */
  exempted: ExemptedFinding[];
  /** Why the request was allowed without a verdict, or without its change: a failure (fail open). */
  failure?: string;
  /** What the failure left undone: the object's checks, or only the change a mutation would have made. */
  undone?: Undone;
  /** Why nothing was evaluated: no object (DELETE, CONNECT) or a subresource. */
  skipped?: 'no-object' | 'subresource';
  /** What the `/mutate` step did to the object: patched it, or found a change its dry run only reports. */
  mutation?: 'patched' | 'dry-run';
}

/**
 * Answers one admission request (controller-runtime's admission.Handler). Rules, the migration and the
 * wrappers around them (fail open, metrics, logs) are all handlers, composed with `sequence` and `objectsOnly`.
 */
export type AdmissionHandler = (request: AdmissionRequest, settings: AdmissionSettings) => AdmissionResult | Promise<AdmissionResult>;

/**
 * `next` applied to a handler's answer: at once when the answer is ready (as the rules' answer always is), once it
 * settles when it is a promise. The wrappers around every request (fail open, metrics, logs) go through here, so
 * the common synchronous answer costs no promise and no microtask per wrapper.
 */
export function afterAnswer<T>(answer: AdmissionResult | Promise<AdmissionResult>, next: (result: AdmissionResult) => T): T | Promise<T> {
  return answer instanceof Promise ? answer.then(next) : next(answer);
}

export const NO_FINDINGS: Readonly<Decision> = Object.freeze({ allowed: true, denials: [], warnings: [], ratcheted: [], findings: [] });

/** An allowed answer with nothing to say. */
export function allowedResult(skipped?: AdmissionResult['skipped']): AdmissionResult {
  return { response: allowed(), decision: { ...NO_FINDINGS }, ruleErrors: [], exempted: [], ...(skipped && { skipped }) };
}

/**
 * Skips what no rule and no mutation can judge: a subresource (a status, scale or binding update cannot change the
 * pod spec) and a request without an object (DELETE, CONNECT).
 */
export function objectsOnly(handler: AdmissionHandler): AdmissionHandler {
  return (request, settings) => {
    if (request.subResource !== undefined) return allowedResult('subresource');
    if (request.object === null) return allowedResult('no-object');
    return handler(request, settings);
  };
}

/**
 * Runs handlers one after another, as the API server runs mutating admission: each sees the object as the ones
 * before it left it (their patches applied), so what the last one judges is what will be stored. The first
 * denial is the answer, as controller-runtime's MultiMutatingHandler has it; otherwise the patches follow one
 * another and warnings, audit annotations and findings are gathered.
 */
export function sequence(...handlers: readonly AdmissionHandler[]): AdmissionHandler {
  return (request, settings) => {
    // Handler `index` on what the ones before it left; synchronous as long as every handler answers at once.
    const from = (index: number, current: AdmissionRequest, before: AdmissionResult | undefined): AdmissionResult | Promise<AdmissionResult> => {
      if (index === handlers.length) return before ?? allowedResult();
      const then = (next: AdmissionResult) => {
        const result = before === undefined ? next : joined(before, next);
        if (!next.response.allowed) return result;
        if (next.patch === undefined || next.patch.length === 0 || current.object === null) return from(index + 1, current, result);
        const object = jsonPatch.applyPatch(current.object, next.patch as JsonPatchOperation[], false, false).newDocument as JsonObject;
        return from(index + 1, { ...current, object }, result);
      };
      const answer = handlers[index]!(current, settings);
      return answer instanceof Promise ? answer.then(then) : then(answer);
    };
    return from(0, request, undefined);
  };
}

/** `first` then `second`: a denial by the second is the answer (nothing of the first is applied), findings add up. */
function joined(first: AdmissionResult, second: AdmissionResult): AdmissionResult {
  const failure = [first.failure, second.failure].filter((text) => text !== undefined).join('; ');
  const decision: Decision = {
    allowed: first.decision.allowed && second.decision.allowed,
    denials: [...first.decision.denials, ...second.decision.denials],
    warnings: [...first.decision.warnings, ...second.decision.warnings],
    ratcheted: [...first.decision.ratcheted, ...second.decision.ratcheted],
    findings: [...first.decision.findings, ...second.decision.findings],
  };
  const result: AdmissionResult = {
    response: second.response,
    decision,
    ruleErrors: [...first.ruleErrors, ...second.ruleErrors],
    exempted: [...first.exempted, ...second.exempted],
    ...(failure !== '' && { failure }),
    ...((first.undone ?? second.undone) !== undefined && { undone: first.undone === 'checks' || second.undone === 'checks' ? 'checks' : 'change' }),
  };
  // A denied object is not stored: nothing of the first was applied, nor migrated.
  if (!second.response.allowed) return result;
  const patch = [...(first.patch ?? []), ...(second.patch ?? [])];
  const { warnings = [], auditAnnotations = {} } = second.response;
  const response = withAuditAnnotations(withWarnings(withPatch(first.response, patch), warnings), auditAnnotations);
  const mutation = first.mutation ?? second.mutation;
  return { ...result, response, ...(patch.length > 0 && { patch }), ...(mutation && { mutation }) };
}

/** The response with `operations` as its patch instead of the one it had. */
function withPatch(response: AdmissionResponse, operations: readonly JsonPatchOperation[]): AdmissionResponse {
  const { patch: _patch, patchType: _patchType, ...rest } = response;
  const patched = patchResponse(operations);
  return { ...rest, ...(patched.patch !== undefined && { patch: patched.patch, patchType: patched.patchType }) };
}
