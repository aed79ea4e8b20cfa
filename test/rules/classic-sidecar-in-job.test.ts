import { describe, expect, it } from 'vitest';
import { ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'classic-sidecar-in-job';

const job = (containers: string) => `apiVersion: batch/v1
kind: Job
metadata: { name: export, namespace: batch }
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
${containers}
`;

const where = (findings: ReturnType<typeof ruleFindings>) => findings.map((f) => `${f.resource.kind}/${f.resource.name}[${f.container}]`);

describe('classic-sidecar-in-job', () => {
  it('warns on a well-known proxy in containers of a Job and names the migration', () => {
    const findings = ruleFindings(RULE, job(`        - { name: export, image: "registry.example.com/export:1.8.0" }
        - { name: sql-proxy, image: "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0", args: ["--port=5432", "p:r:i"] }`));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'warn', container: 'sql-proxy', path: 'spec.template.spec.containers[1]' });
    expect(findings[0]!.message).toContain('database proxy');
    expect(findings[0]!.message).toContain('the Job never completes');
    expect(findings[0]!.fix).toContain('`initContainers`');
    expect(findings[0]!.fix).toContain('`restartPolicy: Always`');
    expect(findings[0]!.fix).toContain('`podpatterns migrate`');
  });

  it('warns on a helper whose command never ends and points at that command', () => {
    const findings = ruleFindings(RULE, job(`        - { name: myjob, image: "alpine:3.20", command: ["sh", "-c", "echo done > /opt/logs.txt"] }
        - { name: logshipper, image: "alpine:3.20", command: ["sh", "-c", "tail -F /opt/logs.txt"] }`));
    expect(findings.map((f) => f.path)).toEqual(['spec.template.spec.containers[1].command']);
    expect(findings[0]!.message).toContain('`tail -F /opt/logs.txt` follows the file forever');
  });

  it('finds the helper even when it is listed before the main container', () => {
    const findings = ruleFindings(RULE, job(`        - { name: linkerd-proxy, image: "cr.l5d.io/linkerd/proxy:edge-24.11.8" }
        - { name: export, image: "registry.example.com/export:1.8.0" }`));
    expect(where(findings)).toEqual(['Job/export[linkerd-proxy]']);
    expect(findings[0]!.message).toContain("runs next to 'export'");
    expect(findings[0]!.fix).toContain('config.alpha.linkerd.io/proxy-enable-native-sidecar');
  });

  it('leaves helpers that may be the workload itself (medium confidence) and unknown containers alone', () => {
    expect(ruleFindings(RULE, job(`        - { name: export, image: "registry.example.com/export:1.8.0" }
        - { name: envoy, image: "envoyproxy/envoy:v1.32.1" }
        - { name: uploader, image: "registry.example.com/uploader:0.3.0" }`))).toEqual([]);
  });

  it('leaves a helper that already is a native sidecar alone', () => {
    expect(ruleFindings(RULE, job('        - { name: export, image: "registry.example.com/export:1.8.0" }').replace(
      '      containers:',
      '      initContainers:\n        - { name: istio-proxy, image: "docker.io/istio/proxyv2:1.24.1", restartPolicy: Always }\n      containers:',
    ))).toEqual([]);
  });

  it('stays silent below 1.29 on either the API server or the oldest kubelet: there is no native sidecar to move to', () => {
    const manifest = job(`        - { name: export, image: "registry.example.com/export:1.8.0" }
        - { name: istio-proxy, image: "docker.io/istio/proxyv2:1.24.1" }`);
    expect(ruleFindings(RULE, manifest)).toHaveLength(1);
    expect(ruleFindings(RULE, manifest, { kubernetesVersion: '1.28' })).toEqual([]);
    expect(ruleFindings(RULE, manifest, { kubernetesVersion: '1.31', minKubeletVersion: '1.28' })).toEqual([]);
  });

  it('reaches Jobs and CronJobs, and only those', () => {
    const spec = {
      containers: [
        { name: 'task', image: 'registry.example.com/task:1.0.0' },
        { name: 'fluent-bit', image: 'fluent/fluent-bit:3.0.7' },
      ],
    };
    for (const { kind, yaml, specPath } of everyWorkloadKind(spec)) {
      const expected = kind === 'Job' || kind === 'CronJob' ? [`${specPath}.containers[1]`] : [];
      expect(ruleFindings(RULE, yaml).map((f) => f.path), kind).toEqual(expected);
    }
  });

  it('tells a Job with an injected istio-proxy to switch on Istio\'s native sidecar, not only to move the container', () => {
    const findings = ruleFindings(RULE, `apiVersion: batch/v1
kind: Job
metadata: { name: nightly-export, namespace: reports }
spec:
  backoffLimit: 2
  template:
    metadata:
      annotations: { sidecar.istio.io/status: '{"initContainers":["istio-init"],"containers":["istio-proxy"]}' }
    spec:
      restartPolicy: OnFailure
      initContainers:
        - name: istio-init
          image: docker.io/istio/proxyv2:1.23.4
          args: [istio-iptables, -p, "15001", -z, "15006", -u, "1337"]
          securityContext: { capabilities: { add: [NET_ADMIN, NET_RAW] } }
      containers:
        - name: export
          image: registry.example.com/reports/export:2.4.1
          command: [/export, --since=24h]
        - name: istio-proxy
          image: docker.io/istio/proxyv2:1.23.4
          args: [proxy, sidecar, --domain, $(POD_NAMESPACE).svc.cluster.local]
          ports: [{ name: http-envoy-prom, containerPort: 15090 }]
          volumeMounts: [{ name: istio-envoy, mountPath: /etc/istio/proxy }]
      volumes:
        - { name: istio-envoy, emptyDir: { medium: Memory } }
`);
    expect(where(findings)).toEqual(['Job/nightly-export[istio-proxy]']);
    expect(findings[0]!.path).toBe('spec.template.spec.containers[1]');
    expect(findings[0]!.fix).toContain('sidecar.istio.io/nativeSidecar: "true"');
  });

  it('leaves single-container Jobs and CronJobs alone, whatever their image', () => {
    expect(ruleFindings(RULE, `apiVersion: batch/v1
kind: Job
metadata: { name: log-backfill, namespace: logging }
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: fluent-bit
          image: cr.fluentbit.io/fluent/fluent-bit:3.2.4
          args: [-i, tail, -p, path=/archive/app.log, -p, read_from_head=true, -p, exit_on_eof=true, -o, forward, -p, host=aggregator]
---
apiVersion: batch/v1
kind: Job
metadata: { name: webhook-startupcheck, namespace: cert-manager }
spec:
  template:
    spec:
      restartPolicy: OnFailure
      containers:
        - { name: check, image: "quay.io/jetstack/cert-manager-startupapicheck:v1.16.2", args: [check, api, --wait=1m] }
---
apiVersion: batch/v1
kind: CronJob
metadata: { name: heartbeat, namespace: mesh-system }
spec:
  schedule: "7 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - { name: heartbeat, image: "cr.l5d.io/linkerd/controller:stable-2.14.10", args: [heartbeat] }
`)).toEqual([]);
  });

  it.skipIf(!realWorldCorpus.available)('flags the classic sidecars of the real-world Jobs that INDEX.md names', () => {
    const istio = ruleFindings(RULE, realWorld('istio-injected-classic-sidecar.yaml'));
    expect(where(istio)).toEqual(['Job/pi[istio-proxy]', 'CronJob/hellocron[istio-proxy]']);
    expect(istio[0]!.fix).toContain('sidecar.istio.io/nativeSidecar: "true"');
    expect(where(ruleFindings(RULE, realWorld('k8s-website-classic-multicontainer.yaml')))).toEqual(['Job/myjob[logshipper]']);
  });

  it.skipIf(!realWorldCorpus.available).each([
    ['istio-injected-native-sidecar.yaml', 'istio-proxy is already a native sidecar in Job/pi and CronJob/hellocron'],
    ['k8s-website-native-sidecars.yaml', 'the logshipper of Job/myjob is a native sidecar'],
    ['cert-manager-helm.yaml', 'single-container startupapicheck Job'],
    ['ingress-nginx-cloud.yaml', 'single-container admission Jobs'],
    ['descheduler-manifests.yaml', 'single-container Job and CronJob'],
    ['linkerd-install-default.yaml', 'single-container heartbeat CronJob'],
  ])('raises nothing on real-world %s (%s)', (file) => {
    expect(ruleFindings(RULE, realWorld(file))).toEqual([]);
  });
});

