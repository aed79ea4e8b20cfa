import jsonPatch from 'fast-json-patch';
import type { Operation as JsonPatchOperation } from 'fast-json-patch';
import { errorMessage } from '../errors.js';
import { boundedAnnotations, boundedWarnings, truncate, MAX_STATUS_MESSAGE_LENGTH } from './limits.js';
import type { AdmissionApiVersion } from './review.js';

export type { JsonPatchOperation };

/** metav1.Status as an AdmissionResponse carries it. */
export interface AdmissionStatus {
  status: 'Success' | 'Failure';
  code: number;
  reason?: string;
  message: string;
}

/** The body of an AdmissionResponse, without the uid (added by reviewResponse so no path can forget it). */
export interface AdmissionResponse {
  allowed: boolean;
  status?: AdmissionStatus;
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
  /** Base64 of a JSON Patch; only with patchType. */
  patch?: string;
  patchType?: 'JSONPatch';
}

export interface AdmissionReviewResponse {
  apiVersion: AdmissionApiVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponse & { uid: string };
}

export function allowed(message?: string): AdmissionResponse {
  return message === undefined ? { allowed: true } : { allowed: true, status: { status: 'Success', code: 200, message } };
}

/** Rejects the request; the API server shows `message` to the user after `admission webhook "<name>" denied the request: `. */
export function denied(message: string, code = 403): AdmissionResponse {
  return {
    allowed: false,
    status: { status: 'Failure', code, reason: code === 403 ? 'Forbidden' : 'BadRequest', message: truncate(message, MAX_STATUS_MESSAGE_LENGTH) },
  };
}

/** Rejects the request because it could not be handled (controller-runtime's Errored). */
export function errored(code: number, error: unknown): AdmissionResponse {
  return { allowed: false, status: { status: 'Failure', code, message: truncate(errorMessage(error), MAX_STATUS_MESSAGE_LENGTH) } };
}

/**
 * Adds warnings (kubectl prints each as `Warning: <text>`), made to fit what the API server passes on. Lists are
 * taken whole rather than spread into arguments: a pod with 100,000 findings must not overflow the call stack.
 */
export function withWarnings(response: AdmissionResponse, ...warnings: Array<string | readonly string[]>): AdmissionResponse {
  const all = boundedWarnings([...(response.warnings ?? []), ...warnings.flat()]);
  if (all.length === 0) return response;
  return { ...response, warnings: all };
}

/** Adds audit annotations; keys are bare (the API server prefixes the webhook's name) and made acceptable. */
export function withAuditAnnotations(response: AdmissionResponse, annotations: Readonly<Record<string, string>>): AdmissionResponse {
  const all = boundedAnnotations({ ...response.auditAnnotations, ...annotations });
  if (Object.keys(all).length === 0) return response;
  return { ...response, auditAnnotations: all };
}

/** Allows the request with a JSON Patch; an empty patch is no patch (patchType is only sent with one). */
export function patchResponse(operations: readonly JsonPatchOperation[]): AdmissionResponse {
  if (operations.length === 0) return allowed();
  return { allowed: true, patch: Buffer.from(JSON.stringify(operations)).toString('base64'), patchType: 'JSONPatch' };
}

/**
 * Allows the request with the patch that turns the object as the API server sent it into `mutated`. Computed
 * against the raw request object, never a round trip through typed models, which would drop unknown fields
 * (kubernetes-sigs/kubebuilder#510).
 */
export function patchResponseFromRaw(original: unknown, mutated: unknown): AdmissionResponse {
  return patchResponse(jsonPatch.compare(original as object, mutated as object));
}

/** The AdmissionReview to send back: same apiVersion as the request, the request's uid echoed. */
export function reviewResponse(apiVersion: AdmissionApiVersion, uid: string, response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion, kind: 'AdmissionReview', response: { uid, ...response } };
}
