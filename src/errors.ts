/**
 * The one catalogue of coded errors. Codes are never reused; messages name their subject
 * (file, line, key, request uid) so the reader knows what to change.
 */
export type ErrorCode =
  | 'PODPATTERNS_ERR_POLICY_SYNTAX'
  | 'PODPATTERNS_ERR_POLICY_INVALID'
  | 'PODPATTERNS_ERR_POLICY_READ'
  | 'PODPATTERNS_ERR_INPUT_READ'
  | 'PODPATTERNS_ERR_INPUT_SYNTAX'
  | 'PODPATTERNS_ERR_TEST_READ'
  | 'PODPATTERNS_ERR_TEST_SYNTAX'
  | 'PODPATTERNS_ERR_TEST_INVALID'
  | 'PODPATTERNS_ERR_USAGE'
  | 'PODPATTERNS_ERR_TLS'
  | 'PODPATTERNS_ERR_CLUSTER'
  | 'PODPATTERNS_ERR_REVIEW_INVALID'
  | 'PODPATTERNS_ERR_WORKER';

export class PodpatternsError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PodpatternsError';
    this.code = code;
  }
}

/** The message of anything thrown, without losing it to `JSON.stringify` of an Error. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
