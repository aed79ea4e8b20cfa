import { asArray, asString, type JsonObject, type PodSpec } from '../model/kube.js';
import { podModelOf } from '../model/pod.js';
import { effectivePodRequest, formatQuantity } from '../model/resources.js';
import { nativeSidecarBlockers } from '../model/native-sidecars.js';
import { formatVersion } from '../model/version.js';
import type { EvaluationContext } from '../engine/types.js';
import {
  AUDIT_MESH,
  AUDIT_MIGRATED,
  AUDIT_WOULD_MIGRATE,
  AUDIT_WOULD_SET_MESH,
  MIGRATED_ANNOTATION,
  SIDECARS_ANNOTATION,
  SIDECARS_FIRST_ANNOTATION,
  isTrue,
  lookup,
  parseNameList,
} from './annotations.js';
import { meshSwitches, type MeshSwitch } from './mesh.js';
import { nativeSidecarFixes, withFixes } from './native-sidecar-fixes.js';
import { jsonPatchFor } from './patch.js';
import { selectSidecars } from './select.js';
import { getIn, migrationTarget, type MigrationTarget } from './target.js';
import type { ContainerMove, MigrationChange, MigrationOptions, MigrationPlan } from './types.js';
import { capWarning, listNames } from './warnings.js';
import { podFailurePolicyWarnings, workaroundWarnings } from './workarounds.js';

/**
 * Plans the classic → native sidecar migration of one object (a Job, or a CronJob or bare Pod when the
 * settings opt in). Pure: no I/O. The patch is computed against `object` as given, so fields this code does
 * not know survive.
 */
export function planMigration(object: unknown, options: MigrationOptions): MigrationPlan {
  const { context, settings } = options;
  if (settings.mode === 'off') return nothing('migration mode is off');
  const namespace = { ...options.namespaceAnnotations, ...options.namespaceLabels };
  const found = migrationTarget(object, settings, options.operation ?? context.operation, options.namespaceAnnotations ?? {});
  if ('skipped' in found) return nothing(found.skipped);
  const { target } = found;
  const pod = podModelOf(target.object);
  if (!pod) return nothing(`${target.kind} has no pod spec`);

  const selection = selectSidecars(pod, lookup(target.annotationSources, SIDECARS_ANNOTATION));
  if (selection.problems.length > 0) {
    return nothing(selection.problems.join('; '), selection.problems.map((problem) => capWarning(`${problem}: nothing migrated`)));
  }
  const mesh = meshSwitches({ annotations: target.annotationSources[0] ?? {}, labels: target.labels }, pod.spec, namespace);
  if (selection.sidecars.length === 0 && mesh.switches.length === 0) return nothing('no classic sidecar to migrate', mesh.warnings);

  const tooOld = unsupportedVersions(context);
  if (tooOld) {
    const what = listNames([...selection.sidecars.map((sidecar) => sidecar.name), ...mesh.switches.map((s) => `${s.mesh} switch`)]);
    return nothing(`native sidecars need Kubernetes 1.29+ (${tooOld})`, [capWarning(`native sidecars need Kubernetes 1.29+ (${tooOld}): ${what} not migrated`)]);
  }

  const moves: ContainerMove[] = [];
  const fixWarnings: string[] = [];
  for (const sidecar of selection.sidecars) {
    const { fixes, warnings } = nativeSidecarFixes(sidecar.spec, sidecar.name, context.kubernetesVersion);
    moves.push({ name: sidecar.name, from: sidecar.index, reason: sidecar.reason, fixes });
    fixWarnings.push(...warnings);
  }
  const moved = moves.map((move) => move.name);
  const placement = isTrue(lookup(target.annotationSources, SIDECARS_FIRST_ANNOTATION)) ? 'before-init-containers' : 'after-init-containers';
  const change: MigrationChange = {
    specPath: target.specPath,
    metadataPath: target.metadataPath,
    moves,
    placement,
    annotations: { ...migratedAnnotation(target, moved), ...Object.assign({}, ...mesh.switches.map((s) => s.annotations)) },
  };

  const dryRun = settings.mode === 'dry-run';
  const meshes = mesh.switches.map((s) => s.mesh);
  const warnings = [
    ...summary(moved, mesh.switches, dryRun),
    ...fixWarnings,
    ...(placement === 'before-init-containers' ? requestWarnings(pod.spec, change) : []),
    ...workaroundWarnings(pod.spec, asString(pod.spec.restartPolicy)),
    ...podFailurePolicyWarnings(jobSpecOf(target)),
    ...mesh.warnings,
  ];
  const auditAnnotations: Record<string, string> = {};
  if (moved.length > 0) auditAnnotations[dryRun ? AUDIT_WOULD_MIGRATE : AUDIT_MIGRATED] = moved.join(',');
  if (meshes.length > 0) auditAnnotations[dryRun ? AUDIT_WOULD_SET_MESH : AUDIT_MESH] = meshes.join(',');
  if (dryRun) return { action: 'dry-run', moved, patch: [], warnings: unique(warnings), auditAnnotations };
  return { action: 'patch', moved, patch: jsonPatchFor(change, object), warnings: unique(warnings), auditAnnotations, change };
}

