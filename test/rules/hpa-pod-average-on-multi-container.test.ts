import { describe, expect, it } from 'vitest';
import { ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { realWorld } from './workloads.js';

const RULE = 'hpa-pod-average-on-multi-container';

/** The article's web-app: a busy app and a near-idle log shipper in one Deployment. */
const webApp = (shipperResources = '{ requests: { cpu: 250m } }', namespace = 'shop') => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web-app, namespace: ${namespace} }
spec:
  template:
    spec:
      containers:
        - { name: app, image: registry.example.com/web-app:3.2.0, resources: { requests: { cpu: 750m } } }
        - { name: log-shipper, image: cr.fluentbit.io/fluent/fluent-bit:3.2.4, resources: ${shipperResources} }
`;

const hpa = (apiVersion: string, spec: string, namespace = 'shop') => `---
apiVersion: ${apiVersion}
kind: HorizontalPodAutoscaler
metadata: { name: web-app-hpa, namespace: ${namespace} }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web-app }
  minReplicas: 3
  maxReplicas: 30
${spec}`;

const CPU_UTILIZATION = `  metrics:
    - type: Resource
      resource:
        name: cpu
        target: { type: Utilization, averageUtilization: 70 }
`;

describe('hpa-pod-average-on-multi-container', () => {
  it('leaves a Resource metric alone when the target runs a single container, and warns once a sidecar joins it', () => {
    const collector = (sidecar = '') => `apiVersion: apps/v1
kind: Deployment
metadata: { name: collector, namespace: shop }
spec:
  template:
    spec:
      containers:
        - { name: otelcol, image: otel/opentelemetry-collector-contrib:0.116.0, resources: { requests: { cpu: 200m, memory: 256Mi } } }
${sidecar}` + hpa('autoscaling/v2', `  metrics:
    - type: Resource
      resource: { name: memory, target: { type: Utilization, averageUtilization: 75 } }
    - type: Pods
      pods: { metric: { name: otelcol_exporter_queue_size }, target: { type: AverageValue, averageValue: "100" } }
`).replace('name: web-app }', 'name: collector }');
    expect(ruleFindings(RULE, collector())).toEqual([]);
    const withSidecar = collector('        - { name: config-reloader, image: ghcr.io/example/config-reloader:0.9.0, resources: { requests: { memory: 16Mi } } }\n');
    expect(ruleFindings(RULE, withSidecar).map((f) => f.path)).toEqual(['spec.metrics[0].type']);
  });

  it.skipIf(!realWorldCorpus.available)('warns on the WordPress HPA whose pods also run the Cloud SQL proxy, and names wordpress in the fix', () => {
    const findings = ruleFindings(RULE, realWorld('gke-samples-sidecars-hpa.yaml'));
    expect(findings.map((f) => `${f.resource.kind}/${f.resource.name}`)).toEqual(['HorizontalPodAutoscaler/wordpress-hpa']);
    expect(findings[0]).toMatchObject({ severity: 'warn', path: 'spec.metrics[0].type' });
    expect(findings[0]!.message).toContain("('wordpress', 'cloudsql-proxy')");
    expect(findings[0]!.message).toContain('reads as 50%');
    expect(findings[0]!.fix).toContain('container: wordpress');
    expect(findings[0]!.fix).toContain('type: ContainerResource');
  });

  it.skipIf(!realWorldCorpus.available)('leaves the single-container collector alone even with Resource metrics among Pods/Object/External ones', () => {
    expect(ruleFindings(RULE, realWorld('otel-collector-example-custom-metrics-hpa.yaml'))).toEqual([]);
    expect(ruleFindings(RULE, realWorld('k8s-website-classic-multicontainer.yaml'))).toEqual([]);
    expect(ruleFindings(RULE, realWorld('k8s-examples-ai-vllm.yaml'))).toEqual([]);
  });

  it("accepts the article's ContainerResource HPA on the same multi-container Deployment", () => {
    expect(ruleFindings(RULE, webApp() + hpa('autoscaling/v2', `  metrics:
    - type: ContainerResource
      containerResource:
        name: cpu
        container: app
        target: { type: Utilization, averageUtilization: 70 }
