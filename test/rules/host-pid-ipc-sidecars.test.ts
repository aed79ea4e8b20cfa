import { describe, expect, it } from 'vitest';
import { realWorldCorpus } from '../support/corpus.js';
import { ruleFindings } from '../support/engine.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'host-pid-ipc-sidecars';

const daemonSet = (podFields: string, containers: string, initContainers = '[]') => `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: node-agent, namespace: monitoring }
spec:
  selector:
    matchLabels: { app: node-agent }
  template:
    metadata:
      labels: { app: node-agent }
    spec:
${podFields}
      initContainers: ${initContainers}
      containers: ${containers}
`;

const agent = `
        - { name: agent, image: registry.example.com/agent:3.0.0 }`;
const proxy = (securityContext = '{}') => `
        - { name: proxy, image: quay.io/brancz/kube-rbac-proxy:v0.18.2, securityContext: ${securityContext} }`;
const CONTAINED = '{ runAsNonRoot: true, runAsUser: 65532, capabilities: { drop: [ALL] } }';

describe('host-pid-ipc-sidecars', () => {
  it('warns on a hostPID pod whose sidecar runs as root: it sees and can signal every process of the node', () => {
    const findings = ruleFindings(RULE, daemonSet('      hostPID: true', agent + proxy()));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'warn', path: 'spec.template.spec.hostPID', problem: "with hostPID, sidecar 'proxy' sees node processes" });
    expect(findings[0]!.container).toBeUndefined();
    expect(findings[0]!.message).toContain("hostPID puts both long-running containers of the pod in the node's process namespace, sidecar 'proxy' included");
    expect(findings[0]!.message).toContain('as root it can signal any of them (the kubelet and the container runtime included)');
    expect(findings[0]!.fix).toContain("Move 'proxy' into a pod of its own without hostPID, or remove hostPID from spec.template.spec if 'agent' does not need it");
    expect(findings[0]!.fix).toContain('`securityContext.capabilities.drop: [ALL]`');
  });

  it('leaves a hostPID sidecar alone that runs as non-root with every capability dropped', () => {
    expect(ruleFindings(RULE, daemonSet('      hostPID: true', agent + proxy(CONTAINED)))).toEqual([]);
    // The pod's user applies unless the container sets its own.
    expect(ruleFindings(RULE, daemonSet('      hostPID: true\n      securityContext: { runAsUser: 65534 }', agent + proxy('{ capabilities: { drop: [ALL] } }')))).toEqual([]);
    for (const loosened of [
      '{ runAsUser: 0, runAsNonRoot: true, capabilities: { drop: [ALL] } }',
      '{ runAsNonRoot: true, capabilities: { drop: [NET_RAW] } }',
      '{ runAsNonRoot: true, capabilities: { drop: [ALL], add: [SYS_PTRACE] } }',
      '{ runAsNonRoot: true, privileged: true, capabilities: { drop: [ALL] } }',
    ]) {
      expect(ruleFindings(RULE, daemonSet('      hostPID: true', agent + proxy(loosened))), loosened).toHaveLength(1);
    }
    expect(ruleFindings(RULE, daemonSet('      hostPID: true', agent + proxy('{ runAsNonRoot: true, capabilities: { drop: [all], add: [NET_BIND_SERVICE] } }')))).toEqual([]);
  });

  it('warns on every sidecar of a hostIPC pod, contained or not: shared memory is guarded by permission bits only', () => {
    const findings = ruleFindings(RULE, daemonSet('      hostIPC: true', agent + proxy(CONTAINED)));
    expect(findings.map((f) => [f.path, f.problem])).toEqual([['spec.template.spec.hostIPC', "with hostIPC, sidecar 'proxy' shares node IPC"]]);
    expect(findings[0]!.message).toContain("the node's shared memory, semaphores, message queues and /dev/shm");
    expect(findings[0]!.fix).not.toContain('non-root');
    const both = ruleFindings(RULE, daemonSet('      hostPID: true\n      hostIPC: true', agent + proxy() + proxy().replace('name: proxy', 'name: shipper')));
    expect(both.map((f) => f.problem)).toEqual(["with hostPID, sidecars like 'proxy' see node processes"]);
    expect(both[0]!.message).toContain("hostPID and hostIPC put all 3 long-running containers of the pod in the node's process and IPC namespaces, sidecars 'proxy', 'shipper' included");
  });

  it('leaves one long-running container with init containers alone, and counts a native sidecar', () => {
    const init = `
        - { name: setup, image: registry.example.com/setup:1.0.0 }`;
    expect(ruleFindings(RULE, daemonSet('      hostPID: true\n      hostIPC: true', agent, init))).toEqual([]);
    const native = `
        - { name: proxy, image: quay.io/brancz/kube-rbac-proxy:v0.18.2, restartPolicy: Always }`;
    expect(ruleFindings(RULE, daemonSet('      hostPID: true', agent, native)).map((f) => f.problem)).toEqual(["with hostPID, sidecar 'proxy' sees node processes"]);
  });

  it('reaches every workload kind and ignores pods without the fields', () => {
    const containers = [{ name: 'agent', image: 'a:1' }, { name: 'exporter', image: 'b:1' }];
    for (const workload of everyWorkloadKind({ hostPID: true, containers })) {
      expect(ruleFindings(RULE, workload.yaml).map((f) => f.path), workload.kind).toEqual([`${workload.specPath}.hostPID`]);
    }
    for (const workload of everyWorkloadKind({ hostPID: false, hostIPC: 'yes', containers })) {
      expect(ruleFindings(RULE, workload.yaml), workload.kind).toEqual([]);
    }
  });

  it.skipIf(!realWorldCorpus.available)('finds spire-agent, whose root and privileged sidecars share the node PID namespace, and no other pod of the corpus', () => {
    expect(ruleFindings(RULE, realWorld('istio-spire-quickstart.yaml')).map((f) => `${f.resource.kind}/${f.resource.name}`)).toEqual(['DaemonSet/spire-agent']);
    // node-exporter's kube-rbac-proxy runs as 65532 with every capability dropped; the others have one container.
    for (const file of ['kube-prometheus-manifests.yaml', 'kube-prometheus-stack-helm.yaml', 'prometheus-helm.yaml', 'k8s-examples-misc.yaml']) {
      expect(ruleFindings(RULE, realWorld(file)), file).toEqual([]);
    }
  });
});
