import { describe, expect, it } from 'vitest';
import { allowedResult, objectsOnly, sequence, type AdmissionHandler, type AdmissionResult } from '../../src/admission/handler.js';
import { allowed, denied, patchResponse, withAuditAnnotations, withWarnings } from '../../src/admission/response.js';
import type { JsonPatchOperation } from '../../src/admission/response.js';
import { webPod } from '../server/support.js';
import { requestFor, settings } from './support.js';

/** A handler that records the object it was given and answers `result`. */
function recording(result: Partial<AdmissionResult>): AdmissionHandler & { seen: unknown[] } {
  const seen: unknown[] = [];
  const handler = (request: Parameters<AdmissionHandler>[0]) => {
    seen.push(structuredClone(request.object));
    return { ...allowedResult(), ...result };
  };
  return Object.assign(handler, { seen });
}

const patching = (patch: JsonPatchOperation[], warning: string) =>
  recording({ response: withAuditAnnotations(withWarnings(patchResponse(patch), warning), { [warning]: 'yes' }), patch });

const decodedPatch = (result: AdmissionResult) => JSON.parse(Buffer.from(result.response.patch!, 'base64').toString('utf8'));

describe('objectsOnly', () => {
  const inner = recording({ response: denied('never') });

  it('allows a subresource without calling the handler', async () => {
    const result = await objectsOnly(inner)(requestFor(webPod(), { operation: 'UPDATE', subResource: 'status', oldObject: webPod() }), settings());
    expect(result).toMatchObject({ response: { allowed: true }, skipped: 'subresource' });
    expect(inner.seen).toEqual([]);
  });

  it('allows a request without an object (DELETE) without calling the handler', async () => {
    const result = await objectsOnly(inner)(requestFor(null, { operation: 'DELETE', oldObject: webPod() }), settings());
    expect(result).toMatchObject({ response: { allowed: true }, skipped: 'no-object' });
    expect(inner.seen).toEqual([]);
  });

  it('hands every other request to the handler', async () => {
    expect((await objectsOnly(inner)(requestFor(webPod()), settings())).response.allowed).toBe(false);
    expect(inner.seen).toHaveLength(1);
  });
});

describe('sequence', () => {
  it('gives each handler the object as the ones before it left it', async () => {
    const first = patching([{ op: 'add', path: '/metadata/labels', value: { moved: 'yes' } }], 'first');
    const second = recording({});
    await sequence(first, second)(requestFor(webPod()), settings());
    expect(first.seen[0]).toEqual(webPod());
    expect(second.seen[0]).toEqual({ ...webPod(), metadata: { ...webPod().metadata, labels: { moved: 'yes' } } });
  });

  it('leaves the request\'s own object untouched', async () => {
    const request = requestFor(webPod());
    await sequence(patching([{ op: 'remove', path: '/spec/containers/1' }], 'removed'), recording({}))(request, settings());
    expect(request.object).toEqual(webPod());
  });

  it('answers with the patches one after the other and gathers warnings and audit annotations', async () => {
    const result = await sequence(
      patching([{ op: 'add', path: '/metadata/labels', value: { a: '1' } }], 'first'),
      patching([{ op: 'add', path: '/metadata/labels/b', value: '2' }], 'second'),
    )(requestFor(webPod()), settings());
    expect(result.response).toMatchObject({ allowed: true, patchType: 'JSONPatch', warnings: ['first', 'second'], auditAnnotations: { first: 'yes', second: 'yes' } });
    expect(decodedPatch(result)).toEqual([
      { op: 'add', path: '/metadata/labels', value: { a: '1' } },
      { op: 'add', path: '/metadata/labels/b', value: '2' },
    ]);
    expect(result.patch).toEqual(decodedPatch(result));
  });

  it('answers a denial as it is, dropping what the handlers before it would have changed, and runs nothing after it', async () => {
    const last = recording({});
    const result = await sequence(
      patching([{ op: 'add', path: '/metadata/labels', value: { a: '1' } }], 'moved a sidecar'),
      recording({ response: denied('port-conflict: no') }),
      last,
    )(requestFor(webPod()), settings());
    expect(result.response).toEqual(denied('port-conflict: no'));
    expect(result.patch).toBeUndefined();
    expect(last.seen).toEqual([]);
  });

  it('keeps what the mutation did when the object is admitted, and forgets it when a later handler denies it', async () => {
    const migrated = recording({ mutation: 'patched', patch: [{ op: 'add', path: '/metadata/labels', value: { a: '1' } }] });
    expect((await sequence(migrated, recording({}))(requestFor(webPod()), settings())).mutation).toBe('patched');
    expect((await sequence(migrated, recording({ response: denied('no') }))(requestFor(webPod()), settings())).mutation).toBeUndefined();
  });

  it('keeps the findings, rule errors and failures of every handler for logs and metrics', async () => {
    const finding = { rule: 'r', severity: 'warn' as const, resource: { apiVersion: 'v1', kind: 'Pod', name: 'web' }, path: 'spec', message: 'm', fix: 'f', problem: 'p' };
    const result = await sequence(
      recording({ failure: 'mutation failed: boom' }),
      recording({ response: allowed(), decision: { allowed: true, denials: [], warnings: [finding], ratcheted: [], findings: [finding] }, failure: 'rule x failed: bang' }),
    )(requestFor(webPod()), settings());
    expect(result.failure).toBe('mutation failed: boom; rule x failed: bang');
    expect(result.decision.findings).toEqual([finding]);
  });

  it('answers at once when every handler does, and waits for one that answers with a promise, in order', async () => {
    const first = patching([{ op: 'add', path: '/metadata/labels', value: { a: '1' } }], 'first');
    const second = recording({});
    const immediate = sequence(first, second)(requestFor(webPod()), settings());
    expect(immediate).not.toBeInstanceOf(Promise);
    const later: AdmissionHandler = async (request, options) => first(request, options);
    const third = recording({});
    const waited = sequence(later, third)(requestFor(webPod()), settings());
    expect(waited).toBeInstanceOf(Promise);
    expect((await waited).response.warnings).toEqual(['first']);
    expect(third.seen[0]).toEqual({ ...webPod(), metadata: { ...webPod().metadata, labels: { a: '1' } } });
  });

  it('answers allowed with nothing when it has no handler', async () => {
    expect((await sequence()(requestFor(webPod()), settings())).response).toEqual({ allowed: true });
  });
});
