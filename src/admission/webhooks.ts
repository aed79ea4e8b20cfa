import { runsOnMutate } from '../engine/scope.js';
import type { Rule } from '../engine/types.js';
import { PodpatternsError } from '../errors.js';
import { defaultPolicy, parsePolicy, suggest, type Policy } from '../policy/policy.js';
import { EVALUATION_FAILED, failOpen, MUTATION_FAILED } from './fail-open.js';
import { objectsOnly, sequence, type AdmissionHandler } from './handler.js';
import { mutationHandler, type MutationStep } from './mutation-handler.js';
import { rulesHandler } from './rules-handler.js';

/** What `podpatterns serve` answers with, and how it reads the policy that configures it. */
export interface AdmissionWebhooks {
  /** `POST /validate`: every rule. */
  validate: AdmissionHandler;
  /** `POST /mutate`: the mutation step, then the rules on fields dropped before validation (engine/scope.ts runsOnMutate). */
  mutate: AdmissionHandler;
  /** Reads a policy file for the rules the handlers run; throws naming the file and line. */
  parsePolicy(text: string, file: string): Policy;
  /** The policy without a file: every rule at its default severity. */
  defaultPolicy(): Policy;
  /** How many rules the webhooks know. */
  ruleCount: number;
}

export interface AdmissionWebhookOptions {
  rules: readonly Rule[];
  /** The change `/mutate` makes; none when absent. */
  mutation?: MutationStep;
  /** Rule ids `/validate` leaves to in-tree admission policies (`--skip-rules`); `/mutate` still runs its rules. */
  skipOnValidate?: readonly string[];
}

/**
 * The two webhooks, composed from handlers. `/mutate` migrates first and judges the migrated object, as the API
 * server's validating admission (and the MutatingAdmissionPolicy) would: `restartPolicy: Always` on an entry of
 * `containers` that the migration moves to a native sidecar is no longer there to refuse. A failing step fails
 * open on its own, so a broken migration never skips the rules, nor a broken rule the migration.
 */
export function admissionWebhooks({ rules, mutation, skipOnValidate = [] }: AdmissionWebhookOptions): AdmissionWebhooks {
  const onDroppedFields = failOpen(rulesHandler(rules.filter(runsOnMutate)), EVALUATION_FAILED);
  return {
    validate: objectsOnly(failOpen(rulesHandler(rulesToValidate(rules, skipOnValidate)), EVALUATION_FAILED)),
    mutate: objectsOnly(mutation ? sequence(failOpen(mutationHandler(mutation), MUTATION_FAILED), onDroppedFields) : onDroppedFields),
    parsePolicy: (text, file) => parsePolicy(text, file, rules),
    defaultPolicy: () => defaultPolicy(rules),
    ruleCount: rules.length,
  };
}

/** The rules `/validate` runs: all but those left to in-tree policies; an unknown id stops the start. */
function rulesToValidate(rules: readonly Rule[], skipped: readonly string[]): readonly Rule[] {
  const ids = rules.map((rule) => rule.id);
  for (const id of skipped) {
    if (!ids.includes(id)) throw new PodpatternsError('PODPATTERNS_ERR_USAGE', `--skip-rules: unknown rule '${id}'${suggest(id, ids)}`);
  }
  return rules.filter((rule) => !skipped.includes(rule.id));
}

/** The two webhooks, as their paths and metric labels name them. */
export type WebhookName = 'validate' | 'mutate';
