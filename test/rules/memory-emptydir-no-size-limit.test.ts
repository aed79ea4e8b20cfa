import { describe, expect, it } from 'vitest';
import { ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'memory-emptydir-no-size-limit';

/** The Vault Agent recipe of the multi-container article: secrets in a tmpfs, no size limit. */
const VAULT_AGENT_RECIPE = `apiVersion: v1
kind: Pod
metadata: { name: app-with-vault }
spec:
  containers:
    - name: app
      image: myorg/app:2.1
      volumeMounts:
        - { name: vault-secrets, mountPath: /etc/secrets, readOnly: true }
    - name: vault-agent
      image: hashicorp/vault:1.15
      args: [agent, -config=/etc/vault/config.hcl]
      volumeMounts:
        - { name: vault-config, mountPath: /etc/vault }
        - { name: vault-secrets, mountPath: /etc/secrets }
  volumes:
    - name: vault-secrets
      emptyDir:
        medium: Memory # secrets in tmpfs, not disk
    - name: vault-config
      configMap: { name: vault-agent-config }
`;

describe('memory-emptydir-no-size-limit', () => {
  it('warns on the Vault Agent recipe and charges the tmpfs to the writer, not the read-only reader', () => {
    const findings = ruleFindings(RULE, VAULT_AGENT_RECIPE);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'warn', path: 'spec.volumes[0]' });
    expect(findings[0]!.message).toContain("emptyDir 'vault-secrets' is a tmpfs");
    expect(findings[0]!.message).toContain("memory limit of 'vault-agent'");
    expect(findings[0]!.message).not.toContain("'app'");
    expect(findings[0]!.fix).toContain('Set `sizeLimit` under spec.volumes[0].emptyDir');
  });

  it('accepts the same recipe once the volume has a sizeLimit', () => {
    expect(ruleFindings(RULE, VAULT_AGENT_RECIPE.replace('medium: Memory # secrets in tmpfs, not disk', 'medium: Memory\n        sizeLimit: 8Mi'))).toEqual([]);
  });

  it('names the init container that writes a config into memory for the app to read', () => {
    // The article's example: a 200Mi config written by an init container eats the app's 256Mi limit.
    const findings = ruleFindings(RULE, `apiVersion: apps/v1
kind: Deployment
metadata: { name: api }
spec:
  template:
    spec:
      initContainers:
        - name: fetch-config
          image: registry.example.com/config-fetcher:1.2.0
          volumeMounts: [{ name: config, mountPath: /config }]
      containers:
        - name: api
          image: mycompany/api:3.2.0
          resources: { limits: { memory: 256Mi } }
          volumeMounts: [{ name: config, mountPath: /config, readOnly: true }]
      volumes:
        - name: config
          emptyDir: { medium: Memory }
`);
    expect(findings.map((f) => f.path)).toEqual(['spec.template.spec.volumes[0]']);
    expect(findings[0]!.message).toContain("memory limit of 'fetch-config'");
  });

  it('ignores disk-backed emptyDirs, with or without a size limit', () => {
    for (const workload of everyWorkloadKind({ containers: [{ name: 'a', image: 'a:1' }], volumes: [{ name: 'scratch', emptyDir: {} }] })) {
      expect(ruleFindings(RULE, workload.yaml), workload.kind).toEqual([]);
    }
  });

  it('points at the volume in every workload kind', () => {
    const spec = {
      containers: [{ name: 'a', image: 'a:1', volumeMounts: [{ name: 'shm', mountPath: '/dev/shm' }] }],
      volumes: [{ name: 'data', emptyDir: {} }, { name: 'shm', emptyDir: { medium: 'Memory' } }],
    };
    for (const workload of everyWorkloadKind(spec)) {
      expect(ruleFindings(RULE, workload.yaml).map((f) => f.path), workload.kind).toEqual([`${workload.specPath}.volumes[1]`]);
    }
  });

  it.skipIf(!realWorldCorpus.available)('ignores the disk-backed log volumes of the Kubernetes docs examples', () => {
    expect(ruleFindings(RULE, realWorld('k8s-website-classic-multicontainer.yaml'))).toEqual([]);
  });

  it.skipIf(!realWorldCorpus.available)('finds the /dev/shm volumes of vLLM and the Bitnami PostgreSQL charts', () => {
    expect(ruleFindings(RULE, realWorld('k8s-examples-ai-vllm.yaml')).map((f) => f.resource.name)).toEqual(['vllm-gemma-deployment']);
    expect(ruleFindings(RULE, realWorld('bitnami-postgresql-metrics.yaml')).map((f) => f.message)).toEqual([
      expect.stringContaining("emptyDir 'dshm'"),
    ]);
    expect(ruleFindings(RULE, realWorld('bitnami-airflow.yaml')).map((f) => f.resource.name)).toEqual(['airflow-postgresql']);
  });

  it.skipIf(!realWorldCorpus.available)('finds the istio-envoy volume in all six injected workload kinds and the Linkerd identity volume in all three control-plane Deployments', () => {
    const istio = ruleFindings(RULE, realWorld('istio-injected-classic-sidecar.yaml'));
    expect(istio.map((f) => f.resource.kind).sort()).toEqual(['CronJob', 'DaemonSet', 'Job', 'Pod', 'ReplicaSet', 'StatefulSet']);
    expect(istio.find((f) => f.resource.kind === 'CronJob')!.path).toBe('spec.jobTemplate.spec.template.spec.volumes[3]');
    for (const finding of istio) expect(finding.message).toContain("emptyDir 'istio-envoy'");
    const linkerd = ruleFindings(RULE, realWorld('linkerd-install-ha.yaml'));
    expect(linkerd.map((f) => f.resource.name).sort()).toEqual(['linkerd-destination', 'linkerd-identity', 'linkerd-proxy-injector']);
  });

  it.skipIf(!realWorldCorpus.available)('stays quiet on corpus files without memory-backed volumes', () => {
    for (const file of ['vault-helm-ha.yaml', 'prometheus-helm.yaml', 'csi-driver-nfs.yaml']) {
      expect(ruleFindings(RULE, realWorld(file)), file).toEqual([]);
    }
  });

  it('ignores malformed volumes without an error and still names an unnamed memory volume', () => {
    const findings = ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers: [{ name: a, image: a:1, volumeMounts: [null, { name: 3 }] }]
  volumes: [null, 3, { name: x, emptyDir: "Memory" }, { emptyDir: { medium: Memory } }]
`);
    expect(findings.map((f) => [f.path, f.message.slice(0, 30)])).toEqual([['spec.volumes[3]', "emptyDir 'volumes[3]' is a tmp"]]);
  });
});
