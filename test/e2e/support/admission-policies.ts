import type {
  V1MutatingAdmissionPolicy,
  V1MutatingAdmissionPolicyBinding,
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';
import type { MigrationPolicyObject } from '../../../src/cel/migration-policy.js';
import { RUN_LABEL, refusalOf, type Clients } from './cluster.js';

export interface PolicyScope {
  /** Appended to every name, so several variants can be installed side by side. */
  suffix: string;
  /** The run's namespaces the bindings apply in (besides their own selectors). */
  namespaces: string[];
  runId: string;
}

/**
 * The objects scoped to the run: a suffix on every name (and on the bindings' policyName), the run label, and
 * `kubernetes.io/metadata.name In [namespaces]` added to each binding's namespace selector.
 */
export function scopedPolicies(objects: readonly MigrationPolicyObject[], scope: PolicyScope): MigrationPolicyObject[] {
  return objects.map((object) => {
    const copy = structuredClone(object);
    copy.metadata = { ...copy.metadata, name: `${copy.metadata!.name}${scope.suffix}`, labels: { ...copy.metadata!.labels, [RUN_LABEL]: scope.runId } };
    if (copy.kind?.endsWith('Binding')) {
      const spec = (copy as V1MutatingAdmissionPolicyBinding | V1ValidatingAdmissionPolicyBinding).spec!;
      spec.policyName = `${spec.policyName}${scope.suffix}`;
      const selector = (spec.matchResources ??= {}).namespaceSelector ?? {};
      selector.matchExpressions = [...(selector.matchExpressions ?? []), { key: 'kubernetes.io/metadata.name', operator: 'In', values: scope.namespaces }];
      spec.matchResources.namespaceSelector = selector;
    }
    return copy;
  });
}

export async function createPolicies(clients: Clients, objects: readonly MigrationPolicyObject[]): Promise<void> {
  for (const object of objects) {
    switch (object.kind) {
      case 'MutatingAdmissionPolicy':
        await clients.admission.createMutatingAdmissionPolicy({ body: object as V1MutatingAdmissionPolicy });
        break;
      case 'MutatingAdmissionPolicyBinding':
        await clients.admission.createMutatingAdmissionPolicyBinding({ body: object as V1MutatingAdmissionPolicyBinding });
        break;
      case 'ValidatingAdmissionPolicy':
        await clients.admission.createValidatingAdmissionPolicy({ body: object as V1ValidatingAdmissionPolicy });
        break;
      case 'ValidatingAdmissionPolicyBinding':
        await clients.admission.createValidatingAdmissionPolicyBinding({ body: object as V1ValidatingAdmissionPolicyBinding });
        break;
      default:
        throw new Error(`not an admission policy object: ${object.kind}`);
    }
  }
}

/** Bindings first, so no policy is left without the binding that uses it. */
export async function deletePolicies(clients: Clients, objects: readonly MigrationPolicyObject[]): Promise<void> {
  for (const object of [...objects].reverse()) {
    const name = object.metadata!.name!;
    const request =
      object.kind === 'MutatingAdmissionPolicy'
        ? clients.admission.deleteMutatingAdmissionPolicy({ name })
        : object.kind === 'MutatingAdmissionPolicyBinding'
          ? clients.admission.deleteMutatingAdmissionPolicyBinding({ name })
          : object.kind === 'ValidatingAdmissionPolicy'
            ? clients.admission.deleteValidatingAdmissionPolicy({ name })
            : clients.admission.deleteValidatingAdmissionPolicyBinding({ name });
    await request.catch((error: unknown) => {
      if (refusalOf(error)?.code !== 404) throw error;
    });
  }
}