`))).toEqual([]);
  });

  it('warns on a pod-wide cpu Utilization and computes how much the idle shipper hides', () => {
    const findings = ruleFindings(RULE, webApp() + hpa('autoscaling/v2', CPU_UTILIZATION));
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain("with 750m of 1000m requested by 'app', the app at 100% of its request reads as 75%");
    expect(findings[0]!.fix).toContain('containerResource: {name: cpu, container: app, target: {type: Utilization, averageUtilization: 70}}');
  });

  it('says the HPA stops scaling when a container has no request for the resource', () => {
    const findings = ruleFindings(RULE, webApp('{}') + hpa('autoscaling/v2', CPU_UTILIZATION));
    expect(findings[0]!.message).toContain("'log-shipper' has no cpu request, so the HPA cannot compute the utilization");
  });

  it('reads autoscaling/v1 targetCPUUtilizationPercentage and its default', () => {
    const explicit = ruleFindings(RULE, webApp() + hpa('autoscaling/v1', '  targetCPUUtilizationPercentage: 60\n'));
    expect(explicit.map((f) => f.path)).toEqual(['spec.targetCPUUtilizationPercentage']);
    const defaulted = ruleFindings(RULE, webApp() + hpa('autoscaling/v1', ''));
    expect(defaulted[0]!.message).toContain('targetCPUUtilizationPercentage is unset, so the API defaults to 80% CPU utilization');
  });

  it('reads v2beta1 and v2beta2 Resource metrics and an empty v2 metrics list', () => {
    const v2beta1 = ruleFindings(RULE, webApp() + hpa('autoscaling/v2beta1', `  metrics:
    - type: Pods
      pods: { metricName: requests_per_second, targetAverageValue: "10" }
    - type: Resource
      resource: { name: memory, targetAverageUtilization: 80 }
`));
    expect(v2beta1.map((f) => f.path)).toEqual(['spec.metrics[1].type']);
    expect(v2beta1[0]!.message).toContain('80% average memory utilization');
    expect(ruleFindings(RULE, webApp() + hpa('autoscaling/v2beta2', CPU_UTILIZATION))).toHaveLength(1);
    expect(ruleFindings(RULE, webApp() + hpa('autoscaling/v2', '  metrics: []\n')).map((f) => f.path)).toEqual(['spec.metrics']);
  });

  it('explains an AverageValue target as the pod total', () => {
    const findings = ruleFindings(RULE, webApp() + hpa('autoscaling/v2', `  metrics:
    - type: Resource
      resource: { name: memory, target: { type: AverageValue, averageValue: 500Mi } }
`));
    expect(findings[0]!.message).toContain("pod's total memory usage");
    expect(findings[0]!.fix).toContain('target: {type: AverageValue, averageValue: 500Mi}');
  });

  it('leaves Pods, Object and External metrics alone', () => {
    expect(ruleFindings(RULE, webApp() + hpa('autoscaling/v2', `  metrics:
    - type: Pods
      pods: { metric: { name: requests_per_second }, target: { type: AverageValue, averageValue: "10" } }
    - type: External
      external: { metric: { name: queue_depth }, target: { type: Value, value: "30" } }
`))).toEqual([]);
  });

  it('only looks at the target in the HPA\'s namespace and skips targets it cannot see', () => {
    expect(ruleFindings(RULE, webApp('{ requests: { cpu: 250m } }', 'other') + hpa('autoscaling/v2', CPU_UTILIZATION))).toEqual([]);
    expect(ruleFindings(RULE, hpa('autoscaling/v2', CPU_UTILIZATION))).toEqual([]);
  });

  it('counts a native sidecar of a StatefulSet target and works inside a List', () => {
    const findings = ruleFindings(RULE, `apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: StatefulSet
    metadata: { name: db }
    spec:
      template:
        spec:
          initContainers:
            - { name: backup-agent, image: b:1, restartPolicy: Always, resources: { requests: { cpu: 100m } } }
          containers:
            - { name: postgres, image: postgres:17.2, resources: { requests: { cpu: "1" } } }
  - apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata: { name: db }
    spec:
      scaleTargetRef: { apiVersion: apps/v1, kind: StatefulSet, name: db }
      maxReplicas: 5
      metrics: [{ type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: 60 } } }]
`);
    expect(findings.map((f) => f.path)).toEqual(['items[1].spec.metrics[0].type']);
    expect(findings[0]!.message).toContain("('backup-agent', 'postgres')");
    expect(findings[0]!.fix).toContain('container: postgres');
  });

  it('mentions the HPAContainerMetrics feature gate on clusters older than 1.27', () => {
    const old = ruleFindings(RULE, webApp() + hpa('autoscaling/v2', CPU_UTILIZATION), { kubernetesVersion: '1.26' });
    expect(old[0]!.fix).toContain('HPAContainerMetrics feature gate');
    const current = ruleFindings(RULE, webApp() + hpa('autoscaling/v2', CPU_UTILIZATION), { kubernetesVersion: '1.30' });
    expect(current[0]!.fix).not.toContain('feature gate');
  });

  it('ignores malformed HPAs without an error and says nothing it cannot read', () => {
    expect(ruleFindings(RULE, webApp() + hpa('autoscaling/v2', '  metrics: [null, { type: Resource }]\n'))).toEqual([]);
    const vague = ruleFindings(RULE, webApp() + hpa('autoscaling/v2', '  metrics: [{ type: Resource, resource: { name: cpu, target: 5 } }]\n'));
    expect(vague[0]!.message).toContain('on average cpu utilization');
    expect(vague[0]!.fix).toContain('averageUtilization: <percent>');
    expect(ruleFindings(RULE, `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: h }
spec: { scaleTargetRef: "web-app" }
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: h2 }
spec: null
`)).toEqual([]);
  });
});
