import { describe, expect, it } from 'vitest';
import { ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'host-network-sidecars';

describe('host-network-sidecars', () => {
  it('warns on a node-exporter DaemonSet whose kube-rbac-proxy binds the node port, without the replicas clause', () => {
    const findings = ruleFindings(RULE, `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: node-exporter, namespace: monitoring }
spec:
  selector: { matchLabels: { app: node-exporter } }
  template:
    metadata: { labels: { app: node-exporter } }
    spec:
      hostNetwork: true
      hostPID: true
      containers:
        - name: node-exporter
          image: quay.io/prometheus/node-exporter:v1.8.2
          args: [--web.listen-address=127.0.0.1:9100, --path.rootfs=/host/root]
        - name: kube-rbac-proxy
          image: quay.io/brancz/kube-rbac-proxy:v0.18.1
          args: [--secure-listen-address=$(IP):9100, --upstream=http://127.0.0.1:9100/]
          ports: [{ name: https, containerPort: 9100, hostPort: 9100 }]
`);
    expect(findings.map((f) => `${f.resource.kind}/${f.resource.name}`)).toEqual(['DaemonSet/node-exporter']);
    expect(findings[0]).toMatchObject({ severity: 'warn', path: 'spec.template.spec.hostNetwork' });
    expect(findings[0]!.message).toContain("sidecar 'kube-rbac-proxy' (ports 9100)");
    expect(findings[0]!.message).not.toContain('two replicas');
    expect(findings[0]!.fix).toContain("if 'node-exporter' does not need the node's network");
  });

  it('leaves a CNI DaemonSet alone: its init containers exit, and only one container keeps running', () => {
    const cni = `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: cni-agent, namespace: kube-system }
spec:
  selector: { matchLabels: { app: cni-agent } }
  template:
    metadata: { labels: { app: cni-agent } }
    spec:
      hostNetwork: true
      priorityClassName: system-node-critical
      initContainers:
        - { name: install-cni-plugin, image: "registry.example.com/cni-plugin:1.5.1", command: [cp], args: [-f, /flannel, /opt/cni/bin/flannel] }
        - { name: install-cni, image: "registry.example.com/cni-agent:0.26.1", command: [cp], args: [-f, /etc/cni-conf/cni-conf.json, /etc/cni/net.d/10-cni.conflist] }
      containers:
        - name: cni-agent
          image: registry.example.com/cni-agent:0.26.1
          args: [--ip-masq, --kube-subnet-mgr]
          securityContext: { privileged: false, capabilities: { add: [NET_ADMIN, NET_RAW] } }
`;
    expect(ruleFindings(RULE, cni)).toEqual([]);
    // The same init container kept running as a native sidecar does share the node's ports.
    const native = cni.replace('- { name: install-cni, image:', '- { name: install-cni, restartPolicy: Always, image:');
    expect(ruleFindings(RULE, native).map((f) => f.message)).toEqual([expect.stringContaining("sidecar 'install-cni'")]);
  });

  it.skipIf(!realWorldCorpus.available)('warns on node-exporter whose kube-rbac-proxy sidecar binds node port 9100', () => {
    const findings = ruleFindings(RULE, realWorld('kube-prometheus-manifests.yaml'));
    expect(findings.map((f) => `${f.resource.kind}/${f.resource.name}`)).toEqual(['DaemonSet/node-exporter']);
    expect(findings[0]).toMatchObject({ severity: 'warn', path: 'spec.template.spec.hostNetwork' });
    expect(findings[0]!.message).toContain("sidecar 'kube-rbac-proxy' (ports 9100)");
    // A DaemonSet runs one pod per node: "two replicas on a node" is not its problem.
    expect(findings[0]!.message).not.toContain('two replicas');
    expect(findings[0]!.fix).toContain("if 'node-exporter' does not need the node's network");
    // Declared ports keep pods apart at scheduling (hostPort defaults to containerPort there); only a port
    // held outside the scheduler's view fails at bind time.
    expect(findings[0]!.message).not.toContain('the second to bind crash-loops');
    expect(findings[0]!.message).toContain('a port a node daemon holds, or another pod binds without declaring it, fails to bind');
  });

  it.skipIf(!realWorldCorpus.available)('finds the hostNetwork pods with sidecars the corpus lists, and only those', () => {
    const flagged = [
      'calico-canal.yaml', 'csi-driver-nfs.yaml', 'metallb-frr-prometheus.yaml', 'istio-spire-quickstart.yaml',
      'calico-csi-driver-and-etcd.yaml', 'flannel.yaml', 'k8s-examples-misc.yaml', 'istio-samples-misc.yaml', 'aws-ebs-csi-driver.yaml',
    ].flatMap((file) => ruleFindings(RULE, realWorld(file)).map((f) => `${f.resource.kind}/${f.resource.name}`));
    expect(flagged.sort()).toEqual([
      'DaemonSet/canal', 'DaemonSet/csi-nfs-node', 'DaemonSet/speaker', 'DaemonSet/spire-agent', 'Deployment/csi-nfs-controller',
    ]);
  });

  it.skipIf(!realWorldCorpus.available)('leaves flannel and calico-node alone: one long-running container after init containers', () => {
    expect(ruleFindings(RULE, realWorld('flannel.yaml'))).toEqual([]);
    const calico = ruleFindings(RULE, realWorld('calico-csi-driver-and-etcd.yaml'));
    expect(calico.filter((f) => f.resource.name === 'calico-node')).toEqual([]);
  });

  it('counts a native sidecar as long-running and says replicas of a Deployment cannot share a node', () => {
    const findings = ruleFindings(RULE, `apiVersion: apps/v1
kind: Deployment
metadata: { name: edge-router }
spec:
  template:
    spec:
      hostNetwork: true
      initContainers:
        - name: envoy
          image: envoyproxy/envoy:v1.32.3
          restartPolicy: Always
          ports: [{ containerPort: 9901 }]
      containers:
        - { name: router, image: registry.example.com/router:2.0.0, ports: [{ containerPort: 8080 }] }
`);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain("sidecar 'envoy' (ports 9901)");
    expect(findings[0]!.message).toContain('two replicas of the pod cannot run on the same node');
    expect(findings[0]!.fix).toContain("Move 'envoy' into a pod of its own without hostNetwork");
  });

  it('reaches every workload kind and ignores pods without hostNetwork', () => {
    const containers = [{ name: 'agent', image: 'a:1' }, { name: 'exporter', image: 'b:1' }];
    for (const workload of everyWorkloadKind({ hostNetwork: true, containers })) {
      expect(ruleFindings(RULE, workload.yaml).map((f) => f.path), workload.kind).toEqual([`${workload.specPath}.hostNetwork`]);
    }
    for (const workload of everyWorkloadKind({ hostNetwork: false, containers })) {
      expect(ruleFindings(RULE, workload.yaml), workload.kind).toEqual([]);
    }
  });
});
