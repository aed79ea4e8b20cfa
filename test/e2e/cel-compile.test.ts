import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { KubeObject } from '../../src/model/kube.js';
import { defaultPolicy, parsePolicy, type Policy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { kubectlPath } from '../support/helm.js';
import { runPodpatterns } from './cluster-audit/run.js';
import { E2eHarness } from './harness.js';
import { auditEventOfCreate } from './support/audit-log.js';
import { refusal } from './support/cluster.js';
import { conflictingContainers, deployment, pod } from './support/manifests.js';
import { realWorldCorpus, seedArticles } from '../support/corpus.js';
import { beyondBudgetCase, exampleCases, generatedCases, realWorldCases, seedCases, worstCaseCases, type DifferentialCase } from './support/cel-cases.js';
import { compiledObjects, runDifferential, scopePolicies, summary, type CompileSettings, type DifferentialReport } from './support/cel-differential.js';
import { waitFor } from './support/network.js';
import { RawApi } from './support/raw-api.js';

const run = promisify(execFile);

// Every verdict of the compiled policies is read from the API server's audit log (validation failures of
// bindings with the Audit action); a cluster whose log this machine cannot read cannot be compared.
const harness = await E2eHarness.start('cel-compile');
const auditLog = harness.cluster.auditLog;
const plain = harness.namespace('plain');
const raw = new RawApi(harness.clients.config);
const installed: KubeObject[] = [];
let configurations = 0;

beforeAll(async () => {
  await harness.createNamespaces(plain);
});

afterAll(async () => {
  for (const object of installed.reverse()) await raw.send('DELETE', objectPath(object));
});

/**
 * The API server loads policies through an informer, one by one: waits until every compiled rule's policy
 * acts on the rule's own flagged example, as the audit log records it.
 */
async function untilInForce(namespace: string, policyRules: Map<string, string>): Promise<void> {
  const waiting = new Set(policyRules.values());
  let attempt = 0;
  await waitFor(`compiled policies in force in ${namespace}`, async () => {
    for (const rule of [...waiting]) {
      const example = exampleCases(ALL_RULES).find((entry) => entry.source === `example ${rule} bad#0`)!.object;
      const name = `probe-${rule}-${++attempt}`;
      const object: KubeObject = { ...example, metadata: { ...example.metadata, name, namespace } };
      await raw.create(namespace, object, { dryRun: true });
      const event = await auditEventOfCreate(auditLog!, { resource: `${object.kind!.toLowerCase()}s`, namespace, name });
      const failures = JSON.parse(event.annotations?.['validation.policy.admission.k8s.io/validation_failure'] ?? '[]') as Array<{ policy: string }>;
      if (failures.some((failure) => policyRules.get(failure.policy) === rule)) waiting.delete(rule);
    }
    return waiting.size === 0 ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
}

function objectPath(object: KubeObject): string {
  const plural = object.kind === 'ValidatingAdmissionPolicy' ? 'validatingadmissionpolicies' : 'validatingadmissionpolicybindings';
  return `/apis/admissionregistration.k8s.io/v1/${plural}${object.metadata?.name ? `/${object.metadata.name}` : ''}`;
}

interface Installed {
  namespace: string;
  policyRules: Map<string, string>;
  objects: KubeObject[];
}

/**
 * Compiles for the settings, creates the policies bound to a namespace of their own (after `prepare` has put
 * what it needs there) and waits until they are in force.
 */
async function install(settings: CompileSettings, prepare?: (namespace: string) => Promise<void>): Promise<Installed> {
  const tag = `c${++configurations}-${harness.cluster.runId}`;
  const namespace = harness.namespace(`compiled${configurations}`);
  await harness.createNamespaces(namespace);
  await prepare?.(namespace);
  const objects = scopePolicies(await compiledObjects(harness.cluster, settings), tag, harness.cluster.runId, namespace);
  for (const object of objects) {
    const answer = await raw.send('POST', objectPath({ kind: object.kind }), object);
    if (answer.status >= 300) throw new Error(`creating ${object.kind} ${object.metadata?.name}: ${JSON.stringify(answer.body)}`);
    installed.push(object);
  }
  // The sidecar migration's policies (its dry-run warning included) have their own end-to-end test.
  const policyRules = new Map(
    objects
      .filter((object) => object.kind === 'ValidatingAdmissionPolicy' && object.metadata!.labels!['podpatterns.io/rule'] !== 'sidecar-migration')
      .map((object) => [object.metadata!.name!, object.metadata!.labels!['podpatterns.io/rule']!]),
  );
  await untilInForce(namespace, policyRules);
  return { namespace, policyRules, objects };
}

/** The port-conflict example with annotations on the object (or, for a Deployment, on its pod template). */
function annotated(kind: 'Pod' | 'Deployment', annotations: Record<string, string>, source: string): DifferentialCase {
  const containers = conflictingContainers();
  const object = (kind === 'Pod' ? pod('exempt', containers) : deployment('exempt', containers)) as unknown as KubeObject & { spec: { template?: { metadata?: Record<string, unknown> } } };
  if (kind === 'Pod') object.metadata = { ...object.metadata, annotations };
  else object.spec.template!.metadata = { ...object.spec.template!.metadata, annotations };
  return { source, object };
}

const EXEMPTION_CASES: DifferentialCase[] = [
  annotated('Pod', { 'podpatterns.io/ignore': 'port-conflict', 'podpatterns.io/ignore-reason': 'load test' }, 'exemption: the rule named on a Pod'),
  annotated('Pod', { 'podpatterns.io/ignore': '*' }, 'exemption: every rule on a Pod'),
  annotated('Pod', { 'podpatterns.io/ignore': ' unpinned-image , port-conflict ' }, 'exemption: a list with spaces'),
  annotated('Pod', { 'podpatterns.io/ignore': 'unpinned-image' }, 'exemption: another rule only'),
  annotated('Deployment', { 'podpatterns.io/ignore': 'all' }, "exemption: every rule on a Deployment's pod template"),
  {
    source: 'a Pod a Job owns, with a container that restarts forever',
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'nightly-x7k2p', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'nightly', uid: '5f3c2a8e-0000-4000-8000-000000000001', controller: true }] },
      spec: {
        restartPolicy: 'Never',
        containers: [
          { name: 'export', image: 'registry.example.com/export:1.8.0' },
          { name: 'log-shipper', image: 'fluent/fluent-bit:3.0.7', restartPolicy: 'Always' },
        ],
      },
    },
  },
];

