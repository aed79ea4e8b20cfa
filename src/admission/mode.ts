import { InvalidReviewError } from './review.js';

/**
 * How a webhook URL acts on findings (`/validate/<mode>`, or `?mode=` by hand): `enforce` denies on deny findings, `warn` turns them into
 * warnings, `audit` is a dry run that always allows and only records (audit annotations, logs, metrics).
 */
export type AdmissionMode = 'enforce' | 'warn' | 'audit';
export const ADMISSION_MODES: readonly AdmissionMode[] = ['enforce', 'warn', 'audit'];
export const DEFAULT_MODE: AdmissionMode = 'enforce';

/** The mode a URL's query asks for; throws InvalidReviewError naming an unknown one. */
export function parseMode(value: unknown): AdmissionMode {
  if (value === undefined || value === '') return DEFAULT_MODE;
  if (ADMISSION_MODES.includes(value as AdmissionMode)) return value as AdmissionMode;
  const given = Array.isArray(value) ? value.join(',') : String(value);
  throw new InvalidReviewError(`unknown mode ${JSON.stringify(given.slice(0, 100))} in the webhook URL: use /validate/${ADMISSION_MODES.join(', /validate/')} (or ?mode=)`);
}
