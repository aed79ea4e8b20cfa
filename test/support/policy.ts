import { expect } from 'vitest';
import { PodpatternsError } from '../../src/errors.js';
import { parsePolicy, type Policy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';

/** A policy file's text read against the rules podpatterns ships, as `policy.yaml`. */
export function parse(text: string): Policy {
  return parsePolicy(text, 'policy.yaml', ALL_RULES);
}

/** The message with which a policy file's text is rejected; fails the test when it is accepted. */
export function failure(text: string): string {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(PodpatternsError);
    return (error as Error).message;
  }
  throw new Error('expected the policy to be rejected');
}