function nothing(skipped: string, warnings: string[] = []): MigrationPlan {
  return { action: 'none', moved: [], patch: [], warnings, auditAnnotations: {}, skipped };
}

/** The components too old for native sidecars (see nativeSidecarBlockers), as "API server 1.28, oldest kubelet 1.27". */
function unsupportedVersions(context: EvaluationContext): string | undefined {
  const problems = nativeSidecarBlockers(context.kubernetesVersion, context.minKubeletVersion).map(
    ({ component, version }) => `${component === 'kubelet' ? 'oldest kubelet' : 'API server'} ${formatVersion(version)}`,
  );
  return problems.length > 0 ? problems.join(', ') : undefined;
}

function migratedAnnotation(target: MigrationTarget, moved: string[]): Record<string, string> {
  if (moved.length === 0) return {};
  const previous = parseNameList(target.annotationSources[0]?.[MIGRATED_ANNOTATION] ?? '');
  return { [MIGRATED_ANNOTATION]: [...new Set([...previous, ...moved])].join(',') };
}

function summary(moved: string[], switches: MeshSwitch[], dryRun: boolean): string[] {
  const lines: string[] = [];
  if (moved.length > 0) {
    const what = moved.length === 1 ? 'a native sidecar' : 'native sidecars';
    lines.push(dryRun ? `dry-run: would move ${listNames(moved)} to initContainers as ${what}` : `moved ${listNames(moved)} to initContainers as ${what}`);
  }
  for (const { mesh, annotations } of switches) {
    const keys = Object.keys(annotations);
    const key = keys.length === 1 ? keys[0]! : `${mesh}'s native-sidecar annotations`;
    lines.push(dryRun ? `dry-run: would set ${key} so ${mesh} injects a native sidecar` : `set ${key} so ${mesh} injects a native sidecar`);
  }
  return lines.map(capWarning);
}

/**
 * Sidecars put before regular init containers run beside them, so the init phase may need more than before
 * (KEP-753: max over init containers of init_i + the sidecars started before it).
 */
function requestWarnings(spec: PodSpec, change: MigrationChange): string[] {
  const containers = asArray(spec.containers);
  const movedIndexes = new Set(change.moves.map((move) => move.from));
  const sidecars = change.moves.map((move) => withFixes(containers[move.from] as JsonObject, move.fixes));
  const after: PodSpec = {
    initContainers: [...sidecars, ...asArray(spec.initContainers)] as JsonObject[],
    containers: containers.filter((_, index) => !movedIndexes.has(index)) as JsonObject[],
  };
  return ['cpu', 'memory'].flatMap((resource) => {
    const before = effectivePodRequest(spec, resource);
    const now = effectivePodRequest(after, resource);
    if (before === now) return [];
    return [capWarning(`${SIDECARS_FIRST_ANNOTATION} changes the pod's effective ${resource} request from ${formatQuantity(before, resource)} to ${formatQuantity(now, resource)}`)];
  });
}

function jobSpecOf(target: MigrationTarget): unknown {
  if (target.kind === 'Job') return getIn(target.object, ['spec']);
  if (target.kind === 'CronJob') return getIn(target.object, ['spec', 'jobTemplate', 'spec']);
  return undefined;
}

function unique(lines: string[]): string[] {
  return [...new Set(lines)];
}