describe('classic-sidecar-in-job on the Pods of a Job', () => {
  // What the Job controller creates and Istio's injector then changes: the proxy is in the Pod, not in the Job.
  const injectedPod = (owner: string) => `apiVersion: v1
kind: Pod
metadata:
  name: export-7x2kq
  namespace: batch
  ownerReferences:
    - ${owner}
spec:
  restartPolicy: Never
  containers:
    - { name: export, image: "registry.example.com/export:1.8.0" }
    - { name: istio-proxy, image: "docker.io/istio/proxyv2:1.26.2", args: ["proxy", "sidecar"] }
`;

  it('warns on an Istio proxy injected into a Pod a Job owns, and points at the Job and the mesh switch', () => {
    const findings = ruleFindings(RULE, injectedPod('{ apiVersion: batch/v1, kind: Job, name: export, uid: 0c1d, controller: true, blockOwnerDeletion: true }'));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'warn', container: 'istio-proxy', path: 'spec.containers[1]' });
    expect(findings[0]!.message).toContain('mesh proxy');
    expect(findings[0]!.message).toContain("the Job 'export' never completes");
    expect(findings[0]!.problem).toBe('never exits, so the Job never completes');
    expect(findings[0]!.fix).toContain("pod template of Job 'export'");
    expect(findings[0]!.fix).toContain('sidecar.istio.io/nativeSidecar');
  });

  it('leaves the same Pod alone when a ReplicaSet, or a Job of another API group, owns it', () => {
    expect(ruleFindings(RULE, injectedPod('{ apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: 0c1d, controller: true }'))).toEqual([]);
    expect(ruleFindings(RULE, injectedPod('{ apiVersion: example.com/v1, kind: Job, name: export, uid: 0c1d, controller: true }'))).toEqual([]);
  });
});
