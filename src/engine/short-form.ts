import type { Finding } from './types.js';

/** admission/v1 AdmissionResponse.warnings: "Limit warnings to 120 characters if possible". */
export const SHORT_FORM_LENGTH = 120;
/** A name is never shortened below this many characters (`abc…xyz`). */
const MIN_NAME_LENGTH = 7;
/** A single-quoted name: container, volume or object names are DNS names, so they hold no quote or space. */
const QUOTED_NAME = /'([^'\s]+)'/g;

export type ShortFormFinding = Pick<Finding, 'rule' | 'problem'> & { container?: string | undefined };

/** The command that prints a rule's full explanation, options and a fixed example. */
export function ruleDocCommand(rule: string): string {
  return `podpatterns rules ${rule}`;
}

/**
 * The short form of a finding, for `kubectl` warnings: one sentence of at most 120 characters naming the
 * container, the problem and where the fix is, e.g. "'metrics-proxy' shares port 8080/TCP with 'app': one
 * fails to bind (fix: podpatterns rules port-conflict)." Long names are shortened in the middle inside their
 * quotes rather than cutting the sentence. A pure function of rule id, container and problem.
 */
export function shortForm(finding: ShortFormFinding, options: { preExisting?: boolean } = {}): string {
  const pointer = ` (${options.preExisting ? 'pre-existing; ' : ''}fix: ${ruleDocCommand(finding.rule)}).`;
  return `${fitNames(problemLine(finding), SHORT_FORM_LENGTH - length(pointer))}${pointer}`;
}

/** The container and its problem, `'metrics-proxy' shares port 8080/TCP with 'app': one fails to bind`, for one-line reports. */
export function problemLine(finding: ShortFormFinding): string {
  return finding.container !== undefined ? `'${finding.container}' ${finding.problem}` : capitalize(finding.problem);
}

/**
 * Shortens the longest quoted names in the middle (`'argocd-a…ntroller'`), the longest first and evenly, until
 * the text fits in `max` characters. Should the names alone not be enough (never for the rules' own problems,
 * which the tests check with 63-character names), the text itself is cut, so the sentence still ends with
 * its pointer.
 */
export function fitNames(text: string, max: number): string {
  let fitted = text;
  for (let excess = length(fitted) - max; excess > 0; excess = length(fitted) - max) {
    const names = quotedNames(fitted).sort((a, b) => b.length - a.length);
    const [longest, second] = names;
    if (!longest || longest.length <= MIN_NAME_LENGTH) return cut(fitted, max);
    // Down to the next longest name at most, so two long names end up about as long as each other.
    const size = Math.max(MIN_NAME_LENGTH, Math.min(longest.length - 1, Math.max(second?.length ?? 0, longest.length - excess)));
    fitted = `${fitted.slice(0, longest.index + 1)}${middleEllipsis(longest.name, size)}${fitted.slice(longest.index + 1 + longest.name.length)}`;
  }
  return fitted;
}

interface QuotedName {
  name: string;
  /** Where its opening quote is. */
  index: number;
  length: number;
}

function quotedNames(text: string): QuotedName[] {
  return [...text.matchAll(QUOTED_NAME)].map((match) => ({ name: match[1]!, index: match.index, length: length(match[1]!) }));
}

function middleEllipsis(name: string, size: number): string {
  const characters = Array.from(name);
  const head = Math.ceil((size - 1) / 2);
  const tail = size - 1 - head;
  return `${characters.slice(0, head).join('')}…${characters.slice(characters.length - tail).join('')}`;
}

function cut(text: string, max: number): string {
  return `${Array.from(text).slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** The API server counts runes: code points, not UTF-16 units. */
function length(text: string): number {
  return Array.from(text).length;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
