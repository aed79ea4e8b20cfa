import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_DIR, renderChart, type KubeManifest } from '../support/helm.js';
import { NAMESPACE, ofKind, single, type WebhookConfiguration } from './chart.js';

const ci = (name: string) => join(CHART_DIR, 'ci', `${name}-values.yaml`);
const SERVICE_NAMES = [`podpatterns.${NAMESPACE}.svc`, `podpatterns.${NAMESPACE}.svc.cluster.local`];

interface Secret extends KubeManifest {
  type: string;
  data: Record<string, string>;
}

interface Certificate extends KubeManifest {
  spec: { secretName: string; isCA?: boolean; dnsNames?: string[]; issuerRef: { name: string; kind: string; group: string } };
}

interface PodSpec {
  volumes: { name: string; secret?: { secretName: string } }[];
  containers: { env?: { name: string; value: string }[] }[];
}

const decode = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');

function configurations(manifests: KubeManifest[]): WebhookConfiguration[] {
  return [...ofKind<WebhookConfiguration>(manifests, 'ValidatingWebhookConfiguration'), ...ofKind<WebhookConfiguration>(manifests, 'MutatingWebhookConfiguration')];
}

function tlsVolumeSecret(manifests: KubeManifest[]): string | undefined {
  const pod = single<KubeManifest & { spec: { template: { spec: PodSpec } } }>(manifests, 'Deployment').spec.template.spec;
  return pod.volumes.find((volume) => volume.name === 'tls')?.secret?.secretName;
}

describe('tls.source=helm', () => {
  let manifests: KubeManifest[];
  let secret: Secret;
  beforeAll(async () => {
    manifests = await renderChart([ci('helm-default')]);
    secret = single<Secret>(manifests, 'Secret');
  });

  it('generates a serving certificate for the Service names, signed by the CA every webhook trusts', () => {
    const caBundles = new Set(configurations(manifests).flatMap((configuration) => configuration.webhooks.map((webhook) => webhook.clientConfig.caBundle)));
    expect(caBundles).toEqual(new Set([secret.data['ca.crt']]));
    const ca = new X509Certificate(decode(secret.data['ca.crt']!));
    const serving = new X509Certificate(decode(secret.data['tls.crt']!));
    expect(ca.ca).toBe(true);
    expect(serving.ca).toBe(false);
    expect(serving.checkIssued(ca)).toBe(true);
    expect(serving.verify(ca.publicKey)).toBe(true);
    for (const name of SERVICE_NAMES) expect(serving.checkHost(name, { wildcards: false })).toBe(name);
    expect(serving.checkHost('podpatterns.other-namespace.svc')).toBeUndefined();
  });

  it('stores the private key of that certificate in the Secret the server mounts', () => {
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(secret.metadata.name).toBe(tlsVolumeSecret(manifests));
    const serving = new X509Certificate(decode(secret.data['tls.crt']!));
    expect(serving.checkPrivateKey(createPrivateKey(decode(secret.data['tls.key']!)))).toBe(true);
  });

  it('makes the certificate valid for tls.helm.validityDays', async () => {
    const short = single<Secret>(await renderChart([], { 'tls.helm.validityDays': '30' }), 'Secret');
    const days = (Date.parse(new X509Certificate(decode(short.data['tls.crt']!)).validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29);
    expect(days).toBeLessThan(31);
  });
});

describe('tls.source=cert-manager', () => {
  it('makes its own CA with cert-manager and has the CA injected into both webhook configurations', async () => {
    const manifests = await renderChart([ci('cert-manager')]);
    expect(ofKind(manifests, 'Secret')).toHaveLength(0);
    const issuers = ofKind<KubeManifest & { spec: object }>(manifests, 'Issuer');
    expect(issuers.map((issuer) => [issuer.metadata.name, issuer.spec])).toEqual([
      ['podpatterns-selfsigned', { selfSigned: {} }],
      ['podpatterns-ca', { ca: { secretName: 'podpatterns-ca' } }],
    ]);
    const certificates = ofKind<Certificate>(manifests, 'Certificate');
    const ca = certificates.find((certificate) => certificate.spec.isCA);
    const serving = certificates.find((certificate) => !certificate.spec.isCA);
    expect(ca?.spec).toMatchObject({ secretName: 'podpatterns-ca', issuerRef: { name: 'podpatterns-selfsigned', kind: 'Issuer' } });
    expect(serving?.spec).toMatchObject({ secretName: 'podpatterns-tls', dnsNames: SERVICE_NAMES, issuerRef: { name: 'podpatterns-ca', kind: 'Issuer' } });
    expect(tlsVolumeSecret(manifests)).toBe('podpatterns-tls');
    for (const configuration of configurations(manifests)) {
      expect(configuration.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe(`${NAMESPACE}/podpatterns-tls`);
    }
  });

  it('signs with the issuer given in tls.certManager.issuerRef and makes no CA of its own', async () => {
    const manifests = await renderChart([ci('cert-manager')], { 'tls.certManager.issuerRef.name': 'platform-ca', 'tls.certManager.issuerRef.kind': 'ClusterIssuer' });
    expect(ofKind(manifests, 'Issuer')).toHaveLength(0);
    const certificate = single<Certificate>(manifests, 'Certificate');
    expect(certificate.spec.issuerRef).toEqual({ name: 'platform-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
  });
});

describe('tls.source=existingSecret', () => {
  it('mounts the named Secret and trusts tls.caBundle everywhere, the helm test included', async () => {
    const values = parse(readFileSync(ci('existing-secret'), 'utf8')) as { tls: { existingSecret: string; caBundle: string } };
    const manifests = await renderChart([ci('existing-secret')]);
    expect(ofKind(manifests, 'Secret')).toHaveLength(0);
    expect(tlsVolumeSecret(manifests)).toBe(values.tls.existingSecret);
    for (const configuration of configurations(manifests)) {
      for (const webhook of configuration.webhooks) expect(webhook.clientConfig.caBundle).toBe(values.tls.caBundle);
    }
    const testPod = single<KubeManifest & { spec: PodSpec }>(manifests, 'Pod');
    expect(testPod.spec.containers[0]!.env).toContainEqual({ name: 'WEBHOOK_CA_BUNDLE', value: values.tls.caBundle });
    expect(new X509Certificate(decode(values.tls.caBundle)).ca).toBe(true);
  });
});
