import type { Exemptions } from './exemptions.js';
import type { RuleOptionValue, Severity } from './types.js';

export interface RuleSettings {
  enabled: boolean;
  severity: Severity;
  options: Record<string, RuleOptionValue>;
}

/**
 * What the engine reads of a policy: each rule's settings, which severities the policy pinned (a pinned
 * severity wins over the verdict a rule picks itself), and who may exempt what. The engine defines it and
 * policy/ fills it: a Policy, parsed and validated from a file against the rules' declarations, is one.
 */
export interface EnginePolicy {
  rules: Readonly<Record<string, Readonly<RuleSettings>>>;
  exemptions: Readonly<Exemptions>;
  explicit: { readonly rules: Readonly<Record<string, Readonly<{ severity: boolean }>>> };
}
