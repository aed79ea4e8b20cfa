import { describe, expect, it } from 'vitest';
import { allowedResult, type AdmissionResult } from '../../src/admission/handler.js';
import { denied } from '../../src/admission/response.js';
import type { Finding } from '../../src/engine/types.js';
import { withLogging } from '../../src/server/admission-log.js';
import { createLogger } from '../../src/server/logger.js';
import { requestFor, settings } from '../admission/support.js';
import { LogLines, webPod } from './support.js';

const finding: Finding = { rule: 'port-conflict', severity: 'deny', resource: { apiVersion: 'v1', kind: 'Pod', name: 'web' }, path: 'spec', message: 'm', fix: 'f', problem: 'p' };
const found = { allowed: true, denials: [], warnings: [], ratcheted: [], findings: [finding] };

async function logged(result: AdmissionResult, level: 'info' | 'debug' = 'info', mode: 'enforce' | 'audit' = 'enforce') {
  const lines = new LogLines();
  const request = requestFor(webPod(), { uid: 'u-1' });
  expect(await withLogging(() => result, 'validate', createLogger(level, lines))(request, settings({ mode }))).toBe(result);
  return lines.lines;
}

describe('withLogging', () => {
  it('logs a denial at info with the uid, the object and the rules that denied it', async () => {
    const lines = await logged({ ...allowedResult(), response: denied('port-conflict: m'), decision: { ...found, allowed: false, denials: [finding] } });
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', msg: 'denied', uid: 'u-1', webhook: 'validate', operation: 'CREATE', kind: 'Pod', namespace: 'default', name: 'web', mode: 'enforce', allowed: false, rules: ['port-conflict'], denied: ['port-conflict'], durationMs: expect.any(Number) }),
    ]);
  });

  it('logs what enforce mode would have denied in audit mode', async () => {
    const lines = await logged({ ...allowedResult(), decision: found }, 'info', 'audit');
    expect(lines).toEqual([expect.objectContaining({ level: 'info', msg: 'admitted in audit mode; enforce mode would deny', wouldDeny: ['port-conflict'] })]);
  });

  it('logs a fail-open admission at error with the failure', async () => {
    const lines = await logged({ ...allowedResult(), failure: 'evaluation failed: boom', undone: 'checks' });
    expect(lines).toEqual([expect.objectContaining({ level: 'error', msg: 'podpatterns could not check this object and admitted it unchecked', err: 'evaluation failed: boom', allowed: true })]);
  });

  it('logs a failed mutation as an object admitted unchanged, in the words of the notice users see', async () => {
    const lines = await logged({ ...allowedResult(), failure: 'mutation failed: boom', undone: 'change' });
    expect(lines).toEqual([expect.objectContaining({ level: 'error', msg: 'podpatterns could not apply its changes and admitted this object unchanged', err: 'mutation failed: boom' })]);
  });

  it('logs a denial by the steps that could run, after one that failed, at error', async () => {
    const lines = await logged({ ...allowedResult(), response: denied('port-conflict: m'), decision: { ...found, allowed: false, denials: [finding] }, failure: 'mutation failed: boom' });
    expect(lines).toEqual([expect.objectContaining({ level: 'error', msg: 'denied, although part of the evaluation failed', err: 'mutation failed: boom', denied: ['port-conflict'] })]);
  });

  it('logs an exemption used at info', async () => {
    const lines = await logged({ ...allowedResult(), exempted: [{ ...finding, exemption: { source: 'policy', reason: 'OPS-1', entry: 'default/Pod/web (policy line 3)' } }] });
    expect(lines).toEqual([expect.objectContaining({ level: 'info', msg: 'admitted with exemptions', exempted: [{ rule: 'port-conflict', source: 'policy', reason: 'OPS-1', exemption: 'default/Pod/web (policy line 3)' }] })]);
  });

  it('logs a clean admission only at debug', async () => {
    expect(await logged(allowedResult())).toEqual([]);
    expect(await logged(allowedResult(), 'debug')).toEqual([expect.objectContaining({ level: 'debug', msg: 'admitted', allowed: true, rules: [] })]);
  });
});
