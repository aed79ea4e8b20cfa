import { beforeAll, describe, expect, it } from 'vitest';
import type { KubeManifest } from '../support/helm.js';
import {
  NAMESPACE,
  POD_BEARING_RESOURCES,
  VALUES_CASES,
  covers,
  namespaceLabels,
  ofKind,
  renderCase,
  selects,
  valueAt,
  webhookPath,
  type ValuesCase,
  type WebhookConfiguration,
} from './chart.js';

interface Container {
  name: string;
  args?: string[];
  securityContext?: Record<string, unknown>;
  livenessProbe?: { httpGet?: { path: string; port: string | number; scheme?: string } };
  readinessProbe?: { httpGet?: { path: string; port: string | number; scheme?: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}

interface PodSpec {
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown>;
  terminationGracePeriodSeconds?: number;
  topologySpreadConstraints?: { topologyKey: string; whenUnsatisfiable: string; maxSkew: number }[];
  containers: Container[];
  volumes?: { name: string; emptyDir?: object; secret?: { secretName: string } }[];
}

interface Deployment extends KubeManifest {
  spec: { replicas: number; template: { metadata: { annotations?: Record<string, string> }; spec: PodSpec } };
}

/** A DNS-1123 subdomain, what the API server requires of every segment of clientConfig.service.path. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function argument(container: Container, flag: string): string | undefined {
  const prefix = `--${flag}=`;
  return container.args?.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

/** Namespaces worth asking about for a values case: every one it names, plus two it does not. */
function namespacesOf(values: ValuesCase['values']): string[] {
  return [
    'default',
    'team-unlisted',
    'kube-system',
    NAMESPACE,
    ...valueAt<string[]>(values, 'webhook.excludeNamespaces'),
    ...valueAt<string[]>(values, 'validation.namespaces.enforce'),
    ...valueAt<string[]>(values, 'validation.namespaces.warn'),
  ];
}

/** The cases with a validating webhook: all but validation.engine=cel, where in-tree policies do it all. */
const WEBHOOK_CASES = VALUES_CASES.filter((valuesCase) => valueAt<string>(valuesCase.values, 'validation.engine') !== 'cel');

/** The cases that run the server in the cluster: not webhook.url, and some webhook to answer (cel engines for both have none). */
const SERVED_CASES = VALUES_CASES.filter(
  (valuesCase) =>
    !valueAt<string>(valuesCase.values, 'webhook.url') &&
    (valueAt<string>(valuesCase.values, 'validation.engine') !== 'cel' ||
      (valueAt<string>(valuesCase.values, 'migration.engine') === 'webhook' && valueAt<string>(valuesCase.values, 'migration.mode') !== 'off')),
);

describe.each(VALUES_CASES.filter((valuesCase) => !WEBHOOK_CASES.includes(valuesCase)))('the chart rendered with $name', (valuesCase) => {
  it('renders no webhook configuration and no server: the API server runs the policies', async () => {
    const manifests = await renderCase(valuesCase);
    expect(ofKind(manifests, 'ValidatingWebhookConfiguration')).toEqual([]);
    expect(ofKind(manifests, 'ValidatingAdmissionPolicy').length).toBeGreaterThan(5);
    expect(SERVED_CASES).not.toContain(valuesCase);
    expect(ofKind(manifests, 'Deployment')).toEqual([]);
  });
});

describe.each(WEBHOOK_CASES)('the chart rendered with $name', (valuesCase) => {
  let manifests: KubeManifest[];
  let validating: WebhookConfiguration;
  let mutating: WebhookConfiguration[];

  beforeAll(async () => {
    manifests = await renderCase(valuesCase);
    [validating] = ofKind<WebhookConfiguration>(manifests, 'ValidatingWebhookConfiguration') as [WebhookConfiguration];
    mutating = ofKind<WebhookConfiguration>(manifests, 'MutatingWebhookConfiguration');
  });

  const webhooks = () => [...validating.webhooks, ...mutating.flatMap((configuration) => configuration.webhooks)];

  it('renders one ValidatingWebhookConfiguration and at most one MutatingWebhookConfiguration', () => {
    expect(ofKind(manifests, 'ValidatingWebhookConfiguration')).toHaveLength(1);
    expect(mutating.length).toBeLessThanOrEqual(1);
  });

  it('gives every webhook a unique, qualified name', () => {
    const names = webhooks().map((webhook) => webhook.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/);
  });

  it('sets the fields every webhook needs to be safe explicitly', () => {
    for (const webhook of webhooks()) {
      expect(webhook.admissionReviewVersions, webhook.name).toEqual(['v1']);
      expect(webhook.sideEffects, webhook.name).toBe('NoneOnDryRun');
      expect(webhook.matchPolicy, webhook.name).toBe('Equivalent');
      expect(webhook.failurePolicy, webhook.name).toBe(valueAt(valuesCase.values, 'webhook.failurePolicy'));
      expect(webhook.timeoutSeconds, webhook.name).toBeGreaterThanOrEqual(1);
      expect(webhook.timeoutSeconds, webhook.name).toBeLessThanOrEqual(10);
      // What an object selector skips is never seen, so no exemption could show: none is rendered.
      expect(webhook.objectSelector, webhook.name).toBeUndefined();
    }
  });

  it('never reviews kube-system, the release namespace or the excluded namespaces', () => {
    const excluded = ['kube-system', NAMESPACE, ...valueAt<string[]>(valuesCase.values, 'webhook.excludeNamespaces')];
    for (const webhook of webhooks()) {
      for (const namespace of excluded) expect(selects(webhook.namespaceSelector, namespaceLabels(namespace)), `${webhook.name} in ${namespace}`).toBe(false);
      const notIn = webhook.namespaceSelector?.matchExpressions?.find((term) => term.key === 'kubernetes.io/metadata.name' && term.operator === 'NotIn');
      expect(notIn?.values, webhook.name).toEqual(expect.arrayContaining(['kube-system', NAMESPACE]));
    }
  });

  it('reviews each object once, in the mode its namespace is listed under', () => {
    const enforce = valueAt<string[]>(valuesCase.values, 'validation.namespaces.enforce');
    const warn = valueAt<string[]>(valuesCase.values, 'validation.namespaces.warn');
    const excluded = ['kube-system', NAMESPACE, ...valueAt<string[]>(valuesCase.values, 'webhook.excludeNamespaces')];
    for (const namespace of namespacesOf(valuesCase.values)) {
      const reviewing = validating.webhooks.filter((webhook) => selects(webhook.namespaceSelector, namespaceLabels(namespace)));
      if (excluded.includes(namespace)) {
        expect(reviewing, namespace).toHaveLength(0);
        continue;
      }
      expect(reviewing.map((webhook) => webhook.name), namespace).toHaveLength(1);
      const mode = enforce.includes(namespace) ? 'enforce' : warn.includes(namespace) ? 'warn' : valueAt<string>(valuesCase.values, 'validation.mode');
      expect(webhookPath(reviewing[0]!), namespace).toBe(`/validate/${mode}`);
    }
  });

  it('validates CREATE and UPDATE of every kind that carries a pod template', () => {
    for (const webhook of validating.webhooks) {
      for (const [group, resource] of POD_BEARING_RESOURCES) {
        for (const operation of ['CREATE', 'UPDATE']) expect(covers(webhook, group, resource, operation), `${webhook.name} ${operation} ${group}/${resource}`).toBe(true);
      }
      expect(covers(webhook, '', 'pods', 'DELETE'), webhook.name).toBe(false);
    }
  });

  it('sends no HorizontalPodAutoscaler to any webhook: admission sees an HPA without the workload it scales', () => {
    for (const webhook of webhooks()) {
      expect(webhook.rules.flatMap((rule) => rule.apiGroups), webhook.name).not.toContain('autoscaling');
      for (const operation of ['CREATE', 'UPDATE']) expect(covers(webhook, 'autoscaling', 'horizontalpodautoscalers', operation), `${webhook.name} ${operation}`).toBe(false);
    }
  });

  it('uses paths and URLs the API server accepts: no query string, DNS-1123 path segments', () => {
    for (const webhook of webhooks()) {
      const { url, service } = webhook.clientConfig;
      expect(Boolean(url) !== Boolean(service), `${webhook.name}: exactly one of url and service`).toBe(true);
      if (url) {
        const parsed = new URL(url);
        expect(parsed.protocol).toBe('https:');
        expect(parsed.search + parsed.hash).toBe('');
      } else {
        expect(service).toMatchObject({ name: expect.any(String), namespace: NAMESPACE, port: 443 });
        for (const segment of service!.path!.slice(1).split('/')) expect(segment, service!.path).toMatch(DNS_SUBDOMAIN);
      }
    }
  });

  it('trusts a CA: a caBundle on every webhook, or cert-manager injecting one', () => {
    const injected = validating.metadata.annotations?.['cert-manager.io/inject-ca-from'];
    for (const configuration of [validating, ...mutating]) {
      expect(configuration.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe(injected);
      for (const webhook of configuration.webhooks) {
        if (injected) expect(webhook.clientConfig.caBundle, webhook.name).toBeUndefined();
        else expect(Buffer.from(webhook.clientConfig.caBundle ?? '', 'base64').toString(), webhook.name).toContain('-----BEGIN CERTIFICATE-----');
      }
    }
  });

  it('puts the mutating webhook on reinvocation IfNeeded, so containers added by later webhooks are seen', () => {
    for (const webhook of mutating.flatMap((configuration) => configuration.webhooks)) expect(webhook.reinvocationPolicy).toBe('IfNeeded');
  });

});

describe.each(SERVED_CASES)('the webhook Deployment rendered with $name', (valuesCase) => {
  let manifests: KubeManifest[];
  let deployment: Deployment;
  let pod: PodSpec;
  let container: Container;

  beforeAll(async () => {
    manifests = await renderCase(valuesCase);
    [deployment] = ofKind<Deployment>(manifests, 'Deployment') as [Deployment];
    pod = deployment.spec.template.spec;
    [container] = pod.containers as [Container];
  });

  it('runs as uid 65532 with a read-only root, no capabilities, no privilege escalation and seccomp RuntimeDefault', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('probes liveness on /livez and readiness on /readyz over HTTPS', () => {
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/livez', port: 'https', scheme: 'HTTPS' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
  });

  it('requests CPU and memory and limits memory', () => {
    expect(container.resources?.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources?.limits?.memory).toEqual(expect.any(String));
  });

  it('waits longer than the shutdown delay plus the drain of in-flight reviews before killing the pod', () => {
    const seconds = (flag: string) => Number(/^(\d+)s$/.exec(argument(container, flag) ?? '')?.[1]);
    const delay = seconds('shutdown-delay');
    const drain = seconds('shutdown-timeout');
    expect(delay).toBe(valueAt(valuesCase.values, 'server.shutdownDelaySeconds'));
    expect(drain).toBe(valueAt(valuesCase.values, 'webhook.timeoutSeconds'));
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(delay + drain);
  });

  it('spreads replicas across nodes without blocking scheduling on a single node', () => {
    expect(deployment.spec.replicas).toBe(valueAt(valuesCase.values, 'replicas'));
    expect(pod.topologySpreadConstraints).toEqual([
      expect.objectContaining({ topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', maxSkew: 1 }),
    ]);
  });

  it('has a PodDisruptionBudget keeping one pod when there are two or more', () => {
    const budgets = ofKind<KubeManifest & { spec: { minAvailable: number } }>(manifests, 'PodDisruptionBudget');
    expect(budgets).toHaveLength(deployment.spec.replicas > 1 ? 1 : 0);
    if (budgets[0]) expect(budgets[0].spec.minAvailable).toBe(1);
  });

  it('mounts a service account token only when it reads a cluster version from the API', () => {
    const apiVersion = argument(container, 'kubernetes-version');
    const kubeletVersion = argument(container, 'min-kubelet-version');
    expect(apiVersion).toBe(valueAt<string>(valuesCase.values, 'cluster.kubernetesVersion') || undefined);
    expect(kubeletVersion).toBe(valueAt<string>(valuesCase.values, 'cluster.minKubeletVersion') || undefined);
    const needsApi = apiVersion === undefined || kubeletVersion === undefined;
    expect(pod.automountServiceAccountToken).toBe(needsApi);
    // The webhook's own objects: the cluster audit CronJob (clusterAudit) has its ServiceAccount and ClusterRole.
    const webhooks = manifests.filter((manifest) => manifest.metadata.labels?.['app.kubernetes.io/component'] === 'webhook');
    const roles = ofKind<KubeManifest & { rules: unknown[] }>(webhooks, 'ClusterRole');
    if (needsApi) {
      expect(roles).toHaveLength(1);
      expect(roles[0]!.rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }]);
      expect(ofKind(webhooks, 'ClusterRoleBinding')).toHaveLength(1);
    } else {
      expect(roles).toHaveLength(0);
      expect(ofKind(webhooks, 'ClusterRoleBinding')).toHaveLength(0);
    }
    const [account] = ofKind<KubeManifest & { automountServiceAccountToken?: boolean }>(webhooks, 'ServiceAccount');
    expect(account?.automountServiceAccountToken).toBe(false);
  });

  it('mounts whole directories, never subPath, so Secret and ConfigMap updates reach the server', () => {
    expect(container.volumeMounts?.every((mount) => mount.subPath === undefined)).toBe(true);
    expect(container.volumeMounts).toContainEqual(expect.objectContaining({ mountPath: '/tmp' }));
    expect(pod.volumes?.find((volume) => volume.name === 'tmp')?.emptyDir).toBeDefined();
    const certificate = argument(container, 'tls-cert')!;
    const tlsMount = container.volumeMounts!.find((mount) => certificate.startsWith(`${mount.mountPath}/`));
    expect(pod.volumes?.find((volume) => volume.name === tlsMount?.name)?.secret).toBeDefined();
  });

  it('serves HTTPS on 8443 behind a Service on 443', () => {
    const [service] = ofKind<KubeManifest & { spec: { ports: { name: string; port: number; targetPort: string }[] } }>(manifests, 'Service');
    expect(argument(container, 'port')).toBe('8443');
    expect(service?.spec.ports).toContainEqual({ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' });
  });
});
