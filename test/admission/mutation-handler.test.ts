import { describe, expect, it } from 'vitest';
import { mutationHandler, type MutationStep } from '../../src/admission/mutation-handler.js';
import { webPod } from '../server/support.js';
import { requestFor, settings } from './support.js';

const labelling: MutationStep = () => ({
  patch: [{ op: 'add', path: '/metadata/labels', value: { migrated: 'true' } }],
  warnings: ['moved 1 sidecar'],
  auditAnnotations: { migration: 'moved log-shipper' },
});
const refusing: MutationStep = () => ({ allowed: false, message: 'log-shipper cannot move', warnings: ['looked at log-shipper'] });

describe('the mutation handler', () => {
  it('returns the step\'s patch, warnings and annotations in enforce and warn mode', async () => {
    for (const mode of ['enforce', 'warn'] as const) {
      const result = await mutationHandler(labelling)(requestFor(webPod()), settings({ mode }));
      expect(result.response).toMatchObject({ allowed: true, patchType: 'JSONPatch', warnings: ['moved 1 sidecar'], auditAnnotations: { migration: 'moved log-shipper' } });
      expect(result.patch).toEqual([{ op: 'add', path: '/metadata/labels', value: { migrated: 'true' } }]);
    }
  });

  it('changes nothing in audit mode and records what it would have done', async () => {
    const result = await mutationHandler(labelling)(requestFor(webPod()), settings({ mode: 'audit' }));
    expect(result.response.patch).toBeUndefined();
    expect(result.patch).toBeUndefined();
    expect(result.response.warnings).toBeUndefined();
    expect(result.response.auditAnnotations?.mutation).toMatch(/^would apply 1 JSON Patch operations: \[\{"op":"add"/);
  });

  it('rejects in enforce mode, warns in warn mode and only records in audit mode', async () => {
    const enforced = await mutationHandler(refusing)(requestFor(webPod()), settings());
    expect(enforced.response).toMatchObject({ allowed: false, status: { code: 403, message: 'log-shipper cannot move' } });
    const warned = await mutationHandler(refusing)(requestFor(webPod()), settings({ mode: 'warn' }));
    expect(warned.response).toEqual({ allowed: true, warnings: ['looked at log-shipper', 'log-shipper cannot move'] });
    const audited = await mutationHandler(refusing)(requestFor(webPod()), settings({ mode: 'audit' }));
    expect(audited.response).toEqual({ allowed: true, auditAnnotations: { mutation: 'would reject: log-shipper cannot move' } });
  });

  it('says what it did to the object for the metrics: patched, a change only a dry run reports, or nothing', async () => {
    expect((await mutationHandler(labelling)(requestFor(webPod()), settings())).mutation).toBe('patched');
    expect((await mutationHandler(labelling)(requestFor(webPod()), settings({ mode: 'audit' }))).mutation).toBe('dry-run');
    const dryRunStep: MutationStep = () => ({ dryRun: true, auditAnnotations: { migration: 'would move log-shipper' } });
    expect((await mutationHandler(dryRunStep)(requestFor(webPod()), settings())).mutation).toBe('dry-run');
    expect((await mutationHandler(() => ({}))(requestFor(webPod()), settings())).mutation).toBeUndefined();
    expect((await mutationHandler(refusing)(requestFor(webPod()), settings())).mutation).toBeUndefined();
  });

  it('gives the step the request, the policy, the versions and the mode', async () => {
    const seen: unknown[] = [];
    const request = requestFor(webPod());
    const given = settings({ mode: 'warn' });
    await mutationHandler((input) => (seen.push(input), {}))(request, given);
    expect(seen).toEqual([{ request, policy: given.policy, versions: given.versions, mode: 'warn' }]);
  });
});
