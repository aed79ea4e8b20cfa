import { describe, expect, it } from 'vitest';
import { ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'privileged-sidecar';

const pod = (containers: string, initContainers = '[]', annotations = '{}') => `apiVersion: v1
kind: Pod
metadata: { name: p, annotations: ${annotations} }
spec:
  initContainers: ${initContainers}
  containers: ${containers}
`;

describe('privileged-sidecar', () => {
  it('warns on a privileged sidecar and points at the flag', () => {
    const findings = ruleFindings(RULE, pod(`
    - { name: app, image: registry.example.com/app:1.0.0 }
    - { name: debugger, image: busybox:1.36, securityContext: { privileged: true } }`));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'warn', container: 'debugger', path: 'spec.containers[1].securityContext.privileged' });
    expect(findings[0]!.message).toContain('compromise of the node');
  });

  it('recognises NET_ADMIN and SYS_ADMIN with or without the CAP_ prefix, in any case', () => {
    const findings = ruleFindings(RULE, pod(`
    - { name: app, image: registry.example.com/app:1.0.0 }
    - name: proxy
      image: envoyproxy/envoy:v1.32.3
      securityContext: { capabilities: { add: [NET_BIND_SERVICE, cap_net_admin] } }
    - name: fuse
      image: registry.example.com/fuse-mounter:0.3.0
      securityContext: { capabilities: { add: [CAP_SYS_ADMIN] } }`));
    expect(findings.map((f) => [f.container, f.path])).toEqual([
      ['proxy', 'spec.containers[1].securityContext.capabilities.add[1]'],
      ['fuse', 'spec.containers[2].securityContext.capabilities.add[0]'],
    ]);
    expect(findings[0]!.message).toContain('intercept or redirect all of the app');
    // NET_ADMIN works inside the pod's network namespace: the app's traffic is at stake, not the node.
    expect(findings[0]!.message).toContain("a compromise of the app's traffic, not just");
    expect(findings[1]!.message).toContain('a compromise of the node, not just');
  });

  it('ignores harmless capabilities and unprivileged sidecars', () => {
    expect(ruleFindings(RULE, pod(`
    - { name: app, image: a:1 }
    - { name: proxy, image: b:1, securityContext: { privileged: false, capabilities: { add: [NET_BIND_SERVICE], drop: [NET_ADMIN] } } }`))).toEqual([]);
  });

  it('warns on a privileged native sidecar but not on a privileged init container that exits', () => {
    const findings = ruleFindings(RULE, pod(`
    - { name: app, image: a:1 }`, `
    - { name: sysctl, image: busybox:1.36, securityContext: { privileged: true } }
    - { name: mesh-proxy, image: b:1, restartPolicy: Always, securityContext: { capabilities: { add: [NET_ADMIN] } } }`));
    expect(findings.map((f) => f.container)).toEqual(['mesh-proxy']);
  });

  it('never judges the main container, even when the default-container annotation names a later one', () => {
    const findings = ruleFindings(RULE, pod(`
    - { name: registrar, image: registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.12.0 }
    - { name: driver, image: registry.example.com/csi-driver:1.0.0, securityContext: { privileged: true } }
    - { name: helper, image: registry.example.com/helper:1.0.0, securityContext: { privileged: true } }`,
    '[]', '{ kubectl.kubernetes.io/default-container: driver }'));
    expect(findings.map((f) => f.container)).toEqual(['helper']);
  });

  it("takes a CSI node plugin's driver as the main container even when its sidecars are listed first", () => {
    const nodePlugin = (registrarContext = '{ privileged: false }') => `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: csi-node, namespace: kube-system }
spec:
  template:
    spec:
      containers:
        - name: node-driver-registrar
          image: registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.12.0
          args: [--csi-address=/csi/csi.sock, --kubelet-registration-path=/var/lib/kubelet/plugins/csi-example/csi.sock]
          securityContext: ${registrarContext}
        - name: liveness-probe
          image: registry.k8s.io/sig-storage/livenessprobe:v2.14.0
          args: [--csi-address=/csi/csi.sock, --health-port=29653]
        - name: csi-driver
          image: registry.example.com/csi-driver:4.9.0
          securityContext: { privileged: true, capabilities: { add: [SYS_ADMIN] }, allowPrivilegeEscalation: true }
`;
    expect(ruleFindings(RULE, nodePlugin())).toEqual([]);
    expect(ruleFindings(RULE, nodePlugin('{ privileged: true }')).map((f) => [f.container, f.path])).toEqual([
      ['node-driver-registrar', 'spec.template.spec.containers[0].securityContext.privileged'],
    ]);
  });

  it('warns on a sidecar that adds ALL capabilities, as near-root on the node', () => {
    const findings = ruleFindings(RULE, pod(`
    - { name: app, image: a:1 }
    - { name: debugger, image: b:1, securityContext: { capabilities: { add: [NET_BIND_SERVICE, all] } } }`));
    expect(findings.map((f) => [f.path, f.problem])).toEqual([['spec.containers[1].securityContext.capabilities.add[1]', 'has ALL capabilities: a flaw exposes the node']]);
    expect(findings[0]!.message).toContain('capabilities.add ALL, which lets it use every Linux capability');
  });

  it('warns on SYS_PTRACE only where the sidecar sees other processes: the app\'s with shareProcessNamespace, the node\'s with hostPID', () => {
    const ptrace = (podFields: string) => ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
${podFields}
  containers:
    - { name: app, image: a:1 }
    - { name: profiler, image: b:1, securityContext: { capabilities: { add: [CAP_SYS_PTRACE] } } }
`);
    expect(ptrace('  shareProcessNamespace: false')).toEqual([]);
    const shared = ptrace('  shareProcessNamespace: true');
    expect(shared.map((f) => f.problem)).toEqual(["has SYS_PTRACE: a flaw exposes app memory"]);
    expect(shared[0]!.message).toContain("attach to the app's processes in the shared process namespace and read or rewrite their memory");
    expect(shared[0]!.message).toContain("a compromise of the app's memory, not just of the sidecar");
    expect(ptrace('  hostPID: true').map((f) => f.problem)).toEqual(['has SYS_PTRACE: a flaw exposes the node']);
  });

  it('names the worst reach and every powerful capability of a sidecar, in one finding', () => {
    const findings = ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  shareProcessNamespace: true
  containers:
    - { name: app, image: a:1 }
    - { name: mesh, image: b:1, securityContext: { capabilities: { add: [NET_ADMIN, SYS_PTRACE] } } }
    - { name: agent, image: c:1, securityContext: { capabilities: { add: [SYS_PTRACE, NET_ADMIN, SYS_ADMIN] } } }
`);
    expect(findings.map((f) => [f.container, f.path, f.problem])).toEqual([
      ['mesh', 'spec.containers[1].securityContext.capabilities.add[0]', "has SYS_PTRACE (+1): a flaw exposes app memory"],
      ['agent', 'spec.containers[2].securityContext.capabilities.add[0]', 'has SYS_ADMIN (+2): a flaw exposes the node'],
    ]);
    expect(findings[1]!.message).toContain('capabilities.add SYS_PTRACE and NET_ADMIN and SYS_ADMIN');
  });

  it('warns on an explicit allowPrivilegeEscalation: true only: unset is the same default every container has', () => {
    const escalation = (value: string) => ruleFindings(RULE, pod(`
    - { name: app, image: a:1 }
    - { name: shipper, image: b:1, securityContext: { runAsNonRoot: true${value} } }`));
    expect(escalation('')).toEqual([]);
    expect(escalation(', allowPrivilegeEscalation: false')).toEqual([]);
    const findings = escalation(', allowPrivilegeEscalation: true');
    expect(findings.map((f) => [f.path, f.problem])).toEqual([['spec.containers[1].securityContext.allowPrivilegeEscalation', 'allows privilege escalation through setuid']]);
    expect(findings[0]!.message).toContain('through setuid binaries and file capabilities in its image');
    expect(findings[0]!.fix).toContain('Set `allowPrivilegeEscalation: false` in spec.containers[1].securityContext');
    // A stronger grant of the same sidecar is the one reported.
    expect(ruleFindings(RULE, pod(`
    - { name: app, image: a:1 }
    - { name: shipper, image: b:1, securityContext: { privileged: true, allowPrivilegeEscalation: true } }`)).map((f) => f.problem)).toEqual(['runs privileged: a flaw exposes the node']);
  });

  it.skipIf(!realWorldCorpus.available)('leaves alone the csi-nfs driver listed last, ebs-plugin listed first, and privileged init containers', () => {
    for (const file of ['csi-driver-nfs.yaml', 'aws-ebs-csi-driver.yaml', 'bitnami-elasticsearch.yaml', 'k8s-examples-misc.yaml', 'flannel.yaml']) {
      expect(ruleFindings(RULE, realWorld(file)), file).toEqual([]);
    }
  });

  it.skipIf(!realWorldCorpus.available)('finds the privileged CSI and CNI sidecars of the corpus', () => {
    const hostpath = ruleFindings(RULE, realWorld('csi-driver-host-path.yaml'));
    expect(hostpath.map((f) => f.container).sort()).toEqual(['csi-attacher', 'csi-provisioner', 'csi-resizer', 'csi-snapshotter', 'node-driver-registrar']);
    expect(ruleFindings(RULE, realWorld('calico-canal.yaml')).map((f) => f.container)).toEqual(['kube-flannel']);
    expect(ruleFindings(RULE, realWorld('calico-csi-driver-and-etcd.yaml')).map((f) => f.container)).toEqual(['csi-node-driver-registrar']);
    expect(ruleFindings(RULE, realWorld('istio-spire-quickstart.yaml')).map((f) => f.container)).toEqual(['spiffe-csi-driver']);
  });

  it('points at the sidecar in every workload kind', () => {
    const spec = {
      containers: [
        { name: 'app', image: 'a:1' },
        { name: 'vpn', image: 'b:1', securityContext: { capabilities: { add: ['NET_ADMIN'] } } },
      ],
    };
    for (const workload of everyWorkloadKind(spec)) {
      expect(ruleFindings(RULE, workload.yaml).map((f) => f.path), workload.kind)
        .toEqual([`${workload.specPath}.containers[1].securityContext.capabilities.add[0]`]);
    }
  });

  it('ignores malformed security contexts without an error', () => {
    expect(ruleFindings(RULE, pod(`
    - { name: app, image: a:1 }
    - { name: b, image: b:1, securityContext: { privileged: "true", capabilities: { add: "NET_ADMIN" } } }
    - { name: c, image: c:1, securityContext: { capabilities: { add: [null, 5, NET_RAW] } } }
    - { name: d, image: d:1, securityContext: null }`))).toEqual([]);
  });
});
