import { planMigration } from '../migration/index.js';
import type { Operation } from '../engine/types.js';
import type { MutationStep } from './mutate.js';

/**
 * The classic → native sidecar migration as the `/mutate` webhook's step. The plan is pure; the webhook only
 * carries its patch, warnings and audit annotations. Opting a namespace out is done with the label
 * `podpatterns.io/migrate: "false"`, which the chart's namespaceSelector honours, so the webhook never reads
 * namespaces from the API.
 */
export const migrationStep: MutationStep = ({ request, policy, versions }) => {
  const operation = request.operation as Operation;
  const plan = planMigration(request.object, {
    context: { kubernetesVersion: versions.kubernetesVersion, minKubeletVersion: versions.minKubeletVersion, operation },
    settings: policy.migration,
    operation,
  });
  return {
    ...(plan.action === 'patch' && { patch: plan.patch }),
    warnings: plan.warnings,
    auditAnnotations: plan.auditAnnotations,
    ...(plan.action === 'dry-run' && { dryRun: true }),
  };
};
