import { describe, expect, it } from 'vitest';
import { ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'shared-process-namespace';

describe('shared-process-namespace', () => {
  it('warns on a web server sharing its namespace with a debugging shell and says what the shell can reach', () => {
    const findings = ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: web-debug }
spec:
  shareProcessNamespace: true
  containers:
    - { name: web, image: "nginx:1.27.3" }
    - name: shell
      image: busybox:1.37.0
      command: [sleep, "3600"]
      securityContext: { capabilities: { add: [SYS_PTRACE] } }
      stdin: true
      tty: true
`);
    expect(findings.map((f) => `${f.resource.kind}/${f.resource.name}`)).toEqual(['Pod/web-debug']);
    expect(findings[0]).toMatchObject({ severity: 'warn', path: 'spec.shareProcessNamespace' });
    expect(findings[0]!.message).toContain("'web', 'shell'");
    expect(findings[0]!.message).toMatch(/\/proc\/<pid>\/root/);
    expect(findings[0]!.message).toMatch(/environ/);
    expect(findings[0]!.message).toMatch(/pause container becomes PID 1/);
    expect(findings[0]!.fix).toMatch(/HTTP reload endpoint/);
  });

  it('names the init containers that share the namespace with a config reloader and its daemon', () => {
    const findings = ruleFindings(RULE, `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: router, namespace: network }
spec:
  template:
    spec:
      shareProcessNamespace: true
      initContainers:
        - { name: copy-config, image: "registry.example.com/routerd:10.1.1", command: [/bin/sh, -c, "cp -rLf /tmp/config/* /etc/routerd/"] }
      containers:
        - { name: routerd, image: "registry.example.com/routerd:10.1.1", command: [/usr/lib/routerd/docker-start] }
        - { name: reloader, image: "registry.example.com/routerd:10.1.1", command: [/etc/routerd-reloader/reloader.sh] }
`);
    expect(findings.map((f) => f.path)).toEqual(['spec.template.spec.shareProcessNamespace']);
    expect(findings[0]!.message).toContain("'copy-config' (init), 'routerd', 'reloader'");
  });

  it('leaves an explicit shareProcessNamespace: false alone', () => {
    const spec = { shareProcessNamespace: false, containers: [{ name: 'grafana', image: 'g:1' }, { name: 'dashboards', image: 'd:1' }] };
    for (const workload of everyWorkloadKind(spec)) {
      expect(ruleFindings(RULE, workload.yaml), workload.kind).toEqual([]);
    }
  });

  it.skipIf(!realWorldCorpus.available)('warns on the Kubernetes docs nginx + shell pod and says what the shell can reach', () => {
    const findings = ruleFindings(RULE, realWorld('k8s-website-classic-multicontainer.yaml'));
    expect(findings.map((f) => `${f.resource.kind}/${f.resource.name}`)).toEqual(['Pod/nginx']);
    expect(findings[0]).toMatchObject({ severity: 'warn', path: 'spec.shareProcessNamespace' });
    expect(findings[0]!.message).toContain("'nginx', 'shell'");
    expect(findings[0]!.message).toMatch(/\/proc\/<pid>\/root/);
    expect(findings[0]!.message).toMatch(/environ/);
    expect(findings[0]!.message).toMatch(/pause container becomes PID 1/);
    expect(findings[0]!.fix).toMatch(/HTTP reload endpoint/);
  });

  it.skipIf(!realWorldCorpus.available)('warns on spire-server and the MetalLB speaker, whose reloader signals frr', () => {
    expect(ruleFindings(RULE, realWorld('istio-spire-quickstart.yaml')).map((f) => f.resource.name)).toEqual(['spire-server']);
    const speaker = ruleFindings(RULE, realWorld('metallb-frr-prometheus.yaml'));
    expect(speaker.map((f) => f.path)).toEqual(['spec.template.spec.shareProcessNamespace']);
    expect(speaker[0]!.message).toContain("'cp-frr-files' (init)");
  });

  it.skipIf(!realWorldCorpus.available)('leaves the single-container OpenTelemetry collector with a shared namespace alone', () => {
    expect(ruleFindings(RULE, realWorld('otel-collector-examples-sharedpid-prestop.yaml'))).toEqual([]);
  });

  it.skipIf(!realWorldCorpus.available)('leaves an explicit shareProcessNamespace: false alone', () => {
    expect(ruleFindings(RULE, realWorld('kube-prometheus-stack-helm.yaml'))).toEqual([]);
  });

  it('counts init containers: an init container and one app container already share the namespace', () => {
    const findings = ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  shareProcessNamespace: true
  initContainers:
    - { name: setup, image: busybox:1.36, command: ["sh", "-c", "cp /src/* /work/"] }
  containers:
    - { name: app, image: registry.example.com/app:1.0.0 }
`);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain("'app' is no longer PID 1");
  });

  it('reaches the pod spec of every workload kind', () => {
    const spec = {
      shareProcessNamespace: true,
      containers: [
        { name: 'app', image: 'registry.example.com/app:1.0.0' },
        { name: 'debug', image: 'busybox:1.36', command: ['sleep', 'infinity'] },
      ],
    };
    for (const workload of everyWorkloadKind(spec)) {
      expect(ruleFindings(RULE, workload.yaml).map((f) => f.path), workload.kind).toEqual([`${workload.specPath}.shareProcessNamespace`]);
    }
  });

  it('stays quiet without shareProcessNamespace or with a single container', () => {
    for (const workload of everyWorkloadKind({ shareProcessNamespace: true, containers: [{ name: 'app', image: 'a:1' }] })) {
      expect(ruleFindings(RULE, workload.yaml), workload.kind).toEqual([]);
    }
    for (const workload of everyWorkloadKind({ containers: [{ name: 'app', image: 'a:1' }, { name: 'b', image: 'b:1' }] })) {
      expect(ruleFindings(RULE, workload.yaml), workload.kind).toEqual([]);
    }
  });
});
