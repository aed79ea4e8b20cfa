import { describe, expect, it } from 'vitest';
import { shortForm } from '../../src/engine/short-form.js';
import type { Finding } from '../../src/engine/types.js';
import { asArray, isObject, type KubeObject } from '../../src/model/kube.js';
import { parsePolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { findingsFor, objectsFromYaml, type EvaluateOptions } from '../support/engine.js';

const LONGEST_NAME = 63;

/** Every object, container and volume name of the manifests made 63 characters long, consistently everywhere. */
function withLongNames(yaml: string): KubeObject[] {
  const objects = objectsFromYaml(yaml);
  const names = new Set<string>();
  const collect = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(collect);
    if (!isObject(value)) return;
    if (isObject(value.metadata) && typeof value.metadata.name === 'string') names.add(value.metadata.name);
    for (const key of ['containers', 'initContainers', 'volumes']) {
      for (const entry of asArray(value[key])) if (isObject(entry) && typeof entry.name === 'string') names.add(entry.name);
    }
    Object.values(value).forEach(collect);
  };
  collect(objects);
  const lengthen = (name: string): string => `${name}-${'x'.repeat(LONGEST_NAME)}`.slice(0, LONGEST_NAME - 1) + 'z';
  const rename = (value: unknown): unknown => {
    if (typeof value === 'string') return names.has(value) ? lengthen(value) : value;
    if (Array.isArray(value)) return value.map(rename);
    if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, rename(entry)]));
    return value;
  };
  return objects.map((object) => rename(object) as KubeObject);
}

function containerNames(objects: readonly KubeObject[]): string[] {
  const names: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (!isObject(value)) return;
    for (const key of ['containers', 'initContainers']) {
      for (const entry of asArray(value[key])) if (isObject(entry) && typeof entry.name === 'string') names.push(entry.name);
    }
    Object.values(value).forEach(walk);
  };
  walk(objects);
  return names;
}

/** The name in quotes, whole or shortened in the middle (`'abc…xyz'`, at least three characters each side). */
function names(warning: string, name: string): boolean {
  return [...warning.matchAll(/'([^'\s]+)'/g)].some(([, quoted]) => {
    if (quoted === name) return true;
    const [head, tail] = quoted!.split('…');
    return tail !== undefined && head!.length >= 3 && tail.length >= 3 && name.startsWith(head!) && name.endsWith(tail);
  });
}

