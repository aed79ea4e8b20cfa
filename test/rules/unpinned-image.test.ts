import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'unpinned-image';

const podWith = (...images: string[]) => `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers:
${images.map((image, index) => `    - { name: c${index}, image: "${image}" }`).join('\n')}
`;

const floating = (tags: string[]) =>
  parsePolicy(`rules:\n  unpinned-image:\n    floatingTags: ${JSON.stringify(tags)}\n`, 'policy.yaml', ALL_RULES);

/** The seed article's "With Sidecar Pattern" pod: every helper on a floating tag. */
const seedSidecars = `apiVersion: v1
kind: Pod
metadata: { name: sidecars }
spec:
  containers:
    - name: main-app
      image: myapp:1.0.0
    - name: log-shipper
      image: fluent/fluent-bit:latest
    - name: metrics-exporter
      image: prom/node-exporter:latest
    - name: ssl-proxy
      image: nginx:alpine
`;

describe('unpinned-image', () => {
  it('warns on the seed article\'s `latest` sidecars and points at the image', () => {
    const findings = ruleFindings(RULE, seedSidecars);
    expect(findings.map((f) => [f.severity, f.container, f.path])).toEqual([
      ['warn', 'log-shipper', 'spec.containers[1].image'],
      ['warn', 'metrics-exporter', 'spec.containers[2].image'],
    ]);
    expect(findings[0]!.message).toContain('uses the `latest` tag');
    expect(findings[0]!.fix).toContain('`fluent/fluent-bit:<version>` or `fluent/fluent-bit@sha256:<digest>`');
  });

  it('treats a missing tag as latest, registry ports included', () => {
    const findings = ruleFindings(RULE, podWith('busybox', 'registry.example.com:5000/team/app', 'registry.example.com:5000/team/app:2.0.1'));
    expect(findings.map((f) => f.container)).toEqual(['c0', 'c1']);
    expect(findings[1]!.message).toContain('has no tag, so it means `registry.example.com:5000/team/app:latest`');
  });

  it('accepts a digest, alone or after a tag', () => {
    const digest = 'sha256:' + 'a'.repeat(64);
    expect(ruleFindings(RULE, podWith(`busybox@${digest}`, `nginx:latest@${digest}`, `registry.k8s.io/ingress-nginx/controller:v1.12.0@${digest}`))).toEqual([]);
  });

  it('leaves floating branch tags to policy: flagged only when listed in floatingTags', () => {
    expect(ruleFindings(RULE, seedSidecars).map((f) => f.container)).not.toContain('ssl-proxy');
    const findings = ruleFindings(RULE, seedSidecars, { policy: floating(['alpine', 'main']) });
    expect(findings.map((f) => f.container)).toEqual(['log-shipper', 'metrics-exporter', 'ssl-proxy']);
    expect(findings[2]!.message).toContain('uses `alpine`, a tag your policy lists as floating');
  });

  it('checks init containers and native sidecars as well as regular containers', () => {
    const findings = ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  initContainers:
    - { name: wait, image: busybox }
    - { name: proxy, image: "envoyproxy/envoy:latest", restartPolicy: Always }
  containers:
    - { name: app, image: "registry.example.com/app" }
`);
    expect(findings.map((f) => f.path)).toEqual(['spec.initContainers[0].image', 'spec.initContainers[1].image', 'spec.containers[0].image']);
  });

  it('skips containers without an image instead of failing', () => {
    expect(ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers:
    - { name: a }
    - { name: b, image: 42 }
    - { name: c, image: "  " }
`)).toEqual([]);
  });

  it('reaches the containers of every workload kind', () => {
    const spec = { containers: [{ name: 'app', image: 'registry.example.com/app:latest' }] };
    for (const { kind, yaml, specPath } of everyWorkloadKind(spec)) {
      expect(ruleFindings(RULE, yaml).map((f) => f.path), kind).toEqual([`${specPath}.containers[0].image`]);
    }
  });

  it.skipIf(!realWorldCorpus.available)('flags the `latest` images INDEX.md lists for Argo CD, init containers included', () => {
    const findings = ruleFindings(RULE, realWorld('argocd-ha-namespace-install.yaml'));
    expect(findings.map((f) => `${f.resource.kind}/${f.resource.name}[${f.container}]`).sort()).toEqual([
      'Deployment/argocd-applicationset-controller[argocd-applicationset-controller]',
      'Deployment/argocd-dex-server[copyutil]',
      'Deployment/argocd-notifications-controller[argocd-notifications-controller]',
      'Deployment/argocd-redis-ha-haproxy[secret-init]',
      'Deployment/argocd-repo-server[argocd-repo-server]',
      'Deployment/argocd-repo-server[copyutil]',
      'Deployment/argocd-server[argocd-server]',
      'StatefulSet/argocd-application-controller[argocd-application-controller]',
    ]);
  });

  it.skipIf(!realWorldCorpus.available)('flags the untagged and latest busybox init containers of the otel demo', () => {
    const findings = ruleFindings(RULE, realWorld('otel-demo-helm-rendered.yaml'));
    expect(findings.map((f) => `${f.resource.name}[${f.container}]`).sort()).toEqual([
      'accounting[wait-for-kafka]',
      'cart[wait-for-valkey-cart]',
      'checkout[wait-for-kafka]',
      'flagd[init-config]',
      'fraud-detection[wait-for-kafka]',
      'product-catalog[wait-for-astronomy-db]',
    ]);
  });

  it.skipIf(!realWorldCorpus.available)('accepts the digest-pinned real-world images and leaves redis:alpine to policy', () => {
    expect(ruleFindings(RULE, realWorld('ingress-nginx-cloud.yaml'))).toEqual([]);
    expect(ruleFindings(RULE, realWorld('fluent-bit-kubernetes-logging.yaml'))).toEqual([]);
    const demo = realWorld('microservices-demo-release.yaml');
    expect(ruleFindings(RULE, demo)).toEqual([]);
    expect(ruleFindings(RULE, demo, { policy: floating(['alpine']) }).map((f) => `${f.resource.name}[${f.container}]`)).toEqual(['redis-cart[redis]']);
  });
});
