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

/** A container with a shell script. */
const scripted = (name: string, script: string, mount: string, extra = '') => `
    - { name: ${name}, image: busybox:1.37.0, command: [sh, -c, ${JSON.stringify(script)}], volumeMounts: [${mount}]${extra} }`;

const CSI_PLUGIN = (socketDir: string, address: string) => `apiVersion: apps/v1
kind: StatefulSet
metadata: { name: csi-plugin, namespace: storage }
spec:
  template:
    spec:
      containers:
        - { name: driver, image: "registry.example.com/csi-driver:1.15.0", args: [--endpoint=${address}], volumeMounts: [{ name: ${socketDir}, mountPath: /plugin }] }
        - { name: provisioner, image: "registry.example.com/provisioner:5.1.0", args: [--address=${address}], volumeMounts: [{ name: ${socketDir}, mountPath: /plugin }] }
        - { name: attacher, image: "registry.example.com/attacher:4.7.0", args: [--address=${address}], volumeMounts: [{ name: ${socketDir}, mountPath: /plugin }] }
      volumes:
        - { name: ${socketDir}, hostPath: { path: /var/lib/kubelet/plugins/csi-example, type: DirectoryOrCreate } }
`;

describe('shared-volume-concurrent-writers', () => {
  it('records two containers writing the same emptyDir, at audit level, on the second mount', () => {
    const findings = ruleFindings(RULE, pod(writer('app', '{ name: data, mountPath: /var/lib/app }') + writer('worker', '{ name: data, mountPath: /data }')));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'audit', container: 'worker', path: 'spec.containers[1].volumeMounts[0]' });
    expect(findings[0]!.message).toContain("by 2 containers that run at the same time and may write to it: 'app' at /var/lib/app, 'worker' at /data");
    expect(findings[0]!.fix).toContain("Add `readOnly: true` to the 'data' mount of each of 'app', 'worker' that only reads it");
    expect(findings[0]!.problem).toBe("and 'app' both write one volume");
  });

  it('reports a pod once, naming every volume its containers both write', () => {
    const volumes = '[{ name: data, emptyDir: {} }, { name: cache, emptyDir: {} }]';
    const both = '{ name: data, mountPath: /data }, { name: cache, mountPath: /cache }';
    const findings = ruleFindings(RULE, pod(writer('app', both) + writer('worker', both) + writer('indexer', both), volumes));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ container: 'worker', path: 'spec.containers[1].volumeMounts[0]', problem: "and 'app' both write 2 volumes" });
    expect(findings[0]!.message).toContain("volume 'data' is mounted read-write at overlapping paths by 3 containers");
    expect(findings[0]!.message).toContain("; volume 'cache' is mounted read-write at overlapping paths by 3 containers");
    expect(findings[0]!.fix).toContain("the 'data' mount of each of 'app', 'worker', 'indexer'");
    expect(findings[0]!.fix).toContain("; add `readOnly: true` to the 'cache' mount");
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
    - { name: syncer, image: registry.example.com/syncer:2.0.0, restartPolicy: Always, volumeMounts: [{ name: data, mountPath: /d }] }
    - { name: after-sidecar, image: busybox:1.36, volumeMounts: [{ name: data, mountPath: /d }] }`));
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain("'syncer' at /d, 'after-sidecar' at /d, 'app' at /d");
  });

  it('leaves a shared lock file and a scratch /tmp alone', () => {
    expect(ruleFindings(RULE, pod(writer('a', '{ name: lock, mountPath: /run/xtables.lock }') + writer('b', '{ name: lock, mountPath: /run/xtables.lock }'),
      '[{ name: lock, hostPath: { path: /run/xtables.lock, type: FileOrCreate } }]'))).toEqual([]);
    expect(ruleFindings(RULE, pod(writer('a', '{ name: data, mountPath: /tmp, subPath: tmp-dir }') + writer('b', '{ name: data, mountPath: /tmp, subPath: tmp-dir }')))).toEqual([]);
  });

  it('leaves a directory of Unix sockets alone: a CSI driver and its sidecars only connect there', () => {
    expect(ruleFindings(RULE, CSI_PLUGIN('plugin-dir', 'unix:///plugin/csi.sock'))).toEqual([]);
    expect(ruleFindings(RULE, CSI_PLUGIN('plugin-dir', '/plugin/driver.socket'))).toEqual([]);
    // Named for its sockets, whatever the containers say.
    expect(ruleFindings(RULE, CSI_PLUGIN('socket-dir', 'localhost:10000'))).toEqual([]);
    // Neither: the three may all write there.
    const findings = ruleFindings(RULE, CSI_PLUGIN('plugin-dir', 'localhost:10000'));
    expect(findings.map((f) => f.container)).toEqual(['provisioner']);
    expect(findings[0]!.message).toContain('by 3 containers');
  });

  it('leaves a helper that writes files for the app alone, but not two such helpers on one volume', () => {
    const grafana = writer('grafana', '{ name: data, mountPath: /var/lib/grafana/dashboards }');
    const dashboards = `
    - { name: dashboards, image: quay.io/kiwigrid/k8s-sidecar:1.30.3, volumeMounts: [{ name: data, mountPath: /tmp/dashboards }] }`;
    expect(ruleFindings(RULE, pod(grafana + dashboards))).toEqual([]);
    const sync = `
    - { name: sync, image: registry.k8s.io/git-sync/git-sync:v4.4.0, volumeMounts: [{ name: data, mountPath: /git }] }`;
    expect(ruleFindings(RULE, pod(grafana + dashboards + sync)).map((f) => f.message)).toEqual([
      expect.stringContaining("by 2 containers that run at the same time and may write to it: 'dashboards' at /tmp/dashboards, 'sync' at /git"),
    ]);
    // A consumer whose own command writes there still counts.
    const cleaner = scripted('cleaner', 'while true; do rm -f /dash/*.old; sleep 60; done', '{ name: data, mountPath: /dash }');
    expect(ruleFindings(RULE, pod(dashboards + cleaner))).toHaveLength(1);
  });

  it('leaves containers alone whose command only reads there: log tails next to the app that writes', () => {
    const app = scripted('app', 'while true; do date >> /var/log/app/app.log; sleep 1; done', '{ name: data, mountPath: /var/log/app }');
    const tail = scripted('tail', 'touch /var/log/app/app.log; tail -n+1 -F /var/log/app/app.log | grep ERROR', '{ name: data, mountPath: /var/log/app }');
    const reader = scripted('reader', 'cat /logs/app.log; sleep infinity', '{ name: data, mountPath: /logs }');
    expect(ruleFindings(RULE, pod(app + tail + reader))).toEqual([]);
    // A tail that also keeps its position in the shared directory writes there.
    const keeper = scripted('keeper', 'tail -F /logs/app.log > /logs/position', '{ name: data, mountPath: /logs }');
    expect(ruleFindings(RULE, pod(app + keeper)).map((f) => f.container)).toEqual(['keeper']);
    // Two containers appending to the same log both write.
    const second = scripted('second', 'echo started | tee -a /var/log/app/app.log', '{ name: data, mountPath: /var/log/app }');
    expect(ruleFindings(RULE, pod(app + second)).map((f) => f.container)).toEqual(['second']);
  });

  it('leaves log shippers and CSI sidecars alone by their kind', () => {
    const app = writer('app', '{ name: data, mountPath: /var/log/app }');
    expect(ruleFindings(RULE, pod(app + `
    - { name: fluent-bit, image: cr.fluentbit.io/fluent/fluent-bit:3.2.4, volumeMounts: [{ name: data, mountPath: /logs }] }`))).toEqual([]);
    expect(ruleFindings(RULE, pod(app + `
    - { name: registrar, image: registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.12.0, volumeMounts: [{ name: data, mountPath: /data-dir }] }`))).toEqual([]);
  });

  it('takes mounts where programs read configuration and static data for readers: /etc, an etc directory, /usr', () => {
    const seeded = (path: string) => pod(writer('server', `{ name: data, mountPath: ${path} }`) + writer('backup', `{ name: data, mountPath: ${path} }`), undefined, scripted('seed', 'echo server-id=1 > /seed/server.cnf', '{ name: data, mountPath: /seed }'));
    for (const path of ['/etc/mysql/conf.d', '/opt/bitnami/redis/etc', '/usr/share/nginx/html']) expect(ruleFindings(RULE, seeded(path)), path).toEqual([]);
    expect(ruleFindings(RULE, seeded('/var/lib/mysql'))).toHaveLength(1);
    // A command that writes there is believed over the location.
    const writes = scripted('editor', "sed -i 's/x/y/' /etc/app/app.conf", '{ name: data, mountPath: /etc/app }');
    expect(ruleFindings(RULE, pod(writer('server', '{ name: data, mountPath: /etc/app }') + writes + writer('other', '{ name: data, mountPath: /srv }')))).toHaveLength(1);
  });

  it.skipIf(!realWorldCorpus.available)('leaves the designed layouts of the corpus alone: CSI sockets, config sidecars, log tails, config directories', () => {
    for (const file of [
      'csi-driver-host-path.yaml', 'csi-driver-nfs.yaml', 'aws-ebs-csi-driver.yaml', 'calico-csi-driver-and-etcd.yaml', 'istio-spire-quickstart.yaml',
      'kube-prometheus-stack-helm.yaml', 'otel-demo-helm-rendered.yaml', 'istio-addons.yaml', 'metallb-frr-prometheus.yaml',
      'k8s-website-native-sidecars.yaml', 'k8s-website-classic-multicontainer.yaml', 'gke-samples-sidecars-hpa.yaml', 'bitnami-redis-sentinel-metrics.yaml',
      'bitnami-postgresql-metrics.yaml', 'calico-canal.yaml',
    ]) {
      expect(ruleFindings(RULE, realWorld(file)), file).toEqual([]);
    }
  });

  it.skipIf(!realWorldCorpus.available)('records the Argo CD redis-ha pod, where sentinel and split-brain-fix both rewrite /data/conf/sentinel.conf', () => {
    const findings = ruleFindings(RULE, realWorld('argocd-ha-namespace-install.yaml'));
    expect(findings.map((f) => `${f.resource.kind}/${f.resource.name} ${f.container}`)).toEqual(['StatefulSet/argocd-redis-ha-server sentinel']);
    expect(findings[0]!.message).toContain("'redis' at /data, 'sentinel' at /data, 'split-brain-fix' at /data");
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
