import { describe, expect, it } from 'vitest';
import { sidecarMissingResources } from '../../src/rules/sidecar-missing-resources.js';
import { ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'sidecar-missing-resources';

const where = (findings: ReturnType<typeof ruleFindings>) => findings.map((f) => `${f.resource.kind}/${f.resource.name}[${f.container}]`);

/** The seed article's git-sync sidecar: no resources at all, next to an nginx that has none either. */
const seedGitSync = `apiVersion: v1
kind: Pod
metadata:
  name: app-with-git-sync
spec:
  containers:
    - name: web-server
      image: nginx:1.25
      volumeMounts:
        - name: html-content
          mountPath: /usr/share/nginx/html
          readOnly: true
    - name: git-sync
      image: registry.k8s.io/git-sync/git-sync:v4.2.1
      args:
        - --repo=https://github.com/example/static-content
        - --root=/git
        - --period=60s
        - --link=current
      volumeMounts:
        - name: html-content
          mountPath: /git
  volumes:
    - name: html-content
      emptyDir: {}
`;

describe('sidecar-missing-resources', () => {
  it('warns on the seed article\'s git-sync sidecar and spells out the effective request', () => {
    const findings = ruleFindings(RULE, seedGitSync);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'warn', container: 'git-sync', path: 'spec.containers[1].resources' });
    expect(findings[0]!.message).toContain('no cpu and no memory request');
    expect(findings[0]!.message).toContain('max(max over init containers i of (init_i + native sidecars started before i), sum(native sidecars) + sum(containers))');
    expect(findings[0]!.message).toContain('under-reserved');
    expect(findings[0]!.fix).toBe("Set `resources.requests.cpu` and `resources.requests.memory` on sidecar 'git-sync' (spec.containers[1].resources) to what it uses under load.");
  });

  it('computes the effective request with native sidecars and init containers', () => {
    const [finding] = ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  initContainers:
    - { name: proxy, image: "p:1", restartPolicy: Always, resources: { requests: { cpu: 100m, memory: 64Mi } } }
    - { name: migrate, image: "m:1", resources: { requests: { cpu: "1", memory: 512Mi } } }
    - { name: log-shipper, image: "l:1", restartPolicy: Always }
  containers:
    - { name: app, image: "a:1", resources: { requests: { cpu: 500m, memory: 256Mi } } }
`);
    // cpu: max(1000m + 100m, 100m + 0 + 500m) = 1100m; memory: max(512Mi + 64Mi, 64Mi + 256Mi) = 576Mi
    expect(finding).toMatchObject({ container: 'log-shipper', path: 'spec.initContainers[2].resources' });
    expect(finding!.message).toContain('native sidecar');
    expect(finding!.message).toContain('= cpu 1100m, memory 576Mi here');
  });

  it('names only the missing resource, and counts a limit without a request as the request', () => {
    const findings = ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers:
    - { name: app, image: "a:1" }
    - { name: limited, image: "l:1", resources: { limits: { cpu: 200m, memory: 128Mi } } }
    - { name: half, image: "h:1", resources: { requests: { memory: 64Mi } } }
`);
    expect(findings.map((f) => f.container)).toEqual(['half']);
    expect(findings[0]!.message).toContain("'half' has no cpu request");
    expect(findings[0]!.message).not.toContain('OOM');
    expect(findings[0]!.fix).toContain('`resources.requests.cpu` on');
  });

  it('never reports the main container, even when a config reloader is listed before it', () => {
    const findings = ruleFindings(RULE, `apiVersion: apps/v1
kind: Deployment
metadata: { name: metrics-server, namespace: monitoring }
spec:
  template:
    spec:
      containers:
        - name: metrics-server-configmap-reload
          image: quay.io/prometheus-operator/prometheus-config-reloader:v0.79.2
          args: [--watched-dir=/etc/config, --reload-url=http://127.0.0.1:9090/-/reload]
        - name: metrics-server
          image: quay.io/prometheus/prometheus:v3.1.0
          args: [--config.file=/etc/config/prometheus.yml, --web.enable-lifecycle]
`);
    expect(where(findings)).toEqual(['Deployment/metrics-server[metrics-server-configmap-reload]']);
  });

  it.skipIf(!realWorldCorpus.available)('never reports the main container, wherever it is listed', () => {
    expect(where(ruleFindings(RULE, realWorld('prometheus-helm.yaml')))).toEqual(['Deployment/prometheus-server[prometheus-server-configmap-reload]']);
    expect(where(ruleFindings(RULE, realWorld('kube-prometheus-stack-helm.yaml')))).toEqual([
      'Deployment/kps-grafana[grafana-sc-dashboard]',
      'Deployment/kps-grafana[grafana-sc-datasources]',
    ]);
  });

  it('treats malformed resources as missing instead of failing', () => {
    const findings = ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  resources: "plenty"
  containers:
    - { name: app, image: "a:1" }
    - { name: odd, image: "o:1", resources: { requests: { cpu: "lots", memory: [1] } } }
`);
    expect(findings.map((f) => f.container)).toEqual(['odd']);
    expect(findings[0]!.message).toContain('no cpu and no memory request');
  });

  it('leaves a pod alone when pod-level resources budget the whole pod', () => {
    const podLevel = seedGitSync.replace('spec:\n  containers:', 'spec:\n  resources:\n    requests: { cpu: 500m, memory: 256Mi }\n  containers:');
    expect(ruleFindings(RULE, podLevel)).toEqual([]);
  });

  it('reaches the sidecars of every workload kind', () => {
    const spec = {
      containers: [
        { name: 'app', image: 'registry.example.com/app:1.0.0' },
        { name: 'exporter', image: 'registry.example.com/exporter:1.0.0' },
      ],
    };
    for (const { kind, yaml, specPath } of everyWorkloadKind(spec)) {
      expect(ruleFindings(RULE, yaml).map((f) => f.path), kind).toEqual([`${specPath}.containers[1].resources`]);
    }
  });

  it.skipIf(!realWorldCorpus.available)('flags the real-world sidecars INDEX.md lists as missing resources', () => {
    expect(where(ruleFindings(RULE, realWorld('k8s-website-classic-multicontainer.yaml')))).toEqual([
      'Deployment/myapp[logshipper]',
      'Job/myjob[logshipper]',
      'Pod/nginx[shell]',
      'Pod/two-containers[debian-container]',
      'Pod/counter[count-log-1]',
      'Pod/counter[count-log-2]',
    ]);
    const native = where(ruleFindings(RULE, realWorld('k8s-website-native-sidecars.yaml')));
    expect(native).toHaveLength(7);
    expect(native).not.toContain('Pod/resources-example[log-shipper]');
    expect(where(ruleFindings(RULE, realWorld('csi-driver-host-path.yaml')))).toHaveLength(7);
    expect(where(ruleFindings(RULE, realWorld('argocd-ha-namespace-install.yaml')))).toEqual([
      'StatefulSet/argocd-redis-ha-server[sentinel]',
      'StatefulSet/argocd-redis-ha-server[split-brain-fix]',
    ]);
  });

  it.skipIf(!realWorldCorpus.available).each([
    ['istio-injected-classic-sidecar.yaml', 'istio-proxy has resources; only the app lacks them'],
    ['csi-driver-nfs.yaml', 'every container has resources, the driver is listed last'],
    ['bitnami-redis-sentinel-metrics.yaml', 'sentinel and metrics have resources'],
    ['metrics-server-helm-addon-resizer.yaml', 'the nanny has resources'],
  ])('raises nothing on real-world %s (%s)', (file) => {
    expect(ruleFindings(RULE, realWorld(file))).toEqual([]);
  });
});

describe('sidecar-missing-resources documentation', () => {
  it('says what a missing request costs under contention without calling it throttling', () => {
    // CPU throttling is the limit's doing (CFS quota); a missing request means the smallest share of CPU.
    expect(sidecarMissingResources.description).not.toContain('throttled');
    expect(sidecarMissingResources.description).toContain('gets the smallest share of CPU');
  });
});
