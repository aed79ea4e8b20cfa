import { describe, expect, it } from 'vitest';
import { EVALUATION_FAILED, failedOpen, failOpen, MUTATION_FAILED } from '../../src/admission/fail-open.js';
import { allowedResult } from '../../src/admission/handler.js';
import { allowed, withAuditAnnotations, withWarnings } from '../../src/admission/response.js';
import { webPod } from '../server/support.js';
import { requestFor, settings } from './support.js';

const throwing = () => {
  throw new TypeError('object is not iterable');
};

describe('failOpen', () => {
  it('admits the object when the handler throws, with a warning, an audit annotation and the failure', async () => {
    const result = await failOpen(throwing, EVALUATION_FAILED)(requestFor(webPod()), settings());
    const failure = 'evaluation failed: object is not iterable';
    expect(result).toMatchObject({ failure, ruleErrors: [], exempted: [], decision: { allowed: true, findings: [] } });
    expect(result.response).toEqual({
      allowed: true,
      warnings: [`podpatterns could not check this object and admitted it unchecked: ${failure}`],
      auditAnnotations: { 'evaluation-error': failure },
    });
  });

  it('says the object was admitted unchanged when a mutation throws', async () => {
    const result = await failOpen(async () => throwing(), MUTATION_FAILED)(requestFor(webPod()), settings({ mode: 'warn' }));
    expect(result.response.warnings).toEqual([expect.stringMatching(/^podpatterns could not apply its changes and admitted this object unchanged: mutation failed: object is not iterable$/)]);
    expect(result.response.patch).toBeUndefined();
  });

  it('shows users nothing in audit mode: the failure is only annotated', async () => {
    const result = await failOpen(throwing, EVALUATION_FAILED)(requestFor(webPod()), settings({ mode: 'audit' }));
    expect(result.response.warnings).toBeUndefined();
    expect(result.response.auditAnnotations?.['evaluation-error']).toMatch(/^evaluation failed: /);
  });

  it('passes an answer through unchanged', async () => {
    const answer = allowedResult();
    expect(await failOpen(() => answer, EVALUATION_FAILED)(requestFor(webPod()), settings())).toBe(answer);
  });
});

describe('failedOpen', () => {
  it('puts the notice before what the partial evaluation found, and never denies', () => {
    const partial = withAuditAnnotations(withWarnings(allowed(), 'port-conflict: one fails to bind'), { 'port-conflict': 'both declare 8080' });
    expect(failedOpen('rule x failed: boom', 'checks', 'enforce', partial)).toEqual({
      failure: 'rule x failed: boom',
      undone: 'checks',
      response: {
        allowed: true,
        warnings: ['podpatterns could not check this object and admitted it unchecked: rule x failed: boom', 'port-conflict: one fails to bind'],
        auditAnnotations: { 'evaluation-error': 'rule x failed: boom', 'port-conflict': 'both declare 8080' },
      },
    });
  });
});