async function differential(settings: CompileSettings, policy: Policy, cases: DifferentialCase[], label: string): Promise<DifferentialReport> {
  const { namespace, policyRules } = await install(settings);
  const report = await runDifferential({
    cluster: harness.cluster,
    clients: harness.clients,
    directory: harness.directory,
    auditLog: auditLog!,
    namespace,
    plainNamespace: plain,
    settings,
    policy,
    rules: ALL_RULES,
    policyRules,
    cases,
    prefix: `d${configurations}`,
  });
  console.log(summary(report, label));
  for (const outcome of report.outcomes) if (outcome.rejected) console.log(`  not compared, refused by the API server: ${outcome.case.source}: ${outcome.rejected.slice(0, 300)}`);
  for (const line of [...report.disagreements, ...report.messageMismatches]) console.log(`  ${line}`);
  return report;
}

for (const corpus of [realWorldCorpus, seedArticles]) {
  if (corpus.requested && !corpus.available) throw new Error(`${corpus.variable}=${corpus.dir}: not a directory`);
  if (!corpus.available) console.log(`cel-compile: ${corpus.description} (${corpus.dir}, ${corpus.variable}) is absent: the differential runs without it`);
}

describe.skipIf(!auditLog)('podpatterns compile on the real API server', () => {
  it('prints a stream kubectl apply --dry-run=server accepts, one policy and one binding per compiled rule', async () => {
    const compiled = await runPodpatterns(harness.cluster, ['compile']);
    expect(compiled.code).toBe(0);
    const file = join(harness.directory, 'compiled.yaml');
    await writeFile(file, compiled.stdout);
    const { stdout } = await run(await kubectlPath(), ['--kubeconfig', harness.cluster.kubeconfigFile, 'apply', '--dry-run=server', '-f', file]);
    const policies = stdout.split('\n').filter((line) => line.startsWith('validatingadmissionpolicy.'));
    const bindings = stdout.split('\n').filter((line) => line.startsWith('validatingadmissionpolicybinding.'));
    expect(policies.length).toBeGreaterThan(0);
    expect(bindings).toHaveLength(policies.length);
    expect(stdout).toContain('validatingadmissionpolicy.admissionregistration.k8s.io/podpatterns-port-conflict created (server dry run)');
  });

  it('agrees with podpatterns audit on every real-world object, seed and README example: zero disagreements', async () => {
    const cases = [...realWorldCases(), ...seedCases(), ...exampleCases(ALL_RULES), ...EXEMPTION_CASES];
    const report = await differential({ kubernetesVersion: '1.37', minKubeletVersion: '1.37', mode: 'enforce' }, defaultPolicy(ALL_RULES), cases, 'Kubernetes 1.37, default policy');
    expect(report.comparisons).toBeGreaterThan(cases.length);
    expect(report.findings).toBeGreaterThan(0);
    expect(report.disagreements).toEqual([]);
    expect(report.messageMismatches).toEqual([]);
  });

  it('agrees with podpatterns audit on 400 generated pods and workloads', async () => {
    const report = await differential({ kubernetesVersion: '1.37', minKubeletVersion: '1.37', mode: 'enforce' }, defaultPolicy(ALL_RULES), generatedCases(400), 'generated objects');
    const compared = report.outcomes.filter((outcome) => outcome.rejected === undefined).length;
    expect(compared).toBeGreaterThan(200);
    expect(report.findings).toBeGreaterThan(compared);
    expect(report.disagreements).toEqual([]);
    expect(report.messageMismatches).toEqual([]);
  });

  it('decides the worst-case objects within the CEL cost budget, as the engine does', async () => {
    const cases = [...worstCaseCases(), ...exampleCases(ALL_RULES)];
    const report = await differential({ kubernetesVersion: '1.37', minKubeletVersion: '1.37', mode: 'enforce' }, defaultPolicy(ALL_RULES), cases, 'worst cases');
    const worst = report.outcomes.filter((outcome) => outcome.case.source.startsWith('worst case'));
    for (const outcome of worst) {
      expect(outcome.rejected, outcome.case.source).toBeUndefined();
      // A cost overrun shows as an evaluation error in the denial, never as a finding's message.
      expect(outcome.denial ?? '', outcome.case.source).not.toMatch(/cost|budget|cancelled/i);
    }
    expect(worst.find((outcome) => outcome.case.source.includes('same 20 ports'))!.cel.get('port-conflict')).toBe('deny');
    expect(report.disagreements).toEqual([]);
    expect(report.messageMismatches).toEqual([]);
  });

  it('honours the policy file: a severity pinned, an option, a rule turned off, central exemptions, annotations ignored', async () => {
    // install() names the next namespace compiled<n>; the central exemption covers the Deployments created there.
    const namespace = harness.namespace(`compiled${configurations + 1}`);
    const text = stringify({
      rules: { 'port-conflict': { severity: 'warn' }, 'unpinned-image': { floatingTags: ['main', 'alpine'] }, 'too-many-sidecars': { threshold: 2 }, 'shared-process-namespace': 'off' },
      exemptions: {
        annotations: false,
        list: [
          { namespace, kind: 'Deployment', name: 'd*', rules: ['sidecar-missing-resources', 'privileged-sidecar'], reason: 'legacy deployments' },
          { namespace, rules: ['*'], reason: 'expired long ago', expires: '2020-01-31' },
        ],
      },
    });
    const policyFile = join(harness.directory, 'policy.yaml');
    await writeFile(policyFile, text);
    const policy = parsePolicy(text, policyFile, ALL_RULES);
    const cases = [...exampleCases(ALL_RULES), ...seedCases(), ...EXEMPTION_CASES];
    const report = await differential({ kubernetesVersion: '1.37', minKubeletVersion: '1.37', mode: 'enforce', policyFile }, policy, cases, 'Kubernetes 1.37, policy file');
    expect(report.compiledRules).not.toContain('shared-process-namespace');
    const outcome = (source: string) => report.outcomes.find((entry) => entry.case.source === source)!;
    expect(outcome('example port-conflict bad#0').cel.get('port-conflict')).toBe('warn');
    // The policy ignores the annotation, and the central list exempts the Deployments from two rules only.
    expect(outcome('exemption: the rule named on a Pod').cel.get('port-conflict')).toBe('warn');
    expect(outcome('example sidecar-missing-resources bad#0').cel.get('sidecar-missing-resources')).toBeUndefined();
    expect(outcome('example unpinned-image bad#0').cel.get('unpinned-image')).toBe('warn');
    expect(report.disagreements).toEqual([]);
    expect(report.messageMismatches).toEqual([]);
  });

  it('compiles native-sidecar-unsupported for kubelets older than 1.29 and agrees with audit there too', async () => {
    const cases = [...exampleCases(ALL_RULES), ...seedCases(), ...realWorldCases().filter((entry) => JSON.stringify(entry.object).includes('"restartPolicy":"Always"'))];
    const report = await differential({ kubernetesVersion: '1.37', minKubeletVersion: '1.28', mode: 'enforce' }, defaultPolicy(ALL_RULES), cases, 'Kubernetes 1.37, kubelets from 1.28');
    expect(report.compiledRules).toContain('native-sidecar-unsupported');
    expect(report.outcomes.some((outcome) => outcome.cel.get('native-sidecar-unsupported') === 'deny')).toBe(true);
    expect(report.disagreements).toEqual([]);
    expect(report.messageMismatches).toEqual([]);
  });

  it('denies an object beyond the cost budget with the API server\'s cost error instead of admitting it unchecked', async () => {
    const { namespace } = await install({ kubernetesVersion: '1.37', minKubeletVersion: '1.37', mode: 'enforce' });
    const beyond = beyondBudgetCase().object;
    const answer = await raw.create(namespace, { ...beyond, metadata: { name: 'beyond', namespace } } as KubeObject, { dryRun: true });
    const message = String((answer.body as { message?: string }).message);
    console.log(`beyond the budget: ${answer.status} ${message.slice(0, 600)}`);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(message).toContain("ValidatingAdmissionPolicy 'podpatterns-port-conflict-");
    expect(message).toContain('actual cost limit exceeded');
  });

  it('records an exemption by annotation as the audit annotation of the policy it skipped', async () => {
    const { namespace } = await install({ kubernetesVersion: '1.37', minKubeletVersion: '1.37', mode: 'enforce' });
    const exempted = annotated('Pod', { 'podpatterns.io/ignore': 'port-conflict', 'podpatterns.io/ignore-reason': 'load test' }, 'exempted').object;
    const object: KubeObject = { ...exempted, metadata: { ...exempted.metadata, name: 'exempted', namespace } };
    expect((await raw.create(namespace, object, { dryRun: true })).status).toBe(201);
    const event = await auditEventOfCreate(auditLog!, { resource: 'pods', namespace, name: 'exempted' });
    const key = Object.keys(event.annotations ?? {}).find((name) => name.startsWith('podpatterns-port-conflict-') && name.endsWith('/exempted'));
    expect(key).toBeDefined();
    expect(event.annotations![key!]).toBe('port-conflict skipped: podpatterns.io/ignore annotation, reason: load test');
  });
});

