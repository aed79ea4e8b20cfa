import { evaluate } from '../engine/engine.js';
import type { EvaluationContext } from '../engine/types.js';
import { asString, isObject, type KubeObject } from '../model/kube.js';
import { resourceRef } from '../model/pod.js';
import { expiredExemptions } from '../engine/exemptions.js';
import type { AuditSettings } from './files.js';
import type { AuditError, AuditReport } from '../report/types.js';
import type { AuditedObject } from '../report/policyreport.js';
import { ApiStatusError, type KubeApi } from '../kube/api.js';
import { describeApiError } from '../kube/errors.js';
import { listNamespaces, listPages } from '../kube/list.js';
import { OwnerIndex, uidOf } from './owners.js';
import { LISTED_KINDS, qualifiedResource, type ListedKind } from '../kube/resources.js';

/** Every namespace, or the ones named. */
export type NamespaceScope = { allNamespaces: true } | { allNamespaces: false; namespaces: readonly string[] };

export interface ClusterAuditOptions {
  scope: NamespaceScope;
  /** `limit` of each list request. */
  pageSize: number;
  settings: AuditSettings;
  onProgress?: (progress: ClusterAuditProgress) => void;
}

export interface ClusterAuditProgress {
  /** `pods`, `deployments.apps`. */
  resource: string;
  /** Undefined while listing every namespace at once. */
  namespace?: string;
  /** Objects read so far, of every kind. */
  read: number;
  /** Objects audited so far (the others are covered by their controller). */
  audited: number;
}

export interface ClusterAudit {
  /** What `--output text|json|sarif` prints; each finding's file is `cluster://<namespace>/<kind>/<name>`. */
  report: AuditReport;
  /** Namespaces read completely, with every object audited in them: what PolicyReports are made of. */
  namespaces: Map<string, AuditedObject[]>;
  /** Every kind was listed across all namespaces: a namespace missing from `namespaces` has nothing to audit. */
  wholeCluster: boolean;
  /** Objects read, covered ones included. */
  read: number;
}

/** `cluster://shop/Deployment/web`: the "file" of a finding about an object read from the cluster. */
export function clusterUri(namespace: string | undefined, kind?: string, name?: string): string {
  return `cluster://${[namespace ?? '', kind, name].filter((part) => part !== undefined).map(encodeURIComponent).join('/')}`;
}

/**
 * Lists the workloads of the scope kind by kind and page by page and audits each chain of controllers once
 * (OwnerIndex). HPAs are evaluated last, with the workload they scale as their related object. A namespace
 * where listing is forbidden is reported in the errors and skipped; any other API failure throws.
 */
export async function auditCluster(api: KubeApi, options: ClusterAuditOptions): Promise<ClusterAudit> {
  const run = new AuditRun(options);
  let namespaces = options.scope.allNamespaces ? undefined : [...new Set(options.scope.namespaces)];
  let wholeCluster = options.scope.allNamespaces;
  for (const kind of LISTED_KINDS) {
    if (options.scope.allNamespaces && wholeCluster) {
      try {
        await run.list(api, kind, undefined);
        continue;
      } catch (error) {
        if (!isForbidden(error)) throw describeApiError(error, api, `list ${qualifiedResource(kind)} in all namespaces`);
        // Not allowed cluster-wide: go namespace by namespace from now on, reporting those that are forbidden too.
        wholeCluster = false;
      }
    }
    namespaces ??= await listNamespaces(api, options.pageSize).catch((error: unknown) => {
      throw describeApiError(error, api, `list namespaces (to audit them one by one, since listing ${qualifiedResource(kind)} in all namespaces is forbidden)`);
    });
    for (const namespace of namespaces) {
      try {
        await run.list(api, kind, namespace);
      } catch (error) {
        if (!isForbidden(error)) throw describeApiError(error, api, `list ${qualifiedResource(kind)} in namespace ${namespace}`);
        run.forbidden(namespace, kind, error);
      }
    }
  }
  return run.finish(wholeCluster);
}

function isForbidden(error: unknown): error is ApiStatusError {
  return error instanceof ApiStatusError && error.code === 403;
}

interface Refusal {
  resources: string[];
  message: string;
}

/** The state of one audit while pages stream through it. */
class AuditRun {
  read = 0;
  private audited = 0;
  private readonly owners = new OwnerIndex();
  private readonly hpas: KubeObject[] = [];
  /** `namespace/Kind/name` of every HPA target, and the target once it has been read. */
  private readonly targets = new Map<string, KubeObject | undefined>();
  private readonly outcomes = new Map<string, AuditedObject[]>();
  private readonly refusals = new Map<string, Refusal>();
  private readonly report: AuditReport;
  private readonly context: EvaluationContext;

