import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PodpatternsError } from '../../src/errors.js';
import { parsePolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'too-many-sidecars';

const threshold = (value: unknown) => parsePolicy(`rules:\n  too-many-sidecars:\n    threshold: ${JSON.stringify(value)}\n`, 'policy.yaml', ALL_RULES);

const pod = (regular: number, native = 0, inits: object[] = []) =>
  stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: {
      initContainers: [...inits, ...Array.from({ length: native }, (_, i) => ({ name: `native-${i}`, image: 'n:1', restartPolicy: 'Always' }))],
      containers: [{ name: 'app', image: 'a:1' }, ...Array.from({ length: regular }, (_, i) => ({ name: `helper-${i}`, image: 'h:1' }))],
    },
  });

describe('too-many-sidecars', () => {
  it('warns from five sidecars and points at the fifth', () => {
    expect(ruleFindings(RULE, pod(4))).toEqual([]);
    const findings = ruleFindings(RULE, pod(5));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'warn', path: 'spec.containers[5]' });
    expect(findings[0]!.message).toContain("the pod runs 5 sidecars next to 'app'");
    expect(findings[0]!.fix).toContain('`rules.too-many-sidecars.threshold` above 5');
  });

  it('counts native sidecars but not regular init containers', () => {
    expect(ruleFindings(RULE, pod(2, 3)).map((f) => f.path)).toEqual(['spec.containers[2]']);
    expect(ruleFindings(RULE, pod(4, 0, [{ name: 'setup', image: 's:1' }]))).toEqual([]);
  });

  it('follows the threshold option and rejects one below 1', () => {
    expect(ruleFindings(RULE, pod(3), { policy: threshold(3) })).toHaveLength(1);
    expect(ruleFindings(RULE, pod(6), { policy: threshold(8) })).toEqual([]);
    expect(() => threshold(0)).toThrow(PodpatternsError);
    expect(() => threshold(0)).toThrow(/threshold: must be at least 1/);
  });

  it('reaches every workload kind', () => {
    const containers = [{ name: 'app', image: 'a:1' }, ...Array.from({ length: 5 }, (_, i) => ({ name: `helper-${i}`, image: 'h:1' }))];
    for (const { kind, yaml, specPath } of everyWorkloadKind({ containers })) {
      expect(ruleFindings(RULE, yaml).map((f) => f.path), kind).toEqual([`${specPath}.containers[5]`]);
    }
  });

  it('counts the sidecars of a CSI controller next to its driver, wherever the driver is listed', () => {
    const sidecar = (name: string) => `        - { name: ${name}, image: "registry.k8s.io/sig-storage/${name}:v1.0.0", args: [--csi-address=/csi/csi.sock] }\n`;
    const controller = (sidecars: string[]) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: csi-controller, namespace: kube-system }
spec:
  template:
    spec:
      containers:
${sidecars.slice(0, 2).map(sidecar).join('')}        - { name: disk-driver, image: "registry.example.com/disk-csi-driver:1.37.0", args: [controller, --endpoint=unix:///csi/csi.sock] }
${sidecars.slice(2).map(sidecar).join('')}`;
    const five = ['csi-provisioner', 'csi-attacher', 'csi-snapshotter', 'csi-resizer', 'liveness-probe'];
    const findings = ruleFindings(RULE, controller(five));
    expect(findings.map((f) => [f.resource.name, f.path])).toEqual([['csi-controller', 'spec.template.spec.containers[5]']]);
    expect(findings[0]!.message).toContain("5 sidecars next to 'disk-driver'");
    expect(ruleFindings(RULE, controller(five.slice(0, 4)))).toEqual([]);
  });

  it.skipIf(!realWorldCorpus.available)('flags the real-world CSI pods with five and seven sidecars, and not the smaller ones', () => {
    const hostpath = ruleFindings(RULE, realWorld('csi-driver-host-path.yaml'));
    expect(hostpath.map((f) => f.resource.name)).toEqual(['csi-hostpathplugin']);
    expect(hostpath[0]!.message).toContain("7 sidecars next to 'hostpath'");
    const ebs = realWorld('aws-ebs-csi-driver.yaml');
    expect(ruleFindings(RULE, ebs).map((f) => f.resource.name)).toEqual(['ebs-csi-controller']);
    expect(ruleFindings(RULE, ebs, { policy: threshold(6) })).toEqual([]);
    expect(ruleFindings(RULE, realWorld('csi-driver-nfs.yaml'))).toEqual([]);
    expect(ruleFindings(RULE, realWorld('linkerd-install-default.yaml'))).toEqual([]);
  });
});
