import { describe, expect, it } from 'vitest';
import { ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'shared-volume-concurrent-writers';

const pod = (containers: string, volumes = '[{ name: data, emptyDir: {} }]', initContainers = '[]') => `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  initContainers: ${initContainers}
  containers: ${containers}
  volumes: ${volumes}
`;

const writer = (name: string, mount: string) => `
    - { name: ${name}, image: registry.example.com/${name}:1.0.0, volumeMounts: [${mount}] }`;

describe('shared-volume-concurrent-writers', () => {
  it('records two containers writing the same emptyDir, at audit level, on the second mount', () => {
    const findings = ruleFindings(RULE, pod(writer('app', '{ name: data, mountPath: /var/log/app }') + writer('shipper', '{ name: data, mountPath: /logs }')));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'audit', container: 'shipper', path: 'spec.containers[1].volumeMounts[0]' });
    expect(findings[0]!.message).toContain("'app' at /var/log/app, 'shipper' at /logs");
    expect(findings[0]!.fix).toContain('`readOnly: true`');
  });

  it('accepts a read-only reader', () => {
    expect(ruleFindings(RULE, pod(writer('app', '{ name: data, mountPath: /d }') + writer('reader', '{ name: data, mountPath: /d, readOnly: true }')))).toEqual([]);
  });

  it('compares subPaths: distinct ones are fine, nested or missing ones overlap', () => {
    const twoMounts = (a: string, b: string) => ruleFindings(RULE, pod(writer('a', `{ name: data, mountPath: /x, ${a} }`) + writer('b', `{ name: data, mountPath: /y, ${b} }`)));
    expect(twoMounts('subPath: cache', 'subPath: spool')).toEqual([]);
    expect(twoMounts('subPath: cache', 'subPath: ./cache/')).toHaveLength(1);
    expect(twoMounts('subPath: cache', 'subPath: cache/tenant-a')).toHaveLength(1);
    expect(twoMounts('subPath: cache', 'readOnly: false')).toHaveLength(1);
    expect(twoMounts('subPath: cache', 'subPath: cacheold')).toEqual([]);
  });

  it('skips volumes that are read-only by nature or by their source', () => {
    const mounts = writer('a', '{ name: data, mountPath: /x }') + writer('b', '{ name: data, mountPath: /x }');
    for (const source of ['configMap: { name: c }', 'secret: { secretName: s }', 'downwardAPI: { items: [] }', 'projected: { sources: [] }', 'persistentVolumeClaim: { claimName: shared, readOnly: true }']) {
      expect(ruleFindings(RULE, pod(mounts, `[{ name: data, ${source} }]`)), source).toEqual([]);
    }
    expect(ruleFindings(RULE, pod(mounts, '[{ name: data, persistentVolumeClaim: { claimName: shared } }]'))).toHaveLength(1);
  });

  it('follows the start order: an init container writes alone, a native sidecar writes alongside the app', () => {
    const app = writer('app', '{ name: data, mountPath: /d }');
    expect(ruleFindings(RULE, pod(app, undefined, `
    - { name: seed, image: busybox:1.36, volumeMounts: [{ name: data, mountPath: /d }] }`))).toEqual([]);
    const findings = ruleFindings(RULE, pod(app, undefined, `
    - { name: syncer, image: registry.k8s.io/git-sync/git-sync:v4.4.0, restartPolicy: Always, volumeMounts: [{ name: data, mountPath: /d }] }
    - { name: after-sidecar, image: busybox:1.36, volumeMounts: [{ name: data, mountPath: /d }] }`));
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain("'syncer' at /d, 'after-sidecar' at /d, 'app' at /d");
  });

  it('leaves a shared lock file and a scratch /tmp alone', () => {
    expect(ruleFindings(RULE, pod(writer('a', '{ name: lock, mountPath: /run/xtables.lock }') + writer('b', '{ name: lock, mountPath: /run/xtables.lock }'),
      '[{ name: lock, hostPath: { path: /run/xtables.lock, type: FileOrCreate } }]'))).toEqual([]);
    expect(ruleFindings(RULE, pod(writer('a', '{ name: data, mountPath: /tmp, subPath: tmp-dir }') + writer('b', '{ name: data, mountPath: /tmp, subPath: tmp-dir }')))).toEqual([]);
  });

  it('reports a CSI socket directory once per volume and says a socket client can mount it read-only', () => {
    const socketMount = '{ name: socket-dir, mountPath: /csi }';
    const plugin = `apiVersion: apps/v1
kind: StatefulSet
metadata: { name: csi-plugin, namespace: storage }
spec:
  template:
    spec:
      containers:
        - { name: driver, image: "registry.example.com/csi-driver:1.15.0", args: [--endpoint=unix:///csi/csi.sock], volumeMounts: [${socketMount}] }
        - { name: csi-provisioner, image: "registry.k8s.io/sig-storage/csi-provisioner:v5.1.0", args: [--csi-address=/csi/csi.sock], volumeMounts: [${socketMount}] }
        - { name: csi-attacher, image: "registry.k8s.io/sig-storage/csi-attacher:v4.7.0", args: [--csi-address=/csi/csi.sock], volumeMounts: [${socketMount}] }
        - { name: liveness-probe, image: "registry.k8s.io/sig-storage/livenessprobe:v2.14.0", args: [--csi-address=/csi/csi.sock], volumeMounts: [${socketMount}] }
      volumes:
        - { name: socket-dir, hostPath: { path: /var/lib/kubelet/plugins/csi-example, type: DirectoryOrCreate } }
`;
    const findings = ruleFindings(RULE, plugin);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain("'socket-dir'");
    expect(findings[0]!.message).toContain('by 4 containers');
    expect(findings[0]!.message).toContain('Unix socket');
    expect(findings[0]!.fix).toContain('connect() works through a read-only mount');
  });

  it.skipIf(!realWorldCorpus.available)('reports a CSI socket directory once per volume and says a socket client can mount it read-only', () => {
    const findings = ruleFindings(RULE, realWorld('csi-driver-host-path.yaml')).filter((f) => f.message.includes("'socket-dir'"));
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain('by 8 containers');
    expect(findings[0]!.message).toContain('Unix socket');
    expect(findings[0]!.fix).toContain('connect() works through a read-only mount');
  });

  it.skipIf(!realWorldCorpus.available)('records the Grafana dashboard sidecars writing where grafana reads, but not the Bitnami /tmp or the calico xtables lock', () => {
    const grafana = ruleFindings(RULE, realWorld('kube-prometheus-stack-helm.yaml'));
    expect(grafana.map((f) => f.message.match(/volume '([^']+)'/)?.[1])).toEqual(['sc-dashboard-volume', 'sc-datasources-volume']);
    expect(ruleFindings(RULE, realWorld('bitnami-postgresql-metrics.yaml'))).toEqual([]);
    expect(ruleFindings(RULE, realWorld('calico-canal.yaml'))).toEqual([]);
  });

  it.skipIf(!realWorldCorpus.available)('records the Kubernetes docs log shippers that mount the app\'s log volume read-write', () => {
    const docs = ruleFindings(RULE, realWorld('k8s-website-native-sidecars.yaml'));
    expect(docs.map((f) => `${f.resource.kind}/${f.resource.name}`)).toEqual([
      'Deployment/myapp', 'Job/myjob', 'Pod/adapter-pattern-example', 'Pod/startup-coordination-example',
    ]);
  });

  it('points at the second writer in every workload kind', () => {
    const spec = {
      containers: [
        { name: 'a', image: 'a:1', volumeMounts: [{ name: 'data', mountPath: '/d' }] },
        { name: 'b', image: 'b:1', volumeMounts: [{ name: 'conf', mountPath: '/c' }, { name: 'data', mountPath: '/d' }] },
      ],
      volumes: [{ name: 'data', emptyDir: {} }, { name: 'conf', configMap: { name: 'c' } }],
    };
    for (const workload of everyWorkloadKind(spec)) {
      expect(ruleFindings(RULE, workload.yaml).map((f) => f.path), workload.kind).toEqual([`${workload.specPath}.containers[1].volumeMounts[1]`]);
    }
  });

  it('ignores malformed volumes and mounts without an error', () => {
    expect(ruleFindings(RULE, pod(`
    - { name: a, image: a:1, volumeMounts: [null, { name: 5 }, { mountPath: /x }] }
    - { name: b, image: b:1, volumeMounts: "data" }`, '[null, 3, { name: data, emptyDir: "x" }]'))).toEqual([]);
  });
});