  constructor(private readonly options: ClusterAuditOptions) {
    this.context = { ...options.settings.context, related: [] };
    const expired = expiredExemptions(options.settings.policy.exemptions, options.settings.context.now ?? Date.now());
    this.report = { findings: [], errors: [], exempted: [], expiredExemptions: expired, files: 0, documents: 0, resources: 0 };
  }

  async list(api: KubeApi, kind: ListedKind, namespace: string | undefined): Promise<void> {
    const resource = qualifiedResource(kind);
    for await (const page of listPages(api, kind, namespace, this.options.pageSize)) {
      if (namespace !== undefined && !this.outcomes.has(namespace)) this.outcomes.set(namespace, []);
      for (const object of page) this.take(kind, object);
      this.options.onProgress?.({ resource, ...(namespace !== undefined && { namespace }), read: this.read, audited: this.audited });
    }
  }

  forbidden(namespace: string, kind: ListedKind, error: ApiStatusError): void {
    const refusal = this.refusals.get(namespace) ?? { resources: [], message: error.serverMessage };
    refusal.resources.push(qualifiedResource(kind));
    this.refusals.set(namespace, refusal);
  }

  finish(wholeCluster: boolean): ClusterAudit {
    for (const hpa of this.hpas) {
      const target = this.targets.get(targetKey(hpa) ?? '');
      this.audit(hpa, target ? [target] : []);
    }
    const errors: AuditError[] = [];
    for (const [namespace, refusal] of this.refusals) {
      this.outcomes.delete(namespace);
      const skipped = refusal.resources.length === LISTED_KINDS.length ? 'skipped' : 'audited only in part';
      errors.push({
        file: clusterUri(namespace),
        code: 'PODPATTERNS_ERR_CLUSTER',
        message: `namespace ${namespace} ${skipped}: forbidden to list ${refusal.resources.join(', ')} (${refusal.message})`,
      });
    }
    this.report.errors = [...errors, ...this.report.errors];
    this.report.resources = this.report.documents = this.audited;
    return { report: this.report, namespaces: this.outcomes, wholeCluster, read: this.read };
  }

  private take(kind: ListedKind, object: KubeObject): void {
    this.read++;
    if (kind.kind === 'HorizontalPodAutoscaler') {
      this.hpas.push(object);
      const key = targetKey(object);
      if (key !== undefined) this.targets.set(key, undefined);
      return;
    }
    if (kind.kind !== 'Pod') this.owners.remember(object);
    const key = objectKey(object);
    if (this.targets.has(key)) this.targets.set(key, object);
    if (this.owners.coveredBy(object)) return;
    this.audit(object, []);
  }

  private audit(object: KubeObject, related: KubeObject[]): void {
    this.audited++;
    const resource = resourceRef(object);
    const file = clusterUri(resource.namespace, resource.kind, resource.name);
    const context = related.length > 0 ? { ...this.context, related } : this.context;
    const result = evaluate(object, context, this.options.settings.policy, this.options.settings.rules);
    // The report and the outcome share these objects: 50,000 audited pods are held once, not twice.
    const findings = result.findings.map((finding) => ({ ...finding, file }));
    for (const finding of findings) this.report.findings.push(finding);
    for (const error of result.errors) {
      this.report.errors.push({ file, rule: error.rule, resource: error.resource, message: `rule ${error.rule} failed: ${error.message}` });
    }
    for (const exempted of result.exempted) this.report.exempted.push({ ...exempted, file });
    const namespace = resource.namespace ?? '';
    const uid = uidOf(object);
    const outcome: AuditedObject = { resource, ...(uid !== undefined && { uid }), findings, errors: result.errors, exempted: result.exempted };
    const outcomes = this.outcomes.get(namespace);
    if (outcomes) outcomes.push(outcome);
    else this.outcomes.set(namespace, [outcome]);
  }
}

function objectKey(object: KubeObject): string {
  const metadata = isObject(object.metadata) ? object.metadata : {};
  return `${asString(metadata.namespace) ?? ''}/${asString(object.kind) ?? ''}/${asString(metadata.name) ?? ''}`;
}

/** The key of the object `spec.scaleTargetRef` names; targets are always in the HPA's namespace. */
function targetKey(hpa: KubeObject): string | undefined {
  const spec = isObject(hpa.spec) ? hpa.spec : {};
  const ref = isObject(spec.scaleTargetRef) ? spec.scaleTargetRef : {};
  const kind = asString(ref.kind);
  const name = asString(ref.name);
  if (!kind || !name) return undefined;
  const namespace = isObject(hpa.metadata) ? (asString(hpa.metadata.namespace) ?? '') : '';
  return `${namespace}/${kind}/${name}`;
}
