import { describe, expect, it } from 'vitest';
import { ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'prestop-exceeds-grace-period';

const pod = (preStop: string, grace = '') => `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:${grace ? `\n  terminationGracePeriodSeconds: ${grace}` : ''}
  containers:
    - name: web
      image: registry.example.com/web:1.0.0
      lifecycle:
        preStop: ${preStop}
`;

describe('prestop-exceeds-grace-period', () => {
  it('warns when a shell preStop sleeps 45s under the default 30s grace period', () => {
    const findings = ruleFindings(RULE, pod('{ exec: { command: ["sh", "-c", "sleep 45 && nginx -s quit"] } }'));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'warn', container: 'web', path: 'spec.containers[0].lifecycle.preStop.exec.command' });
    expect(findings[0]!.message).toContain('sleeps 45s (`sleep 45`)');
    expect(findings[0]!.message).toContain('30s (the default: terminationGracePeriodSeconds is unset)');
    expect(findings[0]!.fix).toContain('spec.terminationGracePeriodSeconds to at least 60');
  });

  it('judges the native sleep action against an explicit grace period', () => {
    const findings = ruleFindings(RULE, pod('{ sleep: { seconds: 40 } }', '20'));
    expect(findings.map((f) => f.path)).toEqual(['spec.containers[0].lifecycle.preStop.sleep.seconds']);
    // validateSleepAction: the API server refuses a sleep action longer than the grace period outright.
    expect(findings[0]!.message).toContain('the API server rejects the Pod');
    expect(findings[0]!.message).not.toContain('SIGKILL');
    expect(findings[0]!.problem).toBe('sleeps past the grace period: rejected');
    expect(findings[0]!.message).toContain("grace period is 20s:");
  });

  it('adds up sequential sleeps and reads units, and stops at anything conditional', () => {
    expect(ruleFindings(RULE, pod('{ exec: { command: ["/bin/sh", "-c", "sleep 20; echo draining; sleep 15s"] } }'))).toHaveLength(1);
    expect(ruleFindings(RULE, pod('{ exec: { command: ["sleep", "1m"] } }'))).toHaveLength(1);
    expect(ruleFindings(RULE, pod('{ exec: { command: ["sh", "-c", "test -f /tmp/drained || sleep 60"] } }'))).toEqual([]);
    expect(ruleFindings(RULE, pod('{ exec: { command: ["sh", "-c", "while pgrep app; do sleep 40; done"] } }'))).toEqual([]);
    expect(ruleFindings(RULE, pod('{ exec: { command: ["sh", "-c", "sleep 40 & wait-for-drain"] } }'))).toEqual([]);
  });

  it('says an endless sleep never ends', () => {
    const findings = ruleFindings(RULE, pod('{ exec: { command: ["sleep", "infinity"] } }', '120'));
    expect(findings[0]!.message).toContain('sleeps forever');
  });

  it('accepts a sleep equal to or shorter than the grace period', () => {
    expect(ruleFindings(RULE, pod('{ exec: { command: ["sleep", "30"] } }'))).toEqual([]);
    expect(ruleFindings(RULE, pod('{ sleep: { seconds: 5 } }', '10'))).toEqual([]);
  });

  it('does not judge hooks whose duration is unknown', () => {
    expect(ruleFindings(RULE, pod('{ httpGet: { path: /drain, port: 8080 } }', '1'))).toEqual([]);
    expect(ruleFindings(RULE, pod('{ exec: { command: ["/wait-shutdown"] } }', '1'))).toEqual([]);
  });

  it('warns on a sleep in a zero grace period', () => {
    expect(ruleFindings(RULE, pod('{ exec: { command: ["sleep", "5"] } }', '0'))).toHaveLength(1);
  });

  it('checks native sidecars too', () => {
    const findings = ruleFindings(RULE, `apiVersion: batch/v1
kind: Job
metadata: { name: report }
spec:
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 10
      initContainers:
        - name: log-shipper
          image: cr.fluentbit.io/fluent/fluent-bit:3.2.4
          restartPolicy: Always
          lifecycle: { preStop: { exec: { command: ["sh", "-c", "sleep 15"] } } }
      containers:
        - { name: report, image: registry.example.com/report:1.0.0 }
`);
    expect(findings.map((f) => [f.container, f.path])).toEqual([['log-shipper', 'spec.template.spec.initContainers[0].lifecycle.preStop.exec.command']]);
  });

  it('accepts the lifecycle example of the patterns article (5s and 10s sleeps, default grace)', () => {
    expect(ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: ordered-shutdown }
spec:
  containers:
    - name: main-app
      image: myapp:1.0
      lifecycle: { preStop: { exec: { command: ["/bin/sh", "-c", "sleep 5"] } } }
    - name: sidecar
      image: sidecar:1.0
      lifecycle: { preStop: { exec: { command: ["/bin/sh", "-c", "sleep 10"] } } }
`)).toEqual([]);
  });

  it('judges a shell sleep before a kill against an explicit grace period: quiet within it, warned beyond it', () => {
    const statefulSet = (grace: number) => `apiVersion: apps/v1
kind: StatefulSet
metadata: { name: secrets-store, namespace: vault }
spec:
  serviceName: secrets-store-internal
  template:
    spec:
      terminationGracePeriodSeconds: ${grace}
      containers:
        - name: server
          image: registry.example.com/secrets-store:1.18.1
          lifecycle:
            preStop:
              exec:
                command: [/bin/sh, -c, "sleep 5 && kill -SIGTERM $(pidof secrets-store)"]
`;
    expect(ruleFindings(RULE, statefulSet(10))).toEqual([]);
    expect(ruleFindings(RULE, statefulSet(5))).toEqual([]);
    const findings = ruleFindings(RULE, statefulSet(3));
    expect(findings.map((f) => `${f.resource.kind}/${f.resource.name}/${f.container}`)).toEqual(['StatefulSet/secrets-store/server']);
    expect(findings[0]!.message).toContain('sleeps 5s (`sleep 5`)');
  });

  it.skipIf(!realWorldCorpus.available)('leaves Vault (sleep 5 && kill, grace 10), the collector agent (/test/sleep 5) and calico (exec, grace 0) alone', () => {
    for (const file of ['vault-helm-ha.yaml', 'otel-collector-examples-sharedpid-prestop.yaml', 'calico-canal.yaml', 'calico-csi-driver-and-etcd.yaml']) {
      expect(ruleFindings(RULE, realWorld(file)), file).toEqual([]);
    }
  });

  it.skipIf(!realWorldCorpus.available)('finds the sleep once the Vault grace period drops below it', () => {
    const text = realWorld('vault-helm-ha.yaml').replace('terminationGracePeriodSeconds: 10', 'terminationGracePeriodSeconds: 3');
    const findings = ruleFindings(RULE, text);
    expect(findings.map((f) => `${f.resource.kind}/${f.resource.name}/${f.container}`)).toEqual(['StatefulSet/vault/vault']);
    expect(findings[0]!.message).toContain('sleeps 5s (`sleep 5`)');
  });

  it('points at the hook in every workload kind', () => {
    const spec = { containers: [{ name: 'app', image: 'a:1', lifecycle: { preStop: { sleep: { seconds: 31 } } } }] };
    for (const workload of everyWorkloadKind(spec)) {
      expect(ruleFindings(RULE, workload.yaml).map((f) => f.path), workload.kind)
        .toEqual([`${workload.specPath}.containers[0].lifecycle.preStop.sleep.seconds`]);
    }
  });

  it('ignores malformed hooks and grace periods without an error', () => {
    expect(ruleFindings(RULE, pod('{ exec: { command: "sleep 100" }, sleep: { seconds: "40" } }', '"5"'))).toEqual([]);
    expect(ruleFindings(RULE, pod('{ exec: { command: [null, 5, "sleep", "soon"] } }'))).toEqual([]);
    expect(ruleFindings(RULE, pod('null'))).toEqual([]);
  });
});
