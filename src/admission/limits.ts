/**
 * What the API server does with a webhook's warnings, audit annotations and denial message, and the bounds
 * podpatterns keeps so none of it is dropped or mangled on the way to the user or the audit log.
 */

/**
 * admission/v1 AdmissionResponse.warnings: "Limit warnings to 120 characters if possible". The API server's
 * warning recorder (k8s.io/apiserver pkg/endpoints/filters/warning.go) truncates every warning to 256 runes
 * once a request's warnings pass 4096 runes in total.
 */
export const MAX_WARNING_LENGTH = 120;
/** 30 × 120 runes stays under the 4096-rune total at which the API server starts truncating. */
export const MAX_WARNINGS = 30;

/**
 * The API server audits a webhook's annotation as `<webhook name>/<key>` and silently drops a key that is not
 * a qualified name (k8s.io/apiserver pkg/admission/attributes.go checkKeyFormat → IsQualifiedName): the part
 * after the slash must be at most 63 characters of [-A-Za-z0-9_.], starting and ending alphanumeric.
 */
export const MAX_ANNOTATION_KEY_LENGTH = 63;
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/**
 * Webhook annotation values have no limit of their own; ValidatingAdmissionPolicy caps its values at 10 KiB
 * (pkg/admission/plugin/policy/validating/dispatcher.go maxAuditAnnotationValueLength), and an audit event over
 * --audit-log-truncate-max-event-size (100 KiB by default) loses its objects and then is dropped whole
 * (plugin/pkg/audit/truncate). So values keep the policy bound and all of them together stay well below.
 */
export const MAX_ANNOTATION_VALUE_LENGTH = 10 * 1024;
export const MAX_ANNOTATIONS_TOTAL_LENGTH = 32 * 1024;

/** The denial message: kubectl prints it whole after `admission webhook "<name>" denied the request: `. */
export const MAX_STATUS_MESSAGE_LENGTH = 2048;

const CONTROL_CHARACTERS = /\p{Cc}+/gu;

/**
 * A warning the API server accepts: no control characters (net.NewWarningHeader in k8s.io/apimachinery
 * rejects them, and the warning is then lost) and at most MAX_WARNING_LENGTH characters.
 */
export function warningText(text: string): string {
  return truncate(text.replace(CONTROL_CHARACTERS, ' ').trim(), MAX_WARNING_LENGTH);
}

/**
 * The warnings to send: each made acceptable, duplicates dropped (the API server drops them too), the count
 * capped. Warnings past the cap are only counted, not read: a pod with 100,000 findings must not cost a rewrite
 * (or a hash) of each, so the count of those not shown may include repeats.
 */
export function boundedWarnings(warnings: readonly string[]): string[] {
  const unique = new Set<string>();
  const seen = new Set<string>();
  let index = 0;
  for (; index < warnings.length && unique.size <= MAX_WARNINGS; index++) {
    // Many findings can share one text: hashing it again is cheaper than cleaning it up again.
    const warning = warnings[index]!;
    if (seen.has(warning)) continue;
    seen.add(warning);
    const text = warningText(warning);
    if (text !== '') unique.add(text);
  }
  if (unique.size <= MAX_WARNINGS) return [...unique];
  const kept = [...unique].slice(0, MAX_WARNINGS - 1);
  const notShown = unique.size - kept.length + (warnings.length - index);
  return [...kept, warningText(`podpatterns: ${notShown} more warnings not shown (see the audit annotations or the webhook's logs)`)];
}

/** The key as the API server will accept it after `<webhook name>/`, or undefined when nothing usable is left. */
export function annotationKey(key: string): string | undefined {
  if (QUALIFIED_NAME.test(key) && key.length <= MAX_ANNOTATION_KEY_LENGTH) return key;
  const cleaned = key
    .replace(/[^-A-Za-z0-9_.]+/g, '-')
    .slice(0, MAX_ANNOTATION_KEY_LENGTH)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned === '' ? undefined : cleaned;
}

/** Annotations with acceptable keys, values within bounds and the total within MAX_ANNOTATIONS_TOTAL_LENGTH. */
export function boundedAnnotations(annotations: Readonly<Record<string, string>>): Record<string, string> {
  const result: Record<string, string> = {};
  let total = 0;
  for (const [rawKey, rawValue] of Object.entries(annotations)) {
    const key = annotationKey(rawKey);
    if (key === undefined || key in result) continue;
    const room = Math.min(MAX_ANNOTATION_VALUE_LENGTH, MAX_ANNOTATIONS_TOTAL_LENGTH - total - key.length);
    if (room < 16) break;
    const value = truncate(rawValue, room);
    result[key] = value;
    total += key.length + value.length;
  }
  return result;
}

/**
 * Cuts text to at most `length` characters (code points, as the API server counts runes), marking the cut.
 * Reads no further than the cut: the text may be megabytes.
 */
export function truncate(text: string, length: number): string {
  if (text.length <= length) return text;
  let units = 0;
  let cut = 0;
  for (let points = 0; points < length; points++) {
    if (units >= text.length) return text;
    if (points === length - 1) cut = units;
    units += text.codePointAt(units)! > 0xffff ? 2 : 1;
  }
  if (units >= text.length) return text;
  return `${text.slice(0, length > 0 ? cut : 0)}…`;
}
