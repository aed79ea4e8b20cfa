import { describe, expect, it } from 'vitest';
import { ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'restart-policy-on-container';

/** The seed article's "Recipe 4: Native sidecar (k8s 1.29+)": `restartPolicy: Always` under `containers`. */
const seedRecipe = `apiVersion: v1
kind: Pod
metadata: { name: app-with-log-shipper }
spec:
  containers:
    - name: app
      image: myorg/app:2.1
    - name: log-shipper
      image: fluent/fluent-bit:3.0
      restartPolicy: Always
      lifecycle:
        preStop:
          exec:
            command: ["sh", "-c", "fluent-bit -c /etc/fluent-bit.conf --quit"]
`;

const job = (containers: string, podPolicy = 'Never') => `apiVersion: batch/v1
kind: Job
metadata: { name: report, namespace: batch }
spec:
  template:
    spec:
      restartPolicy: ${podPolicy}
      containers:
${containers}
`;

describe('restart-policy-on-container', () => {
  it('denies the seed article\'s native-sidecar recipe below 1.34: the API server rejects the field', () => {
    for (const kubernetesVersion of ['1.29', '1.33']) {
      const findings = ruleFindings(RULE, seedRecipe, { kubernetesVersion });
      expect(findings, kubernetesVersion).toHaveLength(1);
      expect(findings[0]).toMatchObject({ severity: 'deny', container: 'log-shipper', path: 'spec.containers[1].restartPolicy' });
      expect(findings[0]!.message).toContain('may not be set for non-init containers');
      expect(findings[0]!.message).toContain(`API server (${kubernetesVersion})`);
      expect(findings[0]!.fix).toContain('`initContainers`');
    }
  });

  it('denies it on 1.34 too, where the API server drops the field silently and the container is no sidecar', () => {
    const findings = ruleFindings(RULE, seedRecipe, { kubernetesVersion: '1.34' });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'deny', container: 'log-shipper' });
    expect(findings[0]!.message).toContain('silently drops the field');
    expect(findings[0]!.message).not.toContain('may not be set');
  });

  it('warns on the seed recipe from 1.35, where it is legal but makes no sidecar in a pod that already restarts', () => {
    const findings = ruleFindings(RULE, seedRecipe, { kubernetesVersion: '1.35' });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'warn', container: 'log-shipper' });
    expect(findings[0]!.message).toContain('changes nothing');
    expect(findings[0]!.fix).toContain('`initContainers`');
  });

  it('denies `restartPolicy: Always` on a Job sidecar from 1.35: it restarts forever and the Job never finishes', () => {
    const findings = ruleFindings(RULE, job(`        - { name: report, image: "registry.example.com/report:2.3.0" }
        - { name: log-shipper, image: "fluent/fluent-bit:3.0.7", restartPolicy: Always }`));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'deny', path: 'spec.template.spec.containers[1].restartPolicy' });
    expect(findings[0]!.message).toContain('the Job never finishes');
    expect(findings[0]!.fix).toBe(
      "Move 'log-shipper' from `containers` to `initContainers` and keep `restartPolicy: Always` there: a native sidecar is stopped once the main containers have exited, so the pod can complete.",
    );
  });

  it('denies it in a bare Pod with restartPolicy OnFailure too', () => {
    const findings = ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: once }
spec:
  restartPolicy: OnFailure
  containers:
    - { name: task, image: "registry.example.com/task:1.0.0" }
    - { name: proxy, image: "registry.example.com/proxy:1.0.0", restartPolicy: Always }
`);
    expect(findings.map((f) => [f.severity, f.container])).toEqual([['deny', 'proxy']]);
    expect(findings[0]!.message).toContain('the pod never completes');
  });

  it('tells the main container of a Job to drop the field rather than move to initContainers', () => {
    const [finding] = ruleFindings(RULE, job('        - { name: report, image: "registry.example.com/report:2.3.0", restartPolicy: Always }'));
    expect(finding!.severity).toBe('deny');
    expect(finding!.fix).toContain("Remove `restartPolicy` from container 'report'");
  });

  it('allows per-container OnFailure or Never from 1.35 (container restart rules), but not below', () => {
    const retrying = job('        - { name: train, image: "registry.example.com/train:4.0.0", restartPolicy: OnFailure }');
    expect(ruleFindings(RULE, retrying)).toEqual([]);
    const [finding] = ruleFindings(RULE, retrying, { kubernetesVersion: '1.34' });
    expect(finding).toMatchObject({ severity: 'deny', path: 'spec.template.spec.containers[0].restartPolicy' });
    expect(finding!.fix).toContain("the pod's `restartPolicy` (Never) governs it");
  });

  it('does not suggest a native sidecar below 1.29, where there is none', () => {
    const [finding] = ruleFindings(RULE, seedRecipe, { kubernetesVersion: '1.28' });
    expect(finding!.severity).toBe('deny');
    expect(finding!.fix).toContain('native sidecars need Kubernetes 1.29+');
    expect(finding!.fix).not.toContain('Move');
  });

  it('leaves init containers alone: that is where `restartPolicy: Always` belongs', () => {
    expect(ruleFindings(RULE, job(`        - { name: report, image: "registry.example.com/report:2.3.0" }`).replace(
      '      containers:',
      '      initContainers:\n        - { name: log-shipper, image: "fluent/fluent-bit:3.0.7", restartPolicy: Always }\n      containers:',
    ), { kubernetesVersion: '1.30' })).toEqual([]);
  });

  it('reaches the containers of every workload kind, with the verdict the pod restart policy calls for', () => {
    const spec = {
      containers: [
        { name: 'app', image: 'registry.example.com/app:1.0.0' },
        { name: 'proxy', image: 'registry.example.com/proxy:1.0.0', restartPolicy: 'Always' },
      ],
    };
    for (const { kind, yaml, specPath } of everyWorkloadKind(spec)) {
      const findings = ruleFindings(RULE, yaml);
      const runsToCompletion = kind === 'Job' || kind === 'CronJob';
      expect(findings.map((f) => [f.path, f.severity]), kind).toEqual([[`${specPath}.containers[1].restartPolicy`, runsToCompletion ? 'deny' : 'warn']]);
      expect(ruleFindings(RULE, yaml, { kubernetesVersion: '1.34' }).map((f) => f.severity), kind).toEqual(['deny']);
    }
  });

  it.skipIf(!realWorldCorpus.available).each(['k8s-website-native-sidecars.yaml', 'istio-injected-native-sidecar.yaml', 'linkerd-install-default.yaml'])(
    'raises nothing on real-world %s, whose sidecars set restartPolicy on init containers only',
    (file) => {
      expect(ruleFindings(RULE, realWorld(file), { kubernetesVersion: '1.34' })).toEqual([]);
    },
  );
});

describe('restart-policy-on-container on the Pods of a Job', () => {
  it('denies restartPolicy: Always on a container of a Pod a Job owns and says the Pod never completes', () => {
    const findings = ruleFindings(
      'restart-policy-on-container',
      `apiVersion: v1
kind: Pod
metadata:
  name: export-7x2kq
  ownerReferences: [{ apiVersion: batch/v1, kind: Job, name: export, uid: 0c1d, controller: true }]
spec:
  restartPolicy: Never
  containers:
    - { name: export, image: "registry.example.com/export:1.8.0" }
    - { name: agent, image: "registry.example.com/agent:1.0.0", restartPolicy: Always }
`,
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'deny', container: 'agent' });
    expect(findings[0]!.message).toContain("the pod never completes and the Job 'export' never finishes");
  });
});
