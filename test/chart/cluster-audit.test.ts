import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { reportResource } from '../../src/audit/apply-reports.js';
import { LISTED_KINDS } from '../../src/kube/resources.js';
import { groupOf } from '../../src/model/kinds.js';
import { REPORT_APIS } from '../../src/report/policyreport.js';
import { CHART_DIR, HelmError, renderChart, type KubeManifest } from '../support/helm.js';
import { NAMESPACE, ofKind, single } from './chart.js';

const CI_VALUES = join(CHART_DIR, 'ci', 'cluster-audit-values.yaml');

interface Container {
  name: string;
  image: string;
  command?: string[];
  args: string[];
  securityContext?: object;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  restartPolicy?: string;
  securityContext?: object;
  containers: Container[];
  volumes: { name: string; configMap?: { name: string } }[];
}

interface CronJob extends KubeManifest {
  spec: {
    schedule: string;
    timeZone?: string;
    concurrencyPolicy: string;
    jobTemplate: { spec: { backoffLimit: number; activeDeadlineSeconds: number; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };
  };
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const component = (manifest: KubeManifest) => manifest.metadata.labels?.['app.kubernetes.io/component'];
const auditObjects = (manifests: KubeManifest[]) => manifests.filter((manifest) => component(manifest) === 'cluster-audit');

/** `group/resource verb` for every pair a ClusterRole grants. */
function grants(rules: Rule[]): string[] {
  return rules.flatMap((rule) => rule.apiGroups.flatMap((group) => rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${group}/${resource} ${verb}`)))).sort();
}

function flag(container: Container, name: string): string | undefined {
  return container.args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

describe('the cluster audit CronJob of the chart', () => {
  it('is off by default: no CronJob, and no ServiceAccount or ClusterRole for it', async () => {
    const manifests = await renderChart([]);
    expect(ofKind(manifests, 'CronJob')).toEqual([]);
    expect(auditObjects(manifests)).toEqual([]);
  });

  describe('rendered with ci/cluster-audit-values.yaml', () => {
    let manifests: KubeManifest[];
    let cronJob: CronJob;
    let pod: PodSpec;
    let container: Container;

    beforeAll(async () => {
      manifests = await renderChart([CI_VALUES]);
      cronJob = single<CronJob>(manifests, 'CronJob');
      pod = cronJob.spec.jobTemplate.spec.template.spec;
      [container] = pod.containers as [Container];
    });

    it('runs podpatterns audit --cluster --all-namespaces --output policyreport --apply on the schedule, never two at once', () => {
      expect(cronJob.spec).toMatchObject({ schedule: '0 */2 * * *', timeZone: 'Europe/Paris', concurrencyPolicy: 'Forbid' });
      expect(container.command).toEqual(['/nodejs/bin/node', '/app/dist/cli/main.js']);
      expect(container.args.slice(0, 5)).toEqual(['audit', '--cluster', '--all-namespaces', '--output=policyreport', '--apply']);
      expect(flag(container, 'report-api')).toBe('openreports');
      expect(flag(container, 'fail-on')).toBe('none');
      expect(flag(container, 'max-report-results')).toBe('500');
      expect(pod.restartPolicy).toBe('Never');
    });

    it('passes only flags the audit command knows', () => {
      const audit = buildProgram().commands.find((command) => command.name() === 'audit')!;
      const known = new Set(audit.options.map((option) => option.long));
      const used = container.args.filter((arg) => arg.startsWith('--')).map((arg) => arg.split('=')[0]);
      expect(used.filter((name) => !known.has(name))).toEqual([]);
    });

    it("runs with the webhook pod's hardened security context", () => {
      const webhook = single<KubeManifest & { spec: { template: { spec: PodSpec } } }>(manifests, 'Deployment').spec.template.spec;
      expect(pod.securityContext).toEqual(webhook.securityContext);
      expect(container.securityContext).toEqual(webhook.containers[0]!.securityContext);
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(container.resources?.limits?.memory).toEqual(expect.any(String));
    });

    it('reads the policy the webhook enforces, from its ConfigMap', () => {
      const policy = flag(container, 'policy')!;
      const mount = container.volumeMounts.find((candidate) => policy.startsWith(`${candidate.mountPath}/`))!;
      const configMap = single<KubeManifest>(manifests, 'ConfigMap');
      expect(pod.volumes.find((volume) => volume.name === mount.name)?.configMap?.name).toBe(configMap.metadata.name);
      expect(mount.readOnly).toBe(true);
    });

    it('runs as its own ServiceAccount, the one its ClusterRole is bound to, with a token mounted for it alone', () => {
      const account = single<KubeManifest & { automountServiceAccountToken?: boolean }>(auditObjects(manifests), 'ServiceAccount');
      const binding = single<KubeManifest & { roleRef: { name: string }; subjects: { kind: string; name: string; namespace: string }[] }>(auditObjects(manifests), 'ClusterRoleBinding');
      const role = single<KubeManifest>(auditObjects(manifests), 'ClusterRole');
      const webhookAccount = ofKind(manifests, 'ServiceAccount').find((candidate) => component(candidate) === 'webhook');
      expect(pod.serviceAccountName).toBe(account.metadata.name);
      expect(account.metadata.name).not.toBe(webhookAccount?.metadata.name);
      expect(account.automountServiceAccountToken).toBe(false);
      expect(pod.automountServiceAccountToken).toBe(true);
      expect(binding.roleRef.name).toBe(role.metadata.name);
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: account.metadata.name, namespace: NAMESPACE }]);
    });

    it('may list exactly the kinds the audit reads and write OpenReports; no nodes, since the kubelet version is pinned', () => {
      const role = single<KubeManifest & { rules: Rule[] }>(auditObjects(manifests), 'ClusterRole');
      const reads = LISTED_KINDS.map((kind) => `${groupOf(kind.apiVersion)}/${kind.resource} list`);
      const reports = ['get', 'list', 'create', 'update'].map((verb) => `openreports.io/reports ${verb}`);
      expect(grants(role.rules)).toEqual([...reads, ...reports].sort());
      expect(flag(container, 'min-kubelet-version')).toBe('1.31');
    });
  });

  it.each(REPORT_APIS)('with clusterAudit.reportApi=%s, runs --report-api with it and may write reports of that API only', async (api) => {
    const manifests = await renderChart([CI_VALUES], { 'clusterAudit.reportApi': api });
    expect(flag(single<CronJob>(manifests, 'CronJob').spec.jobTemplate.spec.template.spec.containers[0]!, 'report-api')).toBe(api);
    const role = single<KubeManifest & { rules: Rule[] }>(auditObjects(manifests), 'ClusterRole');
    // reportResource is what the CLI names in its errors: `reports.openreports.io`, `policyreports.wgpolicyk8s.io`.
    const [resource, ...group] = reportResource(api).split('.');
    expect(role.rules.filter((rule) => rule.resources.some((name) => name.endsWith('reports')))).toEqual([{ apiGroups: [group.join('.')], resources: [resource], verbs: ['get', 'list', 'create', 'update'] }]);
  });

  it('refuses a clusterAudit.reportApi it does not know, naming the key', async () => {
    const error = await renderChart([], { 'clusterAudit.reportApi': 'policyreport' }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(HelmError);
    expect((error as HelmError).result.stderr).toContain('/clusterAudit/reportApi');
  });

  it('may also list nodes when the oldest kubelet is read from the cluster', async () => {
    const manifests = await renderChart([], { 'clusterAudit.enabled': 'true' });
    const role = single<KubeManifest & { rules: Rule[] }>(auditObjects(manifests), 'ClusterRole');
    expect(grants(role.rules)).toContain('/nodes list');
    expect(single<CronJob>(manifests, 'CronJob').spec.jobTemplate.spec.template.spec.containers[0]!.args.some((arg) => arg.startsWith('--min-kubelet-version'))).toBe(false);
  });

  it('runs clusterAudit.image by digest when one is given, else the webhook image', async () => {
    const digest = `sha256:${'cd'.repeat(32)}`;
    const own = await renderChart([], { 'clusterAudit.enabled': 'true', 'clusterAudit.image.repository': 'registry.example.com/podpatterns', 'clusterAudit.image.digest': digest });
    expect(single<CronJob>(own, 'CronJob').spec.jobTemplate.spec.template.spec.containers[0]!.image).toBe(`registry.example.com/podpatterns@${digest}`);
    const shared = await renderChart([], { 'clusterAudit.enabled': 'true', 'image.tag': '9.9.9' });
    expect(single<CronJob>(shared, 'CronJob').spec.jobTemplate.spec.template.spec.containers[0]!.image).toBe('ghcr.io/podpatterns/podpatterns:9.9.9');
  });

  it('refuses clusterAudit.enabled with webhook.url, where no policy ConfigMap exists to read', async () => {
    const error = await renderChart([join(CHART_DIR, 'ci', 'url-mode-values.yaml')], { 'clusterAudit.enabled': 'true' }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(HelmError);
    expect((error as HelmError).result.stderr).toContain('clusterAudit.enabled needs the in-cluster install');
  });

  it('refuses a schedule that is not five cron fields, naming the key', async () => {
    const error = await renderChart([], { 'clusterAudit.schedule': 'every six hours' }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(HelmError);
    expect((error as HelmError).result.stderr).toContain('/clusterAudit/schedule');
  });
});
