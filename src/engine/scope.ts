import type { Rule } from './types.js';

/*
 * Where a rule runs, derived from what it declares: the webhooks' handlers, the chart's webhook rules (written
 * by `npm run docs`) and the compiled admission policies read these, and keep no list of their own.
 */

/**
 * Whether the rule can judge the one object an admission request carries: not when it requires related objects
 * (the HPA rule needs the workload an HPA scales), which only audits of files and clusters have.
 */
export function runsAtAdmission(rule: Rule): boolean {
  return rule.related?.required !== true;
}

/**
 * Whether `/mutate` runs the rule: it reads fields the API server drops before validating admission (a field of a
 * feature gate that is off), so a validating webhook would never see them.
 */
export function runsOnMutate(rule: Rule): boolean {
  return runsAtAdmission(rule) && (rule.droppedFields?.length ?? 0) > 0;
}

/** The kinds the rules judge, each once, in the order the rules name them. */
export function kindsJudged(rules: readonly Rule[]): string[] {
  return [...new Set(rules.flatMap((rule) => rule.kinds))];
}
