import { describe, expect, it } from 'vitest';
import { realWorldCorpus } from '../support/corpus.js';
import { ruleFindings } from '../support/engine.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'duplicate-port-name';

const deployment = (containers: string, initContainers = '[]', namespace = 'shop') => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${namespace} }
spec:
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web, tier: front }
    spec:
      initContainers: ${initContainers}
      containers: ${containers}
`;

const service = (targetPort: string, selector = '{ app: web }', extra = '', namespace = 'shop') => `---
apiVersion: v1
kind: Service
metadata: { name: web-svc, namespace: ${namespace} }
spec:
  selector: ${selector}
  ports:
    - { name: main, port: 80, targetPort: ${targetPort}${extra} }
`;

const container = (name: string, ports: string, extra = '') => `
        - { name: ${name}, image: registry.example.com/${name}:1.0.0, ports: [${ports}]${extra} }`;

const appAndProxy = container('app', '{ name: http, containerPort: 8080 }') + container('proxy', '{ name: http, containerPort: 4180 }');

describe('duplicate-port-name', () => {
  it('warns on the second container that declares a port name the first one has, and suggests a name of its own', () => {
    const findings = ruleFindings(RULE, deployment(appAndProxy));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      severity: 'warn',
      container: 'proxy',
      path: 'spec.template.spec.containers[1].ports[0].name',
      problem: "reuses port name 'http' of 'app'",
    });
    expect(findings[0]!.message).toContain("port name 'http' (TCP) is declared by 2 containers that run side by side: 'app' (8080), 'proxy' (4180)");
    expect(findings[0]!.message).toContain("a Service's traffic goes to 'app' only and 'proxy' never receives a connection through it");
    expect(findings[0]!.fix).toContain("Rename the port 'http' of 'proxy' (spec.template.spec.containers[1].ports[0].name), e.g. to 'p-http'");
    expect(findings[0]!.fix).toContain("those that mean 'app' can keep 'http' or use 8080");
  });

  it('names the Service of the input that selects the pod and targets the name', () => {
    const findings = ruleFindings(RULE, deployment(appAndProxy) + service('http'));
    expect(findings.map((f) => f.problem)).toEqual(["gets none of Service 'web-svc' (port 'http')"]);
    expect(findings[0]!.message).toContain("Service 'web-svc' selects this pod and targets port 'http' (TCP), which 2 containers declare");
    expect(findings[0]!.message).toContain("so its traffic goes to 'app' only");
  });

  it('ignores Services that do not select the pod, live in another namespace or target another name or protocol', () => {
    for (const other of [
      service('http', '{ app: api }'),
      service('http', '{}'),
      service('http', '{ app: web }', '', 'other'),
      service('8080'),
      service('http', '{ app: web }', ', protocol: UDP'),
    ]) {
      expect(ruleFindings(RULE, deployment(appAndProxy) + other).map((f) => f.problem), other).toEqual(["reuses port name 'http' of 'app'"]);
    }
  });

  it('keeps protocols apart: the same name over TCP in one container and UDP in another is not ambiguous', () => {
    expect(ruleFindings(RULE, deployment(container('dns', '{ name: dns, containerPort: 53, protocol: UDP }') + container('dns-tcp', '{ name: dns, containerPort: 5353 }')))).toEqual([]);
    expect(ruleFindings(RULE, deployment(container('a', '{ name: dns, containerPort: 53, protocol: udp }') + container('b', '{ name: dns, containerPort: 5353, protocol: UDP }')))).toHaveLength(1);
  });

  it('follows FindPort: regular containers first, then native sidecars; regular init containers never', () => {
    const sidecar = `
        - { name: mesh, image: registry.example.com/mesh:1.0.0, restartPolicy: Always, ports: [{ name: http, containerPort: 15001 }] }`;
    const findings = ruleFindings(RULE, deployment(container('app', '{ name: http, containerPort: 8080 }'), sidecar));
    expect(findings.map((f) => [f.container, f.path])).toEqual([['mesh', 'spec.template.spec.initContainers[0].ports[0].name']]);
    expect(findings[0]!.message).toContain("'app' (8080), 'mesh' (15001)");
    const init = `
        - { name: setup, image: registry.example.com/setup:1.0.0, ports: [{ name: http, containerPort: 9999 }] }`;
    expect(ruleFindings(RULE, deployment(container('app', '{ name: http, containerPort: 8080 }'), init))).toEqual([]);
  });

  it('leaves a name every declaring container uses for its own probes alone, unless a Service targets it', () => {
    const healthz = (name: string, port: number) => container(name, `{ name: healthz, containerPort: ${port} }`, ', livenessProbe: { httpGet: { path: /healthz, port: healthz } }');
    const csi = deployment(healthz('driver', 9898) + healthz('registrar', 9809));
    expect(ruleFindings(RULE, csi)).toEqual([]);
    expect(ruleFindings(RULE, csi + service('healthz')).map((f) => f.container)).toEqual(['registrar']);
    // One container probing the name is not enough: the other declares it for someone else.
    expect(ruleFindings(RULE, deployment(healthz('driver', 9898) + container('registrar', '{ name: healthz, containerPort: 9809 }')))).toHaveLength(1);
  });

  it('reports each name once, on the first container that loses it, and lists every container that declares it', () => {
    const findings = ruleFindings(RULE, deployment(
      container('app', '{ name: http, containerPort: 8080 }, { name: metrics, containerPort: 9090 }') +
        container('proxy', '{ name: http, containerPort: 4180 }') +
        container('exporter', '{ name: http, containerPort: 9100 }, { name: metrics, containerPort: 9101 }'),
    ));
    expect(findings.map((f) => [f.container, f.problem])).toEqual([
      ['proxy', "reuses port name 'http' of 'app'"],
      ['exporter', "reuses port name 'metrics' of 'app'"],
    ]);
    expect(findings[0]!.message).toContain("'app' (8080), 'proxy' (4180), 'exporter' (9100)");
    expect(findings[0]!.message).toContain("'proxy', 'exporter' never receive a connection");
  });

  it('points at the port name in every workload kind', () => {
    const spec = {
      containers: [
        { name: 'app', image: 'a:1', ports: [{ name: 'web', containerPort: 80 }] },
        { name: 'proxy', image: 'b:1', ports: [{ containerPort: 81 }, { name: 'web', containerPort: 82 }] },
      ],
    };
    for (const workload of everyWorkloadKind(spec)) {
      expect(ruleFindings(RULE, workload.yaml).map((f) => f.path), workload.kind).toEqual([`${workload.specPath}.containers[1].ports[1].name`]);
    }
  });

  it('ignores malformed ports and Services without an error', () => {
    expect(ruleFindings(RULE, deployment(`
        - { name: a, image: a:1, ports: [null, { name: 5 }, { name: "" }, "http"] }
        - { name: b, image: b:1, ports: { name: http } }`) + `---
apiVersion: v1
kind: Service
metadata: { name: odd }
spec: { selector: [app], ports: "http" }
`)).toEqual([]);
  });

  it.skipIf(!realWorldCorpus.available)('finds only the Istio fixture where a native sidecar and the app both name port 80 http; CSI healthz names are left alone', () => {
    expect(ruleFindings(RULE, realWorld('istio-injected-native-sidecar.yaml')).map((f) => `${f.resource.kind}/${f.resource.name} ${f.container}`)).toEqual(['Pod/hello other-sidecar']);
    expect(ruleFindings(RULE, realWorld('csi-driver-host-path.yaml'))).toEqual([]);
  });
});