/** What every warning must be: one complete sentence of at most 120 characters naming rule, container and fix. */
function expectReadableWarning(warning: string, finding: Finding, containers: readonly string[]): void {
  expect([...warning].length, warning).toBeLessThanOrEqual(120);
  expect(warning, 'a sentence, ending with a period').toMatch(/^\S.*\.$/);
  expect(warning.endsWith('….'), warning).toBe(false);
  expect(warning, 'points at the fix').toContain(`podpatterns rules ${finding.rule})`);
  // Shortening only ever happens inside a quoted name: the sentence itself is whole.
  expect(warning.replace(/'[^'\s]*'/g, "''"), warning).not.toContain('…');
  if (finding.container !== undefined) expect(names(warning, finding.container), `${warning} names ${finding.container}`).toBe(true);
  else expect(containers.some((name) => names(warning, name)), `${warning} names a container`).toBe(true);
}

interface Case {
  /** Why the case is here. */
  title: string;
  rule: string;
  yaml: string;
  options?: EvaluateOptions;
}

const examples: Case[] = ALL_RULES.map((rule) => ({
  title: 'the README example',
  rule: rule.id,
  yaml: rule.example.bad,
  options: {
    ...(rule.example.kubernetesVersion && { kubernetesVersion: rule.example.kubernetesVersion }),
    ...(rule.example.minKubeletVersion && { minKubeletVersion: rule.example.minKubeletVersion }),
  },
}));

const pod = (spec: string, name = 'web') => `apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
${spec}`;

/** The other wordings of the rules' problems, so each is checked at its longest. */
const variants: Case[] = [
  {
    title: 'a duplicate hostPort',
    rule: 'port-conflict',
    yaml: pod(`  containers:
    - { name: app, image: a:1, ports: [{ containerPort: 80, hostPort: 65535, protocol: SCTP }] }
    - { name: exporter, image: b:1, ports: [{ containerPort: 81, hostPort: 65535, protocol: SCTP }] }
`),
  },
  ...[['1.33', 'rejected'], ['1.34', 'dropped']].map(([version, what]) => ({
    title: `restartPolicy ${what} on ${version}`,
    rule: 'restart-policy-on-container',
    yaml: pod(`  containers:
    - { name: app, image: a:1 }
    - { name: log-shipper, image: b:1, restartPolicy: Always }
`),
    options: { kubernetesVersion: version! },
  })),
  {
    title: 'restartPolicy: Always in a pod that restarts anyway',
    rule: 'restart-policy-on-container',
    yaml: pod(`  containers:
    - { name: app, image: a:1 }
    - { name: log-shipper, image: b:1, restartPolicy: Always }
`),
  },
  {
    title: 'a sidecar that restarts forever in a CronJob',
    rule: 'restart-policy-on-container',
    yaml: `apiVersion: batch/v1
kind: CronJob
metadata: { name: nightly }
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - { name: report, image: a:1 }
            - { name: log-shipper, image: b:1, restartPolicy: Always }
`,
  },
  ...['1.28', '1.27'].map((kubelet) => ({
    title: `a native sidecar on ${kubelet} kubelets`,
    rule: 'native-sidecar-unsupported',
    yaml: pod(`  initContainers:
    - { name: log-shipper, image: b:1, restartPolicy: Always }
  containers:
    - { name: app, image: a:1 }
`),
    options: { kubernetesVersion: '1.35', minKubeletVersion: kubelet },
  })),
  {
    title: 'a floating tag and an untagged image',
    rule: 'unpinned-image',
    yaml: pod(`  containers:
    - { name: app, image: "registry.example.com/app:release-candidate-branch" }
    - { name: helper, image: busybox }
`),
    options: { policy: parsePolicy('rules:\n  unpinned-image:\n    floatingTags: ["release-candidate-branch"]\n', 'policy.yaml', ALL_RULES) },
  },
  {
    title: 'a pod with more than ten sidecars',
    rule: 'too-many-sidecars',
    yaml: pod(`  shareProcessNamespace: true
  hostNetwork: true
  containers:
    - { name: app, image: a:1 }
${Array.from({ length: 12 }, (_, index) => `    - { name: helper-${index}, image: h:1, args: ["--listen=:90${10 + index}"] }`).join('\n')}
`),
  },
  {
    title: 'a pod with many sidecars on the host network',
    rule: 'host-network-sidecars',
    yaml: pod(`  hostNetwork: true
  containers:
    - { name: app, image: a:1 }
${Array.from({ length: 12 }, (_, index) => `    - { name: helper-${index}, image: h:1 }`).join('\n')}
`),
  },
  {
    title: 'a pod with many containers in one process namespace',
    rule: 'shared-process-namespace',
    yaml: pod(`  shareProcessNamespace: true
  containers:
    - { name: app, image: a:1 }
${Array.from({ length: 12 }, (_, index) => `    - { name: helper-${index}, image: h:1 }`).join('\n')}
`),
  },
  {
    title: 'a memory emptyDir nobody writes to',
    rule: 'memory-emptydir-no-size-limit',
    yaml: pod(`  containers:
    - { name: app, image: a:1, volumeMounts: [{ name: cache, mountPath: /cache, readOnly: true }] }
  volumes:
    - { name: cache, emptyDir: { medium: Memory } }
`),
  },
  {
    title: 'a localhost port of five digits',
    rule: 'localhost-port-not-declared',
    yaml: pod(`  containers:
    - { name: app, image: a:1, env: [{ name: PROXY_URL, value: "http://localhost:65535" }] }
    - { name: proxy, image: p:1, ports: [{ containerPort: 8080 }] }
`),
  },
  {
    title: 'a preStop sleep action longer than a long grace period, and an endless exec sleep',
    rule: 'prestop-exceeds-grace-period',
    yaml: pod(`  terminationGracePeriodSeconds: 3600
  containers:
    - { name: app, image: a:1, lifecycle: { preStop: { sleep: { seconds: 86400 } } } }
    - { name: proxy, image: p:1, lifecycle: { preStop: { exec: { command: ["sleep", "infinity"] } } } }
`),
  },
  {
    title: 'a privileged sidecar and one with both powerful capabilities',
    rule: 'privileged-sidecar',
    yaml: pod(`  containers:
    - { name: app, image: a:1 }
    - { name: agent, image: b:1, securityContext: { privileged: true } }
    - { name: proxy, image: c:1, securityContext: { capabilities: { add: ["NET_ADMIN", "SYS_ADMIN"] } } }
`),
  },
  {
    title: 'a sidecar with every capability, one tracing the shared process namespace, one with three capabilities, one escalating',
    rule: 'privileged-sidecar',
    yaml: pod(`  shareProcessNamespace: true
  containers:
    - { name: app, image: a:1 }
    - { name: all, image: b:1, securityContext: { capabilities: { add: ["ALL"] } } }
    - { name: tracer, image: c:1, securityContext: { capabilities: { add: ["NET_ADMIN", "SYS_PTRACE"] } } }
    - { name: three, image: d:1, securityContext: { capabilities: { add: ["SYS_PTRACE", "NET_ADMIN", "SYS_ADMIN"] } } }
    - { name: setuid, image: e:1, securityContext: { allowPrivilegeEscalation: true } }
`),
  },
  ...['hostPID: true\n  hostIPC: true', 'hostIPC: true'].map((fields) => ({
    title: `a pod with many sidecars and ${fields.replace('\n  ', ' ')}`,
    rule: 'host-pid-ipc-sidecars',
    yaml: pod(`  ${fields}
  containers:
    - { name: app, image: a:1 }
${Array.from({ length: 12 }, (_, index) => `    - { name: helper-${index}, image: h:1 }`).join('\n')}
`),
  })),
  {
    title: 'a fifteen-character port name declared twice, with no Service in view',
    rule: 'duplicate-port-name',
    yaml: pod(`  containers:
    - { name: app, image: a:1, ports: [{ name: abcdefghijklmno, containerPort: 80 }] }
    - { name: proxy, image: b:1, ports: [{ name: abcdefghijklmno, containerPort: 81 }] }
`),
  },
  ...[
    ['a liveness probe on a fifteen-character port name', 'containers:\n    - { name: app, image: a:1, livenessProbe: { tcpSocket: { port: abcdefghijklmno } } }'],
    [
      'a native sidecar whose startup probe never succeeds',
      'initContainers:\n    - { name: proxy, image: p:1, restartPolicy: Always, startupProbe: { httpGet: { path: /, port: abcdefghijklmno } } }\n  containers:\n    - { name: app, image: a:1 }',
    ],
  ].map(([title, spec]) => ({ title: title!, rule: 'probe-named-port-undeclared', yaml: pod(`  ${spec}\n`) })),
  {
    title: 'two containers writing three volumes',
    rule: 'shared-volume-concurrent-writers',
    yaml: pod(`  containers:
${['app', 'worker'].map((name) => `    - { name: ${name}, image: a:1, volumeMounts: [{ name: a, mountPath: /a }, { name: b, mountPath: /b }, { name: c, mountPath: /c }] }`).join('\n')}
  volumes: [{ name: a, emptyDir: {} }, { name: b, emptyDir: {} }, { name: c, emptyDir: {} }]
`),
  },
  ...[
    ['a memory utilization with a container missing its request', 'type: Utilization\n          averageUtilization: 70'],
    ['a memory average value', 'type: AverageValue\n          averageValue: 500Mi'],
  ].map(([title, target]) => ({
    title: title!,
    rule: 'hpa-pod-average-on-multi-container',
    yaml: `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  template:
    spec:
      containers:
        - { name: app, image: a:1, resources: { requests: { memory: 256Mi } } }
        - { name: log-shipper, image: b:1 }
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: web }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web }
  maxReplicas: 5
  metrics:
    - type: Resource
      resource:
        name: memory
        target:
          ${target}
`,
  })),
];

describe('short warnings', () => {
  for (const { title, rule, yaml, options } of [...examples, ...variants]) {
    it(`${rule}: ${title} warns in one complete sentence of at most 120 characters, long names included`, () => {
      for (const objects of [objectsFromYaml(yaml), withLongNames(yaml)]) {
        const findings = evaluateObjects(objects, options).filter((finding) => finding.rule === rule);
        expect(findings.length, `${rule} reports ${title}`).toBeGreaterThan(0);
        for (const finding of findings) {
          expectReadableWarning(shortForm(finding), finding, containerNames(objects));
          expectReadableWarning(shortForm(finding, { preExisting: true }), finding, containerNames(objects));
        }
      }
    });
  }

  it('shortens long names in the middle and leaves short ones whole', () => {
    const long = `checkout-${'a'.repeat(63 - 'checkout--payment-gateway'.length)}-payment-gateway`;
    expect(long).toHaveLength(63);
    const warning = shortForm({ rule: 'port-conflict', container: long, problem: "shares port 8080/TCP with 'app': one fails to bind" }, { preExisting: true });
    expect([...warning].length).toBe(120);
    expect(warning).toMatch(/^'check[^'\s]*…[^'\s]*way' shares port 8080\/TCP with 'app': one fails to bind \(pre-existing; fix: podpatterns rules port-conflict\)\.$/);
    expect(names(warning, long)).toBe(true);
    expect(shortForm({ rule: 'port-conflict', container: long, problem: 'is short' })).toBe(`'${long}' is short (fix: podpatterns rules port-conflict).`);
  });

  it('shortens two long names evenly', () => {
    const [a, b] = ['a', 'b'].map((letter) => letter.repeat(63));
    const warning = shortForm({ rule: 'port-conflict', container: a!, problem: `shares port 8080/TCP with '${b}': one fails to bind` });
    const quoted = [...warning.matchAll(/'([^']+)'/g)].map(([, name]) => [...name!].length);
    expect(Math.abs(quoted[0]! - quoted[1]!)).toBeLessThanOrEqual(1);
    expect([...warning].length).toBe(120);
  });

  it('counts runes, not UTF-16 units, and never splits a character when it shortens names outside the BMP', () => {
    const [a, b] = ['\u{1F680}', '\u{1F6A2}'].map((rune) => `x-${rune.repeat(60)}-y`);
    const warning = shortForm({ rule: 'port-conflict', container: a!, problem: `shares port 8080/TCP with '${b}': one fails to bind` });
    expect([...warning].length).toBe(120);
    expect(warning).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    for (const [name, original] of [...warning.matchAll(/'([^']+)'/g)].map(([, name]) => name!).map((name, index) => [name, [a!, b!][index]!])) {
      const [head, tail] = name!.split('…');
      expect(original!.startsWith(head!) && original!.endsWith(tail!)).toBe(true);
    }
    // 102 UTF-16 units but 52 runes: it fits whole.
    const fits = `x-${'\u{1F680}'.repeat(50)}`;
    expect(shortForm({ rule: 'port-conflict', container: fits, problem: 'is short' })).toBe(`'${fits}' is short (fix: podpatterns rules port-conflict).`);
  });

  it('keeps the pointer to the fix even when a problem is too long for any shortening of its names', () => {
    const warning = shortForm({ rule: 'port-conflict', problem: `x ${'word '.repeat(40)}` });
    expect([...warning].length).toBe(120);
    expect(warning).toMatch(/… \(fix: podpatterns rules port-conflict\)\.$/);
  });
});

function evaluateObjects(objects: KubeObject[], options: EvaluateOptions = {}): Finding[] {
  return findingsFor(objects.map((object) => JSON.stringify(object)).join('\n---\n'), options);
}
