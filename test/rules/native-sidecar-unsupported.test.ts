import { describe, expect, it } from 'vitest';
import { ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'native-sidecar-unsupported';

/** The seed article's native sidecar: promtail as an init container with `restartPolicy: Always` and a startupProbe. */
const seedNativeSidecar = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-app
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web-app
  template:
    metadata:
      labels:
        app: web-app
    spec:
      initContainers:
        - name: log-shipper
          image: grafana/promtail:3.4.0
          restartPolicy: Always
          args:
            - "-config.file=/etc/promtail/promtail.yaml"
          startupProbe:
            httpGet:
              path: /ready
              port: 3101
            failureThreshold: 30
            periodSeconds: 2
      containers:
        - name: app
          image: mycompany/web:1.6.0
`;

describe('native-sidecar-unsupported', () => {
  it('denies the seed article\'s native sidecar on a 1.28 cluster, where the API server drops the field', () => {
    const findings = ruleFindings(RULE, seedNativeSidecar, { kubernetesVersion: '1.28' });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      severity: 'deny',
      container: 'log-shipper',
      path: 'spec.template.spec.initContainers[0].restartPolicy',
    });
    expect(findings[0]!.message).toContain('the API server (1.28)');
    expect(findings[0]!.message).toContain('silently drops the field');
    expect(findings[0]!.message).toContain('hangs in Init forever');
  });

  it('accepts it once the API server and every kubelet are 1.29 or newer', () => {
    expect(ruleFindings(RULE, seedNativeSidecar, { kubernetesVersion: '1.29' })).toEqual([]);
    expect(ruleFindings(RULE, seedNativeSidecar, { kubernetesVersion: '1.35', minKubeletVersion: '1.32' })).toEqual([]);
  });

  it('names the kubelet when only the nodes lag behind a new control plane', () => {
    const [ignored] = ruleFindings(RULE, seedNativeSidecar, { kubernetesVersion: '1.30', minKubeletVersion: '1.27' });
    expect(ignored!.message).toContain('the oldest kubelet (1.27)');
    expect(ignored!.message).not.toContain('API server');
    expect(ignored!.message).toContain('the field is ignored');
    expect(ignored!.fix).toContain('Upgrade every node to 1.29+');
    const [rejected] = ruleFindings(RULE, seedNativeSidecar, { kubernetesVersion: '1.29', minKubeletVersion: '1.28' });
    expect(rejected!.message).toContain('the oldest kubelet (1.28)');
    expect(rejected!.message).toContain('rejects the pod');
  });

  it('names both versions when both are too old', () => {
    const [finding] = ruleFindings(RULE, seedNativeSidecar, { kubernetesVersion: '1.27', minKubeletVersion: '1.26' });
    expect(finding!.message).toContain('the API server (1.27) and the oldest kubelet (1.26) are older');
    expect(finding!.message).toContain('does not know the field');
    expect(finding!.fix).toContain('Upgrade the API server and every node');
  });

  it('tells a Job on 1.28 that its sidecar, kept as a classic one, needs a way to exit', () => {
    const findings = ruleFindings(RULE, `apiVersion: batch/v1
kind: Job
metadata: { name: export }
spec:
  template:
    spec:
      restartPolicy: Never
      initContainers:
        - name: log-forwarder
          image: registry.example.com/log-forwarder:2.1.0
          restartPolicy: Always
          command: [sh, -c, "tail -F /var/log/export/out.log"]
          volumeMounts: [{ name: logs, mountPath: /var/log/export }]
      containers:
        - name: export
          image: registry.example.com/export:1.8.0
          volumeMounts: [{ name: logs, mountPath: /var/log/export }]
      volumes:
        - { name: logs, emptyDir: {} }
`, { kubernetesVersion: '1.28' });
    expect(findings.map((f) => [f.container, f.path])).toEqual([['log-forwarder', 'spec.template.spec.initContainers[0].restartPolicy']]);
    expect(findings[0]!.fix).toContain('make it exit when the main container finishes');
    expect(ruleFindings(RULE, seedNativeSidecar, { kubernetesVersion: '1.28' })[0]!.fix).not.toContain('make it exit when the main container finishes');
  });

  it.skipIf(!realWorldCorpus.available)('warns a Job that a classic sidecar needs a way to exit', () => {
    const findings = ruleFindings(RULE, realWorld('k8s-website-native-sidecars.yaml'), { kubernetesVersion: '1.28' });
    const job = findings.find((f) => f.resource.kind === 'Job');
    expect(job!.fix).toContain('make it exit when the main container finishes');
  });

  it('leaves regular init containers and classic sidecars alone', () => {
    const classic = seedNativeSidecar.replace('          restartPolicy: Always\n', '').replace(/ {10}startupProbe:[\s\S]*?periodSeconds: 2\n/, '');
    expect(ruleFindings(RULE, classic, { kubernetesVersion: '1.27' })).toEqual([]);
  });

  it('reaches the native sidecars of every workload kind', () => {
    const spec = {
      initContainers: [{ name: 'proxy', image: 'registry.example.com/proxy:1.0.0', restartPolicy: 'Always' }],
      containers: [{ name: 'app', image: 'registry.example.com/app:1.0.0' }],
    };
    for (const { kind, yaml, specPath } of everyWorkloadKind(spec)) {
      expect(ruleFindings(RULE, yaml, { kubernetesVersion: '1.28' }).map((f) => f.path), kind).toEqual([`${specPath}.initContainers[0].restartPolicy`]);
    }
  });

  it.skipIf(!realWorldCorpus.available)('flags each native sidecar of the real-world manifests on a 1.28 cluster, and none on a current one', () => {
    const website = realWorld('k8s-website-native-sidecars.yaml');
    expect(ruleFindings(RULE, website, { kubernetesVersion: '1.28' }).map((f) => `${f.resource.kind}/${f.resource.name}[${f.container}]`)).toEqual([
      'Deployment/myapp[logshipper]',
      'Job/myjob[logshipper]',
      'Pod/adapter-pattern-example[adapter]',
      'Pod/ambassador-sidecar-example[ambassador-sidecar]',
      'Pod/localhost-example[client]',
      'Pod/resources-example[log-shipper]',
      'Pod/startup-coordination-example[config-sidecar]',
      'Pod/ml-worker[watcher-sidecar]',
    ]);
    expect(ruleFindings(RULE, website)).toEqual([]);
    const linkerd = realWorld('linkerd-inject-native-sidecar.yaml');
    expect(ruleFindings(RULE, linkerd, { kubernetesVersion: '1.31', minKubeletVersion: '1.28' }).map((f) => f.container)).toEqual(['linkerd-proxy', 'linkerd-proxy']);
  });
});
