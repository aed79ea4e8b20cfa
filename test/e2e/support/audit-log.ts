import { readFile } from 'node:fs/promises';
import { waitFor } from './network.js';

/** The fields of an audit.k8s.io/v1 Event the tests look at. */
export interface AuditEvent {
  stage: string;
  verb: string;
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  annotations?: Record<string, string>;
}

export async function readAuditEvents(file: string): Promise<AuditEvent[]> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').flatMap((line) => (line.trim() === '' ? [] : [JSON.parse(line) as AuditEvent]));
}

/**
 * The ResponseComplete event of a create, once the API server has written it (the log backend writes after
 * the response is sent, so a test may look before it is there).
 */
export function auditEventOfCreate(file: string, object: { resource: string; namespace: string; name: string }): Promise<AuditEvent> {
  return waitFor(`audit event of create ${object.resource} ${object.namespace}/${object.name}`, async () =>
    (await readAuditEvents(file)).find(
      (event) =>
        event.stage === 'ResponseComplete' &&
        event.verb === 'create' &&
        event.objectRef?.resource === object.resource &&
        event.objectRef.namespace === object.namespace &&
        event.objectRef.name === object.name,
    ),
  { timeoutMs: 10_000 });
}
