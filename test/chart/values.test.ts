import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parsePolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { CHART_DIR, HelmError, renderChart, type KubeManifest } from '../support/helm.js';
import { SHIPPED_NODE_FLAGS, SHIPPED_NODE_OPTIONS } from '../support/shipped.js';
import { NAMESPACE, POD_BEARING_RESOURCES, covers, ofKind, single, webhookPath, type Webhook, type WebhookConfiguration } from './chart.js';

const ci = (name: string) => join(CHART_DIR, 'ci', `${name}-values.yaml`);
const { appVersion } = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string };

interface ConfigMap extends KubeManifest {
  data: Record<string, string>;
}

interface PodTemplateOwner extends KubeManifest {
  spec: { template: { metadata: { annotations?: Record<string, string> }; spec: PodSpec } };
}

interface PodSpec {
  priorityClassName?: string;
  securityContext?: object;
  automountServiceAccountToken?: boolean;
  containers: { image: string; imagePullPolicy: string; args?: string[]; command?: string[]; env?: { name: string; value: string }[]; securityContext?: object }[];
  volumes?: { name: string; secret?: { secretName: string } }[];
}

function validatingWebhooks(manifests: KubeManifest[]): Webhook[] {
  return single<WebhookConfiguration>(manifests, 'ValidatingWebhookConfiguration').webhooks;
}

function mutatingWebhook(manifests: KubeManifest[]): Webhook {
  const [webhook, ...others] = single<WebhookConfiguration>(manifests, 'MutatingWebhookConfiguration').webhooks;
  expect(others).toEqual([]);
  return webhook!;
}

function policyOf(manifests: KubeManifest[]) {
  const configMap = single<ConfigMap>(manifests, 'ConfigMap');
  return parsePolicy(configMap.data['policy.yaml']!, 'ConfigMap policy.yaml', ALL_RULES);
}

function renderError(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => {
      throw new Error('helm rendered values it should have rejected');
    },
    (error: unknown) => {
      if (!(error instanceof HelmError)) throw error;
      return error.result.stderr;
    },
  );
}

