import type { Operation } from '../engine/types.js';
import { isObject, type JsonObject } from '../model/kube.js';
import { PodpatternsError } from '../errors.js';

/** admission.k8s.io/v1 is what API servers send; v1beta1 is still accepted from webhooks that list it. */
export const ADMISSION_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type AdmissionApiVersion = (typeof ADMISSION_API_VERSIONS)[number];

const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** Names, namespaces, kinds and uids are DNS subdomains or UUIDs in Kubernetes; longer ones are not from an API server. */
const MAX_NAME_LENGTH = 253;

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** The fields of an AdmissionRequest podpatterns reads, checked for type; the raw objects are kept as sent. */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  operation: Operation;
  namespace?: string;
  name?: string;
  /** `status`, `scale`, … for a request on a subresource. */
  subResource?: string;
  /** The object as sent (null for DELETE and CONNECT). */
  object: JsonObject | null;
  /** The object before an UPDATE or DELETE. */
  oldObject: JsonObject | null;
  /** The API server will not persist anything: the webhook must have no side effects. */
  dryRun: boolean;
}

export interface AdmissionReviewRequest {
  apiVersion: AdmissionApiVersion;
  request: AdmissionRequest;
}

/** An AdmissionReview that cannot be answered; the message names the field (and the uid once known). */
export class InvalidReviewError extends PodpatternsError {
  readonly uid: string | undefined;

  constructor(message: string, uid?: string) {
    super('PODPATTERNS_ERR_REVIEW_INVALID', uid === undefined ? message : `AdmissionReview uid ${JSON.stringify(uid)}: ${message}`);
    this.name = 'InvalidReviewError';
    this.uid = uid;
  }
}

/** Checks a parsed request body and returns the request it carries; throws InvalidReviewError naming the problem. */
export function decodeAdmissionReview(body: unknown): AdmissionReviewRequest {
  if (!isObject(body)) throw new InvalidReviewError(`the body must be a JSON object (an AdmissionReview), not ${describe(body)}`);
  const { apiVersion, kind, request } = body;
  const uid = isObject(request) && typeof request.uid === 'string' && request.uid !== '' && request.uid.length <= MAX_NAME_LENGTH ? request.uid : undefined;
  if (!ADMISSION_API_VERSIONS.includes(apiVersion as AdmissionApiVersion)) {
    throw new InvalidReviewError(`apiVersion must be ${ADMISSION_API_VERSIONS.join(' or ')}, not ${describe(apiVersion)}`, uid);
  }
  if (kind !== 'AdmissionReview') throw new InvalidReviewError(`kind must be AdmissionReview, not ${describe(kind)}`, uid);
  if (request === undefined || request === null) throw new InvalidReviewError('request is missing: an AdmissionReview sent for admission carries one');
  if (!isObject(request)) throw new InvalidReviewError(`request must be an object, not ${describe(request)}`);
  if (uid === undefined) throw new InvalidReviewError(`request.uid must be a non-empty string of at most ${MAX_NAME_LENGTH} characters, not ${describe(request.uid)}`);
  const fail = (field: string, problem: string): never => {
    throw new InvalidReviewError(`request.${field} ${problem}`, uid);
  };

  const operation = request.operation;
  if (!OPERATIONS.includes(operation as Operation)) fail('operation', `must be one of ${OPERATIONS.join(', ')}, not ${describe(operation)}`);
  return {
    apiVersion: apiVersion as AdmissionApiVersion,
    request: {
      uid,
      kind: groupVersionKind(request.kind, fail),
      operation: operation as Operation,
      ...optionalString(request, 'namespace', fail),
      ...optionalString(request, 'name', fail),
      ...optionalString(request, 'subResource', fail),
      object: objectOrNull(request, 'object', fail),
      oldObject: objectOrNull(request, 'oldObject', fail),
      dryRun: dryRun(request.dryRun, fail),
    },
  };
}

type Fail = (field: string, problem: string) => never;

function groupVersionKind(value: unknown, fail: Fail): GroupVersionKind {
  if (!isObject(value)) return fail('kind', `must be an object with group, version and kind, not ${describe(value)}`);
  if (typeof value.kind !== 'string' || value.kind === '' || value.kind.length > MAX_NAME_LENGTH) {
    return fail('kind.kind', `must be a non-empty string of at most ${MAX_NAME_LENGTH} characters, not ${describe(value.kind)}`);
  }
  for (const key of ['group', 'version'] as const) {
    const part = value[key];
    if (part !== undefined && (typeof part !== 'string' || part.length > MAX_NAME_LENGTH)) fail(`kind.${key}`, `must be a string of at most ${MAX_NAME_LENGTH} characters, not ${describe(part)}`);
  }
  return { group: (value.group as string | undefined) ?? '', version: (value.version as string | undefined) ?? '', kind: value.kind };
}

function optionalString(request: JsonObject, field: 'namespace' | 'name' | 'subResource', fail: Fail): Partial<Record<typeof field, string>> {
  const value = request[field];
  if (value === undefined || value === null || value === '') return {};
  if (typeof value !== 'string' || value.length > MAX_NAME_LENGTH) return fail(field, `must be a string of at most ${MAX_NAME_LENGTH} characters, not ${describe(value)}`);
  return { [field]: value };
}

function objectOrNull(request: JsonObject, field: 'object' | 'oldObject', fail: Fail): JsonObject | null {
  const value = request[field];
  if (value === undefined || value === null) return null;
  if (!isObject(value)) return fail(field, `must be a Kubernetes object, not ${describe(value)}`);
  return value;
}

function dryRun(value: unknown, fail: Fail): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') return fail('dryRun', `must be true or false, not ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}
