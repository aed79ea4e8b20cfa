import { describe, expect, it } from 'vitest';
import { realWorldCorpus } from '../support/corpus.js';
import { ruleFindings } from '../support/engine.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'probe-named-port-undeclared';

const pod = (containers: string, initContainers = '[]', kind = 'Pod') =>
  kind === 'Pod'
    ? `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  initContainers: ${initContainers}
  containers: ${containers}
`
    : `apiVersion: batch/v1
kind: Job
metadata: { name: p }
spec:
  template:
    spec:
      restartPolicy: Never
      initContainers: ${indent(initContainers)}
      containers: ${indent(containers)}
`;

/** Container lists are written for a Pod; a Job's pod spec sits four spaces deeper. */
const indent = (list: string) => list.replaceAll('\n    ', '\n        ');

const app = `
    - { name: app, image: registry.example.com/app:1.0.0, ports: [{ name: http, containerPort: 8080 }, { name: metrics, containerPort: 9090, protocol: TCP }] }`;

describe('probe-named-port-undeclared', () => {
  it('denies a sidecar readiness probe on a port name only the app declares, and offers the number', () => {
    const findings = ruleFindings(RULE, pod(`${app}
    - { name: proxy, image: registry.example.com/proxy:2.0.0, readinessProbe: { httpGet: { path: /ready, port: http } } }`));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      severity: 'deny',
      container: 'proxy',
      path: 'spec.containers[1].readinessProbe.httpGet.port',
      problem: "lacks probed port 'http': never Ready",
    });
    expect(findings[0]!.message).toContain("names port 'http', which 'proxy' does not declare (it is 'app' that declares it, as 8080/TCP)");
    expect(findings[0]!.message).toContain('every probe errors (port "http" not found)');
    expect(findings[0]!.message).toContain("'proxy' never becomes Ready, nor does the pod");
    expect(findings[0]!.fix).toContain('Set spec.containers[1].readinessProbe.httpGet.port to 8080');
  });

  it('checks tcpSocket probes too, and says to declare a name that no container declares', () => {
    const findings = ruleFindings(RULE, pod(`
    - { name: app, image: registry.example.com/app:1.0.0, ports: [{ containerPort: 8080 }], startupProbe: { tcpSocket: { port: web } } }`));
    expect(findings.map((f) => [f.path, f.severity, f.problem])).toEqual([['spec.containers[0].startupProbe.tcpSocket.port', 'deny', "lacks probed port 'web': never started"]]);
    expect(findings[0]!.message).toContain('its other probes never run and it never becomes Ready');
    expect(findings[0]!.fix).toBe('Declare the port \'app\' serves the probe on as `{ name: web, containerPort: <its port> }` in spec.containers[0].ports, or set spec.containers[0].startupProbe.tcpSocket.port to the port number.');
  });

  it('denies a native sidecar startup probe that never succeeds: nothing after it starts', () => {
    const findings = ruleFindings(RULE, pod(app, `
    - { name: mesh, image: registry.example.com/mesh:1.0.0, restartPolicy: Always, ports: [{ name: admin, containerPort: 15000 }], startupProbe: { httpGet: { path: /ready, port: health } } }
    - { name: migrate, image: registry.example.com/migrate:1.0.0 }`));
    expect(findings.map((f) => [f.container, f.severity])).toEqual([['mesh', 'deny']]);
    expect(findings[0]!.message).toContain("native sidecar 'mesh' is never marked started, so the kubelet never starts the 2 containers after it");
  });

  it('warns on a liveness probe, which silently stops checking', () => {
    const findings = ruleFindings(RULE, pod(`
    - { name: app, image: registry.example.com/app:1.0.0, ports: [{ name: http, containerPort: 8080 }], livenessProbe: { httpGet: { path: /healthz, port: healthz } } }`));
    expect(findings.map((f) => [f.severity, f.problem])).toEqual([['warn', "lacks probed port 'healthz': no liveness"]]);
    expect(findings[0]!.message).toContain("a hung 'app' is never restarted");
  });

  it('warns rather than denies in a Job, which completes whether its containers get Ready or not', () => {
    const probes = 'readinessProbe: { httpGet: { path: /ready, port: http } }, startupProbe: { tcpSocket: { port: http } }';
    const findings = ruleFindings(RULE, pod(`
    - { name: report, image: registry.example.com/report:1.0.0, ${probes} }`, '[]', 'Job'));
    expect(findings.map((f) => [f.path, f.severity])).toEqual([
      ['spec.template.spec.containers[0].startupProbe.tcpSocket.port', 'warn'],
      ['spec.template.spec.containers[0].readinessProbe.httpGet.port', 'warn'],
    ]);
    expect(findings[1]!.message).toContain('the Job still completes when it exits');
    // A native sidecar that never starts holds the Job's containers back all the same.
    const sidecar = ruleFindings(RULE, pod(`
    - { name: report, image: registry.example.com/report:1.0.0 }`, `
    - { name: proxy, image: registry.example.com/proxy:1.0.0, restartPolicy: Always, startupProbe: { tcpSocket: { port: sql } } }`, 'Job'));
    expect(sidecar.map((f) => f.severity)).toEqual(['deny']);
  });

  it('accepts its own port names, numbers served by any container, gRPC ports and exec probes', () => {
    expect(ruleFindings(RULE, pod(`${app.replace('}] }', '}], readinessProbe: { httpGet: { path: /ready, port: http } }, livenessProbe: { tcpSocket: { port: metrics } } }')}
    - { name: proxy, image: registry.example.com/proxy:2.0.0, readinessProbe: { httpGet: { path: /ready, port: 8080 } }, livenessProbe: { grpc: { port: 9090 } } }
    - { name: agent, image: registry.example.com/agent:2.0.0, startupProbe: { exec: { command: [cat, /tmp/ready] } } }`))).toEqual([]);
  });

  it('leaves strings that are not port names to the API server, which rejects them', () => {
    expect(ruleFindings(RULE, pod(`
    - { name: app, image: registry.example.com/app:1.0.0, readinessProbe: { httpGet: { path: /ready, port: "8080" } } }`))).toEqual([]);
  });

  it('does not judge probes of regular init containers, which the API server rejects, nor offer their ports', () => {
    expect(ruleFindings(RULE, pod(app, `
    - { name: setup, image: registry.example.com/setup:1.0.0, readinessProbe: { httpGet: { path: /ready, port: http } } }`))).toEqual([]);
    // A port an init container declared is gone by the time the probe runs.
    const findings = ruleFindings(RULE, pod(`
    - { name: app, image: registry.example.com/app:1.0.0, readinessProbe: { httpGet: { path: /ready, port: warmup } } }`, `
    - { name: setup, image: registry.example.com/setup:1.0.0, ports: [{ name: warmup, containerPort: 7000 }] }`));
    expect(findings[0]!.message).not.toContain("'setup'");
    expect(findings[0]!.fix).toContain('Declare the port');
  });

  it('points at the probe port in every workload kind', () => {
    const spec = {
      containers: [
        { name: 'app', image: 'a:1', ports: [{ name: 'http', containerPort: 8080 }] },
        { name: 'proxy', image: 'b:1', livenessProbe: { httpGet: { path: '/', port: 'http' } } },
      ],
    };
    for (const workload of everyWorkloadKind(spec)) {
      expect(ruleFindings(RULE, workload.yaml).map((f) => f.path), workload.kind).toEqual([`${workload.specPath}.containers[1].livenessProbe.httpGet.port`]);
    }
  });

  it('ignores malformed probes and ports without an error', () => {
    expect(ruleFindings(RULE, pod(`
    - { name: a, image: a:1, ports: [null, { name: 5 }, "http"], readinessProbe: "x", livenessProbe: { httpGet: null, tcpSocket: { port: [http] } } }
    - { name: b, image: b:1, startupProbe: { httpGet: { port: null } } }`))).toEqual([]);
  });

  it.skipIf(!realWorldCorpus.available)('finds nothing in the corpus: its named probe ports, CSI healthz included, are declared by the probed container', () => {
    for (const file of ['csi-driver-host-path.yaml', 'aws-ebs-csi-driver.yaml', 'metallb-frr-prometheus.yaml', 'istio-injected-native-sidecar.yaml', 'linkerd-install-ha.yaml']) {
      expect(ruleFindings(RULE, realWorld(file)), file).toEqual([]);
    }
  });
});
