import type {
  V1MatchResources,
  V1MutatingAdmissionPolicy,
  V1MutatingAdmissionPolicyBinding,
  V1NamedRuleWithOperations,
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';
import { MIGRATE_ANNOTATION } from '../migration/annotations.js';
import { describeBlocker, nativeSidecarBlockers } from '../model/native-sidecars.js';
import { atLeast, formatVersion, type KubeVersion } from '../model/version.js';
import type { MigrationSettings } from '../policy/policy.js';
import { dryRunAuditAnnotations, dryRunChecks, migrationPatchExpression, migrationVariables } from './migration-expressions.js';

/** The cluster and settings the migration policy is compiled for. */
export interface MigrationPolicyTarget {
  /** The API server's version: MutatingAdmissionPolicy is served (GA, on by default) from 1.36. */
  kubernetesVersion: KubeVersion;
  /** The oldest kubelet's: native sidecars need 1.29 on every node. */
  minKubeletVersion: KubeVersion;
  /** The policy file's `migration` settings. */
  migration: Readonly<MigrationSettings>;
  /** The release namespace, never migrated (the chart's webhooks skip it too). */
  releaseNamespace: string;
  /** Further namespaces never migrated, besides kube-system and the release namespace (the chart's `webhook.excludeNamespaces`). */
  excludedNamespaces?: readonly string[];
}

export type MigrationPolicyObject =
  | V1MutatingAdmissionPolicy
  | V1MutatingAdmissionPolicyBinding
  | V1ValidatingAdmissionPolicy
  | V1ValidatingAdmissionPolicyBinding;

export interface MigrationPolicies {
  /**
   * In apply order, each policy before its binding. `apply`: a MutatingAdmissionPolicy and its binding. `dry-run`:
   * a ValidatingAdmissionPolicy that warns and records what would move (a mutating policy cannot warn), and its
   * binding. Empty when `skipped` says why.
   */
  objects: MigrationPolicyObject[];
  skipped?: string;
}

export const MIGRATION_POLICY_NAME = 'podpatterns-sidecar-migration';
export const RULE_LABEL = 'podpatterns.io/rule';
export const MIGRATION_RULE = 'sidecar-migration';
/** From this version the API server serves admissionregistration.k8s.io/v1 MutatingAdmissionPolicy by default. */
export const MUTATING_ADMISSION_POLICY_SINCE: KubeVersion = { major: 1, minor: 36 };

/**
 * The in-tree form of the webhook's Job sidecar migration, or nothing (with the reason) when the target cluster
 * lacks MutatingAdmissionPolicy or native sidecars, or the migration is off. Pure.
 */
export function migrationPolicies(target: MigrationPolicyTarget): MigrationPolicies {
  const { migration } = target;
  if (migration.mode === 'off') return skipped('migration mode is off');
  const { major, minor } = MUTATING_ADMISSION_POLICY_SINCE;
  if (!atLeast(target.kubernetesVersion, major, minor)) {
    return skipped(`MutatingAdmissionPolicy needs Kubernetes ${formatVersion(MUTATING_ADMISSION_POLICY_SINCE)}+ (the API server is ${formatVersion(target.kubernetesVersion)}): the migration stays with the webhook`);
  }
  const blockers = nativeSidecarBlockers(target.kubernetesVersion, target.minKubeletVersion);
  if (blockers.length > 0) return skipped(`native sidecars need Kubernetes 1.29+ on ${blockers.map(describeBlocker).join(' and ')}: nothing is migrated`);

  const metadata = { name: MIGRATION_POLICY_NAME, labels: { [RULE_LABEL]: MIGRATION_RULE } };
  const matchConstraints = { resourceRules: resourceRules(migration), matchPolicy: 'Equivalent' };
  const matchResources = bindingScope(target);
  const variables = migrationVariables();
  if (migration.mode === 'dry-run') {
    const policy: V1ValidatingAdmissionPolicy = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata,
      spec: {
        failurePolicy: 'Ignore',
        matchConstraints,
        variables,
        validations: dryRunChecks().map((check) => ({ ...check, reason: 'Invalid' })),
        auditAnnotations: dryRunAuditAnnotations(),
      },
    };
    const binding: V1ValidatingAdmissionPolicyBinding = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata,
      spec: { policyName: MIGRATION_POLICY_NAME, validationActions: ['Warn', 'Audit'], matchResources },
    };
    return { objects: [policy, binding] };
  }
  const policy: V1MutatingAdmissionPolicy = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingAdmissionPolicy',
    metadata,
    spec: {
      // As the chart's webhook: a migration that cannot run admits the object unchanged.
      failurePolicy: 'Ignore',
      // A later mutation (another policy or webhook) may add a container; a second pass moves only what is new.
      reinvocationPolicy: 'IfNeeded',
      matchConstraints,
      variables,
      mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: migrationPatchExpression() } }],
    },
  };
  const binding: V1MutatingAdmissionPolicyBinding = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingAdmissionPolicyBinding',
    metadata,
    spec: { policyName: MIGRATION_POLICY_NAME, matchResources },
  };
  return { objects: [policy, binding] };
}

function skipped(reason: string): MigrationPolicies {
  return { objects: [], skipped: reason };
}

/** What the chart's mutating webhook reviews: Jobs at creation, CronJobs and bare Pods only when opted in. */
function resourceRules(migration: Readonly<MigrationSettings>): V1NamedRuleWithOperations[] {
  const rules: V1NamedRuleWithOperations[] = [{ apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs'], operations: ['CREATE'], scope: 'Namespaced' }];
  // A CronJob's jobTemplate may change; a Job's pod template and a Pod's containers may not.
  if (migration.cronJobs) rules.push({ apiGroups: ['batch'], apiVersions: ['v1'], resources: ['cronjobs'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' });
  if (migration.pods) rules.push({ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'], scope: 'Namespaced' });
  return rules;
}

/** The chart's namespace selector: excluded namespaces and namespaces labelled `podpatterns.io/migrate: "false"`. No object selector: what a selector skips is never seen, so nothing would show it. */
function bindingScope(target: MigrationPolicyTarget): V1MatchResources {
  const excluded = [...new Set(['kube-system', target.releaseNamespace, ...(target.excludedNamespaces ?? [])])];
  return {
    namespaceSelector: {
      matchExpressions: [
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excluded },
        { key: MIGRATE_ANNOTATION, operator: 'NotIn', values: ['false'] },
      ],
    },
  };
}