describe('the default install', () => {
  let manifests: KubeManifest[];
  beforeAll(async () => {
    manifests = await renderChart([]);
  });

  it('audits everywhere through one validating webhook', () => {
    const webhooks = validatingWebhooks(manifests);
    expect(webhooks.map((webhook) => [webhook.name, webhookPath(webhook)])).toEqual([['validate.podpatterns.io', '/validate/audit']]);
  });

  it('lets requests through when the webhook is down, and answers within 5 seconds', () => {
    for (const webhook of [...validatingWebhooks(manifests), mutatingWebhook(manifests)]) {
      expect(webhook.failurePolicy).toBe('Ignore');
      expect(webhook.timeoutSeconds).toBe(5);
    }
  });

  it('writes a policy the server accepts, with migration as a dry run', () => {
    expect(policyOf(manifests).migration).toEqual({ mode: 'dry-run', cronJobs: false, pods: false });
  });

  it('sends only Job creation to the mutating webhook', () => {
    const webhook = mutatingWebhook(manifests);
    expect(webhookPath(webhook)).toBe('/mutate');
    expect(covers(webhook, 'batch', 'jobs', 'CREATE')).toBe(true);
    expect(covers(webhook, 'batch', 'jobs', 'UPDATE')).toBe(false);
    expect(covers(webhook, 'batch', 'cronjobs', 'CREATE')).toBe(false);
    expect(covers(webhook, '', 'pods', 'CREATE')).toBe(false);
  });

  it('skips namespaces labelled podpatterns.io/migrate=false in the migration webhook, but not in the native-sidecar guard', async () => {
    const optOut = { key: 'podpatterns.io/migrate', operator: 'NotIn', values: ['false'] };
    expect(mutatingWebhook(manifests).namespaceSelector?.matchExpressions).toContainEqual(optOut);
    const guard = mutatingWebhook(await renderChart([], { nativeSidecarGuard: 'true' }));
    expect(guard.namespaceSelector?.matchExpressions).not.toContainEqual(optOut);
  });

  it('runs two replicas of the appVersion image, scraped by Prometheus annotations', () => {
    const deployment = single<PodTemplateOwner & { spec: { replicas: number } }>(manifests, 'Deployment');
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.template.spec.containers[0]).toMatchObject({ image: `ghcr.io/podpatterns/podpatterns:${appVersion}`, imagePullPolicy: 'IfNotPresent' });
    expect(deployment.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090', 'prometheus.io/path': '/metrics' });
    expect(ofKind(manifests, 'ServiceMonitor')).toHaveLength(0);
  });

  it('starts the server with the V8 flags the benchmarks and end-to-end tests run it with: the image\'s ENTRYPOINT, and the semi-spaces in NODE_OPTIONS too', () => {
    const container = single<PodTemplateOwner>(manifests, 'Deployment').spec.template.spec.containers[0]!;
    expect(container.env).toContainEqual({ name: 'NODE_OPTIONS', value: SHIPPED_NODE_OPTIONS.join(' ') });
    // --no-maglev cannot go in NODE_OPTIONS: only the ENTRYPOINT carries it, so the chart must not replace it.
    expect(container.command).toBeUndefined();
    const entrypoint = /^ENTRYPOINT (.*)$/m.exec(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8'))?.[1];
    expect(JSON.parse(entrypoint ?? '[]')).toEqual(['/nodejs/bin/node', ...SHIPPED_NODE_FLAGS, '/app/dist/cli/main.js', 'serve']);
  });

  it('ships a helm test pod that posts to /validate/enforce with the server\'s security context', () => {
    const testPod = single<KubeManifest & { spec: PodSpec }>(manifests, 'Pod');
    const server = single<PodTemplateOwner>(manifests, 'Deployment').spec.template.spec;
    expect(testPod.metadata.annotations?.['helm.sh/hook']).toBe('test');
    expect(testPod.spec.automountServiceAccountToken).toBe(false);
    expect(testPod.spec.securityContext).toEqual(server.securityContext);
    expect(testPod.spec.containers[0]!.securityContext).toEqual(server.containers[0]!.securityContext);
    expect(testPod.spec.containers[0]!.image).toBe(server.containers[0]!.image);
    expect(testPod.spec.containers[0]!.env).toContainEqual({ name: 'WEBHOOK_URL', value: `https://podpatterns.${NAMESPACE}.svc/validate/enforce` });
    expect(testPod.metadata.labels?.['app.kubernetes.io/component']).not.toBe('webhook');
  });
});

describe('validation modes per namespace', () => {
  it('renders one webhook per mode, named after it, for enforce and warn namespaces', async () => {
    const manifests = await renderChart([ci('enforce-and-warn-namespaces')]);
    expect(validatingWebhooks(manifests).map((webhook) => [webhook.name, webhookPath(webhook), webhook.failurePolicy])).toEqual([
      ['enforce.validate.podpatterns.io', '/validate/enforce', 'Fail'],
      ['warn.validate.podpatterns.io', '/validate/warn', 'Fail'],
      ['validate.podpatterns.io', '/validate/audit', 'Fail'],
    ]);
  });

  it('refuses a namespace listed under both enforce and warn, naming it', async () => {
    const stderr = await renderError(renderChart([], { 'validation.namespaces.enforce': '{payments}', 'validation.namespaces.warn': '{search,payments}' }));
    expect(stderr).toContain('"payments" is listed under both enforce and warn');
  });
});

describe('migration', () => {
  it('applies to Jobs, CronJobs and Pods at creation when opted in', async () => {
    const manifests = await renderChart([ci('migration-apply')]);
    expect(policyOf(manifests).migration).toEqual({ mode: 'apply', cronJobs: true, pods: true });
    expect(policyOf(manifests).rules['port-conflict']?.severity).toBe('deny');
    const webhook = mutatingWebhook(manifests);
    for (const [group, resource] of [['batch', 'jobs'], ['batch', 'cronjobs'], ['', 'pods']] as const) {
      expect(covers(webhook, group, resource, 'CREATE'), resource).toBe(true);
      expect(covers(webhook, group, resource, 'UPDATE'), resource).toBe(false);
    }
    expect(covers(webhook, 'apps', 'deployments', 'CREATE')).toBe(false);
  });

  it('renders no mutating webhook when migration is off on a cluster with native sidecars', async () => {
    const manifests = await renderChart([], { 'migration.mode': 'off' });
    expect(ofKind(manifests, 'MutatingWebhookConfiguration')).toHaveLength(0);
    expect(policyOf(manifests).migration.mode).toBe('off');
  });
});

describe('the native-sidecar guard', () => {
  const guarded = (webhook: Webhook) => POD_BEARING_RESOURCES.every(([group, resource]) => ['CREATE', 'UPDATE'].every((operation) => covers(webhook, group, resource, operation)));

  it('routes every pod-bearing kind through the mutating webhook when cluster.kubernetesVersion is 1.28', async () => {
    const manifests = await renderChart([ci('old-cluster')]);
    expect(guarded(mutatingWebhook(manifests))).toBe(true);
  });

  it('follows the version of the cluster helm installs into when no version is pinned', async () => {
    expect(guarded(mutatingWebhook(await renderChart([], {}, { kubeVersion: 'v1.28.9' })))).toBe(true);
    expect(guarded(mutatingWebhook(await renderChart([], {}, { kubeVersion: 'v1.29.0' })))).toBe(false);
  });

  it('stays on even with migration off, because a dropped restartPolicy hangs the pod', async () => {
    const manifests = await renderChart([], { 'migration.mode': 'off', 'cluster.kubernetesVersion': '1.27' });
    expect(guarded(mutatingWebhook(manifests))).toBe(true);
  });

  it('prefers the pinned version to the cluster helm talks to, and can be forced on', async () => {
    expect(guarded(mutatingWebhook(await renderChart([], { 'cluster.kubernetesVersion': '1.30' }, { kubeVersion: 'v1.28.0' })))).toBe(false);
    expect(guarded(mutatingWebhook(await renderChart([], { nativeSidecarGuard: 'true' }, { kubeVersion: 'v1.33.0' })))).toBe(true);
  });
});

describe('workload settings', () => {
  it('drops the PodDisruptionBudget for a single replica, which it would keep from ever draining', async () => {
    const manifests = await renderChart([], { replicas: '1' });
    expect(ofKind(manifests, 'PodDisruptionBudget')).toHaveLength(0);
  });

  it('pulls by digest and sets the priority class when asked', async () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const manifests = await renderChart([], { 'image.digest': digest, priorityClassName: 'system-cluster-critical' });
    const pod = single<PodTemplateOwner>(manifests, 'Deployment').spec.template.spec;
    expect(pod.containers[0]!.image).toBe(`ghcr.io/podpatterns/podpatterns@${digest}`);
    expect(pod.priorityClassName).toBe('system-cluster-critical');
  });

  it('passes pinned versions to the server and mounts no token', async () => {
    const manifests = await renderChart([ci('existing-secret')]);
    const pod = single<PodTemplateOwner>(manifests, 'Deployment').spec.template.spec;
    expect(pod.containers[0]!.args).toEqual(expect.arrayContaining(['--kubernetes-version=1.31', '--min-kubelet-version=1.30']));
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('still mounts a token to list nodes when only the API server version is pinned', async () => {
    const manifests = await renderChart([], { 'cluster.kubernetesVersion': '1.31' });
    const pod = single<PodTemplateOwner>(manifests, 'Deployment').spec.template.spec;
    expect(pod.containers[0]!.args).toContain('--kubernetes-version=1.31');
    expect(pod.containers[0]!.args?.some((arg) => arg.startsWith('--min-kubelet-version'))).toBe(false);
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(ofKind(manifests, 'ClusterRole')).toHaveLength(1);
  });

  it('scrapes through a ServiceMonitor instead of annotations when asked', async () => {
    const manifests = await renderChart([ci('cert-manager')]);
    const monitor = single<KubeManifest & { spec: { endpoints: { port: string; path: string }[] } }>(manifests, 'ServiceMonitor');
    expect(monitor.metadata.labels?.release).toBe('prometheus');
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    const annotations = single<PodTemplateOwner>(manifests, 'Deployment').spec.template.metadata.annotations ?? {};
    expect(annotations['prometheus.io/scrape']).toBeUndefined();
  });
});

describe('Chart.yaml', () => {
  it('refuses clusters older than 1.25', async () => {
    const stderr = await renderError(renderChart([], {}, { kubeVersion: 'v1.24.17' }));
    expect(stderr).toContain('>=1.25.0-0');
  });
});

describe('webhook.url', () => {
  it('points every webhook at the URL with the given caBundle', async () => {
    const values = parse(readFileSync(ci('url-mode'), 'utf8')) as { tls: { caBundle: string } };
    const manifests = await renderChart([ci('url-mode')]);
    const webhooks = [...validatingWebhooks(manifests), mutatingWebhook(manifests)];
    expect(webhooks.map((webhook) => webhook.clientConfig.url)).toEqual(['https://127.0.0.1:8443/validate/enforce', 'https://127.0.0.1:8443/mutate']);
    for (const webhook of webhooks) expect(webhook.clientConfig.caBundle).toBe(values.tls.caBundle);
  });
});

describe('policy.exemptions', () => {
  it('honours no self-exemption by default: no annotation in the policy, no label skipped by any webhook', async () => {
    const manifests = await renderChart([]);
    expect(policyOf(manifests).exemptions).toEqual({ annotations: false, namespaces: [], list: [] });
    for (const webhook of [...validatingWebhooks(manifests), mutatingWebhook(manifests)]) expect(webhook.objectSelector, webhook.name).toBeUndefined();
  });

  it('never skips labelled objects, even when the policy honours the annotation: a skipped object could show no exemption', async () => {
    const everywhere = await renderChart([], { 'policy.exemptions.annotations': 'true' });
    expect(policyOf(everywhere).exemptions.annotations).toBe(true);
    for (const webhook of [...validatingWebhooks(everywhere), mutatingWebhook(everywhere)]) expect(webhook.objectSelector, webhook.name).toBeUndefined();
    const some = await renderChart([], { 'policy.exemptions.annotations': 'true', 'policy.exemptions.namespaces': '{sandbox}' });
    expect(policyOf(some).exemptions.namespaces).toEqual(['sandbox']);
  });

  it('writes central exemptions into the policy file the server reads', async () => {
    const manifests = await renderChart([], {
      'policy.exemptions.list[0].namespace': 'legacy',
      'policy.exemptions.list[0].name': 'billing-*',
      'policy.exemptions.list[0].rules[0]': 'port-conflict',
      'policy.exemptions.list[0].reason': 'ticket OPS-1234',
      'policy.exemptions.list[0].expires': '2027-03-31',
    });
    expect(policyOf(manifests).exemptions.list).toEqual([
      expect.objectContaining({ namespace: 'legacy', name: 'billing-*', rules: ['port-conflict'], reason: 'ticket OPS-1234', expires: expect.objectContaining({ date: '2027-03-31' }) }),
    ]);
  });
});
