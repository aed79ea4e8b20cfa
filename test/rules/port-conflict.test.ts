import { describe, expect, it } from 'vitest';
import { ruleFindings } from '../support/engine.js';

const pod = (initContainers: string, containers: string) => `apiVersion: v1
kind: Pod
metadata: { name: p, namespace: team-a }
spec:
  initContainers: ${initContainers}
  containers: ${containers}
`;

describe('port-conflict', () => {
  it('denies two regular containers on 8080 and points at the second declaration', () => {
    const findings = ruleFindings('port-conflict', pod('[]', `
    - { name: app, image: a:1, ports: [{ containerPort: 8080 }] }
    - { name: sidecar, image: b:1, ports: [{ containerPort: 8080, protocol: TCP }] }`));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      severity: 'deny',
      container: 'sidecar',
      path: 'spec.containers[1].ports[0].containerPort',
      resource: { kind: 'Pod', name: 'p', namespace: 'team-a' },
    });
    expect(findings[0]!.message).toContain('8080/TCP');
  });

  it('allows the same number on TCP and UDP', () => {
    expect(ruleFindings('port-conflict', pod('[]', `
    - { name: app, image: a:1, ports: [{ containerPort: 53 }] }
    - { name: dns, image: b:1, ports: [{ containerPort: 53, protocol: UDP }] }`))).toEqual([]);
  });

  it('allows a regular init container on the app port: it exits before the app starts', () => {
    expect(ruleFindings('port-conflict', pod(`
    - { name: setup, image: s:1, ports: [{ containerPort: 8080 }] }`, `
    - { name: app, image: a:1, ports: [{ containerPort: 8080 }] }`))).toEqual([]);
  });

  it('denies a native sidecar that binds the app port', () => {
    const findings = ruleFindings('port-conflict', pod(`
    - { name: proxy, image: s:1, restartPolicy: Always, ports: [{ containerPort: 8080 }] }`, `
    - { name: app, image: a:1, ports: [{ containerPort: 8080 }] }`));
    expect(findings.map((f) => f.container)).toEqual(['app']);
  });

  it('denies an init container placed after a native sidecar on the same port, but not one placed before it', () => {
    const findings = ruleFindings('port-conflict', pod(`
    - { name: before, image: s:1, ports: [{ containerPort: 9000 }] }
    - { name: proxy, image: s:1, restartPolicy: Always, ports: [{ containerPort: 9000 }] }
    - { name: after, image: s:1, ports: [{ containerPort: 9000 }] }`, `
    - { name: app, image: a:1 }`));
    expect(findings.map((f) => f.container)).toEqual(['after']);
  });

  it('reports the same hostPort on two containers as the API server rejection it is, not as a crash loop', () => {
    const findings = ruleFindings('port-conflict', pod('[]', `
    - { name: a, image: a:1, ports: [{ containerPort: 80, hostPort: 8080 }] }
    - { name: b, image: b:1, ports: [{ containerPort: 81, hostPort: 8080 }] }`));
    expect(findings).toHaveLength(1);
    expect(findings[0]!.path).toBe('spec.containers[1].ports[0].hostPort');
    expect(findings[0]!.message).toContain('the API server rejects the Pod (spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080")');
    expect(findings[0]!.message).not.toMatch(/crash-loop|address already in use/);
    expect(findings[0]!.problem).toBe("repeats hostPort 8080/TCP of 'a': rejected");
  });

  it('leaves a hostPort the API server accepts: on other host IPs, or on a native sidecar', () => {
    expect(ruleFindings('port-conflict', pod('[]', `
    - { name: a, image: a:1, ports: [{ containerPort: 80, hostPort: 8080, hostIP: 10.0.0.1 }] }
    - { name: b, image: b:1, ports: [{ containerPort: 81, hostPort: 8080, hostIP: 10.0.0.2 }] }`))).toEqual([]);
    // Init containers, native sidecars included, are only checked one by one (validateInitContainers).
    expect(ruleFindings('port-conflict', pod(`
    - { name: proxy, image: s:1, restartPolicy: Always, ports: [{ containerPort: 15001, hostPort: 8080 }] }`, `
    - { name: app, image: a:1, ports: [{ containerPort: 80, hostPort: 8080 }] }`))).toEqual([]);
  });

  it('reaches the pod template of every workload kind', () => {
    const containers = `
          - { name: a, image: a:1, ports: [{ containerPort: 80 }] }
          - { name: b, image: b:1, ports: [{ containerPort: 80 }] }`;
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job']) {
      const findings = ruleFindings('port-conflict', `apiVersion: apps/v1
kind: ${kind}
metadata: { name: w }
spec:
  template:
    spec:
      containers: ${containers}
`);
      expect(findings.map((f) => f.path), kind).toEqual(['spec.template.spec.containers[1].ports[0].containerPort']);
    }
    const cron = ruleFindings('port-conflict', `apiVersion: batch/v1
kind: CronJob
metadata: { name: c }
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: ${containers}
`);
    expect(cron.map((f) => f.path)).toEqual(['spec.jobTemplate.spec.template.spec.containers[1].ports[0].containerPort']);
    const list = ruleFindings('port-conflict', `apiVersion: v1
kind: PodList
items:
  - apiVersion: v1
    kind: PodTemplate
    metadata: { name: t }
    template:
      spec:
        containers: ${containers}
`);
    expect(list.map((f) => f.path)).toEqual(['items[0].template.spec.containers[1].ports[0].containerPort']);
    expect(list[0]!.resource).toMatchObject({ kind: 'PodTemplate', name: 't' });
  });

  it('skips unknown kinds and malformed specs without an error', () => {
    expect(ruleFindings('port-conflict', `apiVersion: example.com/v1
kind: Widget
metadata: { name: w }
spec: { containers: [{ name: a, ports: [{ containerPort: 1 }] }, { name: b, ports: [{ containerPort: 1 }] }] }
---
apiVersion: v1
kind: Pod
metadata: { name: broken }
spec: { containers: "not a list", initContainers: [42, null] }
`)).toEqual([]);
  });
});
