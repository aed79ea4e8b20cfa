import type { V1ValidatingAdmissionPolicy, V1ValidatingAdmissionPolicyBinding } from '@kubernetes/client-node';
import { RUN_LABEL } from './cluster.js';

/**
 * The port-conflict check as an in-tree ValidatingAdmissionPolicy: no two containers of a pod declare the same
 * containerPort with the same protocol. `protocol` is defaulted to TCP when the pod is decoded, before
 * admission; the has() guards only keep the expression total.
 */
export const PORT_CONFLICT_EXPRESSION = `
object.spec.containers.all(c, !has(c.ports) || c.ports.all(p,
  object.spec.containers.all(o, o.name == c.name || !has(o.ports) || o.ports.all(q,
    q.containerPort != p.containerPort ||
    (has(q.protocol) ? q.protocol : 'TCP') != (has(p.protocol) ? p.protocol : 'TCP')))))`.trim();

export function portConflictPolicy(name: string, runId: string): V1ValidatingAdmissionPolicy {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name, labels: { [RUN_LABEL]: runId } },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] }],
      },
      validations: [
        {
          expression: PORT_CONFLICT_EXPRESSION,
          message: 'port-conflict: two containers declare the same containerPort and protocol',
          reason: 'Forbidden',
        },
      ],
    },
  };
}

/** Denies in one namespace only. */
export function portConflictBinding(name: string, runId: string, namespace: string): V1ValidatingAdmissionPolicyBinding {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name, labels: { [RUN_LABEL]: runId } },
    spec: {
      policyName: name,
      validationActions: ['Deny'],
      matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } },
    },
  };
}
