import { errorMessage } from '../errors.js';
import { allowedResult, type AdmissionHandler, type AdmissionResult, type Undone } from './handler.js';
import type { AdmissionMode } from './mode.js';
import { allowed, withAuditAnnotations, withWarnings, type AdmissionResponse } from './response.js';

/** The audit annotation that records a fail-open admission. */
export const EVALUATION_ERROR_ANNOTATION = 'evaluation-error';

/** What a fail-open handler says happened, and what the failure is called in warnings, annotations and logs. */
export interface FailOpenWording {
  undone: Undone;
  /** Put before the error's message: `evaluation failed`, `mutation failed`. */
  failed: string;
}

export const EVALUATION_FAILED: FailOpenWording = { undone: 'checks', failed: 'evaluation failed' };
export const MUTATION_FAILED: FailOpenWording = { undone: 'change', failed: 'mutation failed' };
export const UNEXPECTED_ERROR: FailOpenWording = { undone: 'checks', failed: 'unexpected error' };

/** What happened to a request admitted although podpatterns could not do its part: the log line, and the notice's start. */
export function failOpenHeadline(undone: Undone): string {
  return undone === 'checks' ? 'podpatterns could not check this object and admitted it unchecked' : 'podpatterns could not apply its changes and admitted this object unchanged';
}

/** The warning users see when a request is admitted although podpatterns could not do its part. */
export function failOpenNotice(undone: Undone, failure: string): string {
  return `${failOpenHeadline(undone)}: ${failure}`;
}

/**
 * Fail open: a handler that throws admits the request, says why in a warning (not in audit mode, which users do
 * not see), an audit annotation, the logs and the metrics, and never takes the request or the server down.
 */
export function failOpen(handler: AdmissionHandler, wording: FailOpenWording): AdmissionHandler {
  return (request, settings) => {
    const admitted = (error: unknown): AdmissionResult => ({ ...allowedResult(), ...failedOpen(`${wording.failed}: ${errorMessage(error)}`, wording.undone, settings.mode) });
    try {
      const answer = handler(request, settings);
      return answer instanceof Promise ? answer.catch(admitted) : answer;
    } catch (error) {
      return admitted(error);
    }
  };
}

/**
 * The answer of a request admitted without a (full) verdict: the notice first, then what `partial` says (the
 * warnings and annotations of what could still be evaluated). `partial` never denies and never patches.
 */
export function failedOpen(failure: string, undone: Undone, mode: AdmissionMode, partial: AdmissionResponse = allowed()): Pick<AdmissionResult, 'response' | 'failure' | 'undone'> {
  // Audit mode is invisible to users: the failure is only in the annotation, the logs and the metrics.
  const notice = mode === 'audit' ? [] : [failOpenNotice(undone, failure)];
  const response = withAuditAnnotations(withWarnings(allowed(), notice, partial.warnings ?? []), {
    [EVALUATION_ERROR_ANNOTATION]: failure,
    ...partial.auditAnnotations,
  });
  return { response, failure, undone };
}
