import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1MutatingWebhookConfiguration, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { CHART_DIR, renderChart, type KubeManifest } from '../../support/helm.js';
import { RUN_LABEL, refusalOf, type Clients, type E2eCluster } from './cluster.js';

/** The chart's own values file for a server outside the cluster (`webhook.url` + `tls.caBundle`). */
const URL_MODE_VALUES = join(CHART_DIR, 'ci/url-mode-values.yaml');

export interface WebhookRelease {
  /** The Helm release name; the configurations are named after it. */
  release: string;
  /** `https://host:port` the API server calls. */
  url: string;
  caBundle: string;
  /** Chart values on top of ci/url-mode-values.yaml (`webhook`, `validation`, `migration`, `policy`). */
  values: Record<string, unknown>;
}

/**
 * The policy file the chart's ConfigMap holds for these values. In url mode the chart renders no server and
 * so no ConfigMap: the policy comes from a render of the same values without `webhook.url`.
 */
export async function renderPolicy(cluster: E2eCluster, directory: string, release: string, values: Record<string, unknown>): Promise<string> {
  const manifests = await renderChart([await valuesFile(directory, `${release}-values.yaml`, values)], {}, renderOptions(cluster, release));
  const configMap = manifests.find((manifest) => manifest.kind === 'ConfigMap' && manifest.metadata.name.endsWith('-policy'));
  const policy = (configMap?.data as Record<string, string> | undefined)?.['policy.yaml'];
  if (policy === undefined) throw new Error(`helm template ${release}: no policy ConfigMap rendered`);
  return policy;
}

/** Every object `helm template` renders for an in-cluster install of these values (no webhook.url). */
export async function renderRelease(cluster: E2eCluster, directory: string, release: string, values: Record<string, unknown>): Promise<KubeManifest[]> {
  return renderChart([await valuesFile(directory, `${release}-release-values.yaml`, values)], {}, renderOptions(cluster, release));
}

/** The webhook configurations of `helm template` in url mode: ci/url-mode-values.yaml, the values, then url and CA. */
export async function renderConfigurations(cluster: E2eCluster, directory: string, release: WebhookRelease): Promise<KubeManifest[]> {
  const files = [
    URL_MODE_VALUES,
    await valuesFile(directory, `${release.release}-values.yaml`, release.values),
    await valuesFile(directory, `${release.release}-url.yaml`, { webhook: { url: release.url }, tls: { caBundle: release.caBundle } }),
  ];
  const manifests = await renderChart(files, {}, renderOptions(cluster, release.release));
  const configurations = manifests.filter((manifest) => manifest.kind.endsWith('WebhookConfiguration'));
  if (configurations.length === 0) throw new Error(`helm template ${release.release}: no webhook configuration rendered`);
  return configurations;
}

async function valuesFile(directory: string, name: string, values: Record<string, unknown>): Promise<string> {
  const file = join(directory, name);
  await writeFile(file, stringify(values));
  return file;
}

/** `.Capabilities.KubeVersion` is the cluster's: the chart decides on the native-sidecar guard from it. */
function renderOptions(cluster: E2eCluster, release: string) {
  return { releaseName: release, namespace: 'podpatterns-system', kubeVersion: cluster.kubernetesVersion };
}

/**
 * Creates or replaces the configurations. Each webhook also gets `RUN_LABEL In [run id]` in its namespace
 * selector, so on a shared cluster it reviews nothing outside the run's own namespaces.
 */
export async function applyConfigurations(clients: Clients, cluster: E2eCluster, configurations: readonly KubeManifest[]): Promise<void> {
  for (const manifest of configurations) {
    const body = scoped(manifest, cluster.runId);
    const name = manifest.metadata.name;
    if (manifest.kind === 'ValidatingWebhookConfiguration') {
      const existing = await clients.admission.readValidatingWebhookConfiguration({ name }).catch(notFound);
      const typed = body as V1ValidatingWebhookConfiguration;
      if (existing) await clients.admission.replaceValidatingWebhookConfiguration({ name, body: { ...typed, metadata: { ...typed.metadata, resourceVersion: existing.metadata!.resourceVersion! } } });
      else await clients.admission.createValidatingWebhookConfiguration({ body: typed });
    } else {
      const existing = await clients.admission.readMutatingWebhookConfiguration({ name }).catch(notFound);
      const typed = body as V1MutatingWebhookConfiguration;
      if (existing) await clients.admission.replaceMutatingWebhookConfiguration({ name, body: { ...typed, metadata: { ...typed.metadata, resourceVersion: existing.metadata!.resourceVersion! } } });
      else await clients.admission.createMutatingWebhookConfiguration({ body: typed });
    }
  }
}

export async function deleteConfigurations(clients: Clients, configurations: readonly KubeManifest[]): Promise<void> {
  for (const { kind, metadata } of configurations) {
    const request =
      kind === 'ValidatingWebhookConfiguration'
        ? clients.admission.deleteValidatingWebhookConfiguration({ name: metadata.name })
        : clients.admission.deleteMutatingWebhookConfiguration({ name: metadata.name });
    await request.catch(notFound);
  }
}

function scoped(manifest: KubeManifest, runId: string): Record<string, unknown> {
  const copy = structuredClone(manifest) as KubeManifest & { webhooks: { namespaceSelector?: { matchExpressions?: unknown[] } }[] };
  copy.metadata.labels = { ...copy.metadata.labels, [RUN_LABEL]: runId };
  for (const webhook of copy.webhooks) {
    webhook.namespaceSelector ??= {};
    webhook.namespaceSelector.matchExpressions = [...(webhook.namespaceSelector.matchExpressions ?? []), { key: RUN_LABEL, operator: 'In', values: [runId] }];
  }
  return copy;
}

function notFound(error: unknown): undefined {
  if (refusalOf(error)?.code === 404) return undefined;
  throw error;
}
