import { describe, expect, it } from 'vitest';
import { ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'init-container-probes';

/**
 * The seed article: "If you need a process that stays alive but blocks the main container from starting, you
 * want a native sidecar with a startupProbe, not an init container." Here it is written as an init container.
 */
const blockingInit = (extra = '') => `apiVersion: v1
kind: Pod
metadata: { name: api }
spec:
  initContainers:
    - name: config-agent
      image: registry.example.com/config-agent:0.4.1
      command: ["config-agent", "--watch"]
${extra}      startupProbe:
        httpGet: { path: /ready, port: 8081 }
  containers:
    - { name: api, image: "mycompany/api:3.2.0" }
`;

describe('init-container-probes', () => {
  it('denies a startupProbe on a regular init container and points at the field', () => {
    const findings = ruleFindings(RULE, blockingInit());
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'deny', container: 'config-agent', path: 'spec.initContainers[0].startupProbe' });
    expect(findings[0]!.message).toContain('may not be set for init containers without restartPolicy=Always');
    expect(findings[0]!.message).toContain('the Pod is never created');
    expect(findings[0]!.fix).toContain("Remove `startupProbe` from init container 'config-agent'");
    expect(findings[0]!.fix).toContain('`restartPolicy: Always`');
  });

  it('allows the same probe on a native sidecar', () => {
    expect(ruleFindings(RULE, blockingInit('      restartPolicy: Always\n'))).toEqual([]);
  });

  it('reports each of liveness, readiness and startup probes and lifecycle separately', () => {
    const findings = ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: api }
spec:
  initContainers:
    - name: migrate
      image: registry.example.com/api-migrations:3.2.0
      livenessProbe: { exec: { command: ["true"] } }
      readinessProbe: { exec: { command: ["true"] } }
      startupProbe: { exec: { command: ["true"] } }
      lifecycle: { preStop: { exec: { command: ["sh", "-c", "sleep 5"] } } }
  containers:
    - { name: api, image: "registry.example.com/api:3.2.0" }
`);
    expect(findings.map((f) => f.path)).toEqual([
      'spec.initContainers[0].livenessProbe',
      'spec.initContainers[0].readinessProbe',
      'spec.initContainers[0].startupProbe',
      'spec.initContainers[0].lifecycle',
    ]);
  });

  it('leads with the native sidecar when the init container never exits', () => {
    const [finding] = ruleFindings(RULE, blockingInit().replace('["config-agent", "--watch"]', '["sh", "-c", "config-agent --watch & sleep infinity"]'));
    expect(finding!.fix).toMatch(/^'config-agent' keeps running, so make 'config-agent' a native sidecar/);
  });

  it('does not offer a native sidecar below 1.29', () => {
    const [finding] = ruleFindings(RULE, blockingInit(), { kubernetesVersion: '1.30', minKubeletVersion: '1.28' });
    expect(finding!.fix).toContain('native sidecars, which may have it, need Kubernetes 1.29+');
    expect(finding!.fix).not.toContain('adding `restartPolicy: Always`');
  });

  it('leaves probes on regular containers alone', () => {
    expect(ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: api }
spec:
  containers:
    - name: api
      image: registry.example.com/api:3.2.0
      readinessProbe: { httpGet: { path: /ready, port: 8080 } }
`)).toEqual([]);
  });

  it('reaches the init containers of every workload kind', () => {
    const spec = {
      initContainers: [{ name: 'setup', image: 'busybox:1.37.0', readinessProbe: { exec: { command: ['true'] } } }],
      containers: [{ name: 'app', image: 'registry.example.com/app:1.0.0' }],
    };
    for (const { kind, yaml, specPath } of everyWorkloadKind(spec)) {
      expect(ruleFindings(RULE, yaml).map((f) => f.path), kind).toEqual([`${specPath}.initContainers[0].readinessProbe`]);
    }
  });

  it('allows every probe and a preStop hook on an injected native mesh proxy', () => {
    const injected = `apiVersion: apps/v1
kind: Deployment
metadata: { name: reviews, namespace: shop }
spec:
  template:
    spec:
      initContainers:
        - name: mesh-proxy
          image: registry.example.com/mesh/proxy:1.24.2
          restartPolicy: Always
          args: [proxy, sidecar]
          readinessProbe: { httpGet: { path: /healthz/ready, port: 15021 }, periodSeconds: 15 }
          startupProbe: { httpGet: { path: /healthz/ready, port: 15021 }, failureThreshold: 600, periodSeconds: 1 }
          livenessProbe: { tcpSocket: { port: 15021 } }
          lifecycle: { preStop: { exec: { command: [pilot-agent, request, --debug-port=15020, POST, drain] } } }
      containers:
        - { name: reviews, image: "registry.example.com/shop/reviews:1.19.1" }
`;
    expect(ruleFindings(RULE, injected)).toEqual([]);
    expect(ruleFindings(RULE, injected.replace('          restartPolicy: Always\n', '')).map((f) => f.path)).toEqual([
      'spec.template.spec.initContainers[0].livenessProbe',
      'spec.template.spec.initContainers[0].readinessProbe',
      'spec.template.spec.initContainers[0].startupProbe',
      'spec.template.spec.initContainers[0].lifecycle',
    ]);
  });

  it.skipIf(!realWorldCorpus.available).each([
    ['istio-injected-native-sidecar.yaml', 'native istio-proxy has readiness and startup probes and a preStop hook'],
    ['k8s-website-native-sidecars.yaml', 'native config-sidecar has a startupProbe'],
    ['linkerd-inject-native-sidecar.yaml', 'native linkerd-proxy has liveness, readiness and startup probes'],
  ])('raises nothing on real-world %s (%s)', (file) => {
    expect(ruleFindings(RULE, realWorld(file))).toEqual([]);
  });
});