describe.skipIf(!auditLog)('compiled policies on UPDATE (ratcheting)', () => {
  let namespace: string;

  beforeAll(async () => {
    // The Deployment is stored before the policies exist, as on a cluster that had it before podpatterns.
    ({ namespace } = await install({ kubernetesVersion: '1.37', minKubeletVersion: '1.37', mode: 'enforce' }, async (target) => {
      await harness.clients.apps.createNamespacedDeployment({ namespace: target, body: deployment('legacy', conflictingContainers()) });
    }));
  });

  it('admits an UPDATE of a Deployment whose conflict predates it, with the finding as a pre-existing warning', async () => {
    // The warning comes from a policy of its own, which the API server may load a moment after the others.
    const patched = await waitFor('the pre-existing warning', async () => {
      const answer = await harness.clients.apps.patchNamespacedDeploymentWithHttpInfo(
        { namespace, name: 'legacy', body: { spec: { replicas: 3 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return String(answer.headers.warning ?? '').includes('port-conflict (pre-existing)') ? answer : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    expect(patched.httpStatusCode).toBe(200);
    expect(patched.data.spec?.replicas).toBe(3);
    expect(patched.headers.warning).toContain("port-conflict (pre-existing): containers 'app' and 'metrics-proxy' both declare port 8080/TCP");
  });

  it('denies an UPDATE that adds a new conflict, naming it', async () => {
    const containers = [...conflictingContainers(), { name: 'debug', image: 'registry.example.com/debug:1.0.0', ports: [{ containerPort: 9000 }, { containerPort: 8080 }] }];
    const refused = await refusal(
      harness.clients.apps.patchNamespacedDeployment(
        { namespace, name: 'legacy', body: { spec: { template: { spec: { containers } } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(refused.code).toBe(403);
    expect(refused.message).toContain("port-conflict: containers 'app' and 'debug' both declare port 8080/TCP");
  });
});

