import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { isObject, type KubeObject } from '../../src/model/kube.js';
import { defaultPolicy, parsePolicy, type Policy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { kubectlPath } from '../support/helm.js';
import { runPodpatterns } from './cluster-audit/run.js';
import { E2eHarness } from './harness.js';
import { exampleCases, realWorldCases, REAL_WORLD_DIR, seedCases, SEEDS_DIR, worstCaseCases, type DifferentialCase } from './support/cel-cases.js';
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

function objectPath(object: KubeObject): string {
  const plural = object.kind === 'ValidatingAdmissionPolicy' ? 'validatingadmissionpolicies' : 'validatingadmissionpolicybindings';
  return `/apis/admissionregistration.k8s.io/v1/${plural}${object.metadata?.name ? `/${object.metadata.name}` : ''}`;
}

interface Installed {
  namespace: string;
  policyRules: Map<string, string>;
  objects: KubeObject[];
}

/** Compiles for the settings, creates the policies bound to a namespace of their own and waits until they are in force. */
async function install(settings: CompileSettings, probe: KubeObject): Promise<Installed> {
  const tag = `c${++configurations}-${harness.cluster.runId}`;
  const namespace = harness.namespace(`compiled${configurations}`);
  await harness.createNamespaces(namespace);
  const objects = scopePolicies(await compiledObjects(harness.cluster, settings), tag, harness.cluster.runId, namespace);
  for (const object of objects) {
    const answer = await raw.send('POST', objectPath({ kind: object.kind }), object);
    if (answer.status >= 300) throw new Error(`creating ${object.kind} ${object.metadata?.name}: ${JSON.stringify(answer.body)}`);
    installed.push(object);
  }
  // The API server reads policies through an informer: wait until the probe, which some rule flags, is denied or warned about.
  await waitFor(`compiled policies in force in ${namespace}`, async () => {
    const named: KubeObject = { ...probe, metadata: { name: 'probe', namespace } };
    const answer = await raw.create(namespace, named, { dryRun: true });
    const message = isObject(answer.body) ? String(answer.body.message) : '';
    return message.includes('ValidatingAdmissionPolicy') || answer.warnings.some((warning) => warning.includes('ValidatingAdmissionPolicy')) ? true : undefined;
  }, { timeoutMs: 30_000, intervalMs: 250 });
  // The sidecar migration's policies (its dry-run warning included) have their own end-to-end test.
  const policyRules = new Map(
    objects
      .filter((object) => object.kind === 'ValidatingAdmissionPolicy' && object.metadata!.labels!['podpatterns.io/rule'] !== 'sidecar-migration')
      .map((object) => [object.metadata!.name!, object.metadata!.labels!['podpatterns.io/rule']!]),
  );
  return { namespace, policyRules, objects };
}

async function differential(settings: CompileSettings, policy: Policy, cases: DifferentialCase[], label: string): Promise<DifferentialReport> {
  const probe = cases.find((entry) => entry.source === 'example port-conflict bad#0')!.object;
  const { namespace, policyRules } = await install(settings, probe);
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

const corpusMissing = realWorldCases().length === 0 || seedCases().length === 0;
if (corpusMissing) console.log(`cel-compile: the real-world corpus (${REAL_WORLD_DIR}) or the seeds (${SEEDS_DIR}) are absent: the differential runs on the README examples and the worst cases only`);

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
    const cases = [...realWorldCases(), ...seedCases(), ...exampleCases(ALL_RULES)];
    const report = await differential({ kubernetesVersion: '1.37', minKubeletVersion: '1.37', mode: 'enforce' }, defaultPolicy(ALL_RULES), cases, 'Kubernetes 1.37, default policy');
    expect(report.comparisons).toBeGreaterThan(cases.length);
    expect(report.findings).toBeGreaterThan(0);
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

  it('honours the policy file: a severity pinned, an option, a rule turned off', async () => {
    const text = stringify({ rules: { 'port-conflict': { severity: 'warn' }, 'unpinned-image': { floatingTags: ['main', 'alpine'] }, 'too-many-sidecars': { threshold: 2 }, 'shared-process-namespace': 'off' } });
    const policyFile = join(harness.directory, 'policy.yaml');
    await writeFile(policyFile, text);
    const policy = parsePolicy(text, policyFile, ALL_RULES);
    const cases = [...exampleCases(ALL_RULES), ...seedCases()];
    const report = await differential({ kubernetesVersion: '1.37', minKubeletVersion: '1.37', mode: 'enforce', policyFile }, policy, cases, 'Kubernetes 1.37, policy file');
    expect(report.compiledRules).not.toContain('shared-process-namespace');
    expect(report.outcomes.find((outcome) => outcome.case.source === 'example port-conflict bad#0')!.cel.get('port-conflict')).toBe('warn');
    expect(report.disagreements).toEqual([]);
    expect(report.messageMismatches).toEqual([]);
  });
});

