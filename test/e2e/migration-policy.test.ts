/**
 * The sidecar migration as a MutatingAdmissionPolicy, judged against the `/mutate` webhook on the same objects.
 * Every fixture is created in three namespaces: one the real webhook (`podpatterns serve`, chart configuration)
 * reviews, one only the compiled policy reviews, one with neither. The policy's stored object must equal the
 * webhook's, or the object as sent where the webhook alone can do the job.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationPolicies, type MigrationPolicyObject } from '../../src/cel/migration-policy.js';
import { migrateObject, planMigration } from '../../src/migration/index.js';
import type { KubeObject } from '../../src/model/kube.js';
import { parseVersion } from '../../src/model/version.js';
import type { MigrationSettings } from '../../src/policy/policy.js';
import { E2eHarness } from './harness.js';
import { createPolicies, deletePolicies, scopedPolicies } from './support/admission-policies.js';
import { generatedJobs } from './support/generated-jobs.js';
import { migrationFixtures, type MigrationFixture, type Outcome } from './support/migration-fixtures.js';
import { waitFor } from './support/network.js';
import { RawApi, type RawAnswer } from './support/raw-api.js';

const harness = await E2eHarness.start('migration-policy');
const ns = {
  webhook: harness.namespace('map-webhook'),
  policy: harness.namespace('map-policy'),
  optIn: harness.namespace('map-opt-in'),
  plain: harness.namespace('map-plain'),
  optedOut: harness.namespace('map-opted-out'),
  dryRun: harness.namespace('map-dry-run'),
  failClosed: harness.namespace('map-fail'),
  planned: harness.namespace('map-planned'),
};
const raw = new RawApi(harness.clients.config);
const version = parseVersion(harness.cluster.kubernetesVersion)!;
const { fixtures, missing } = migrationFixtures();

const APPLY: MigrationSettings = { mode: 'apply', cronJobs: false, pods: false };
const OPT_IN: MigrationSettings = { mode: 'apply', cronJobs: true, pods: true };
const target = (migration: MigrationSettings) => ({ kubernetesVersion: version, minKubeletVersion: version, migration, releaseNamespace: 'podpatterns-system' });
const compiled = (migration: MigrationSettings): MigrationPolicyObject[] => {
  const { objects, skipped } = migrationPolicies(target(migration));
  if (skipped !== undefined) throw new Error(`no migration policy for ${harness.cluster.kubernetesVersion}: ${skipped}`);
  return objects;
};
const installed: MigrationPolicyObject[] = [];
const install = async (objects: MigrationPolicyObject[], suffix: string, namespaces: string[]) => {
  const scoped = scopedPolicies(objects, { suffix, namespaces, runId: harness.cluster.runId });
  await createPolicies(harness.clients, scoped);
  installed.push(...scoped);
};

/** The part of a stored object the migration may change: the pod template (a Pod's spec and annotations). */
function podPart(object: KubeObject): unknown {
  const spec = object.spec as Record<string, unknown>;
  const part = structuredClone(object.kind === 'Pod' ? { annotations: object.metadata?.annotations, spec } : object.kind === 'CronJob' ? spec.jobTemplate : spec.template) as {
    metadata?: { labels?: Record<string, string> };
  };
  // The Job controller's labels carry the Job's uid, different in each namespace.
  for (const key of Object.keys(part.metadata?.labels ?? {})) if (key.includes('controller-uid')) delete part.metadata!.labels![key];
  return part;
}

type Stored = { object: unknown } | { refused: string };

function storedOf(answer: RawAnswer): Stored {
  if (answer.status === 200 || answer.status === 201) return { object: podPart(answer.body as KubeObject) };
  const status = answer.body as { message?: string };
  return { refused: `${answer.status} ${status.message ?? JSON.stringify(answer.body)}` };
}

/** Creates the object and reads back what was stored; a refusal is kept with its message. */
async function store(namespace: string, object: KubeObject): Promise<Stored> {
  const created = await raw.create(namespace, object);
  if (created.status !== 201) return storedOf(created);
  return storedOf(await raw.read(namespace, object));
}

function classify(webhook: Stored, policy: Stored, plain: Stored): Outcome | 'disagreement' {
  const webhookChanged = !isDeepStrictEqual(webhook, plain);
  if (isDeepStrictEqual(policy, plain)) return webhookChanged ? 'webhook-only' : 'unchanged';
  return webhookChanged && isDeepStrictEqual(policy, webhook) ? 'migrated' : 'disagreement';
}

interface Result {
  fixture: MigrationFixture;
  /** The namespace whose policy judged it: the default settings for Jobs, the opt-in ones for CronJobs and Pods. */
  lane: string;
  webhook: Stored;
  policy: Stored;
  plain: Stored;
  outcome: Outcome | 'disagreement';
}

const results: Result[] = [];
const byKind = (kind: string) => fixtures.filter((fixture) => fixture.object.kind === kind);
const jobsMigrated = byKind('Job').filter((fixture) => fixture.expected === 'migrated');

/** Runs `work` over `items` with a few requests in flight. */
async function inBatches<T, R>(items: readonly T[], work: (item: T) => Promise<R>, width = 6): Promise<R[]> {
  const out: R[] = [];
  for (let start = 0; start < items.length; start += width) out.push(...(await Promise.all(items.slice(start, start + width).map(work))));
  return out;
}

beforeAll(async () => {
  for (const line of missing) console.log(`migration policy e2e: ${line}`);
  await harness.createNamespaces(...Object.values(ns));
  const optedOut = await harness.clients.core.readNamespace({ name: ns.optedOut });
  optedOut.metadata!.labels = { ...optedOut.metadata!.labels, 'podpatterns.io/migrate': 'false' };
  await harness.clients.core.replaceNamespace({ name: ns.optedOut, body: optedOut });

  // The webhook, as the chart installs it with migration.mode=apply and CronJobs and Pods opted in, reviews its namespace
  // only. /mutate checks restart-policy-on-container before it migrates, and by default denies what the migration would
  // fix (`restartPolicy: Always` on an entry of `containers`): set to warn, so the migrations themselves are compared.
  const values = {
    webhook: { failurePolicy: 'Fail', excludeNamespaces: Object.values(ns).filter((name) => name !== ns.webhook) },
    validation: { mode: 'audit' },
    migration: OPT_IN,
    policy: { rules: { 'restart-policy-on-container': 'warn' } },
  };
  const server = await harness.startServer('podpatterns', { values });
  await harness.install({ release: 'podpatterns-e2e-map', port: server.port, values });

  await install(compiled(APPLY), '', [ns.policy, ns.optedOut]);
  await install(compiled(OPT_IN), '-opt-in', [ns.optIn]);
  await install(compiled({ ...APPLY, mode: 'dry-run' }), '-dry-run', [ns.dryRun]);
  const failClosed = compiled(APPLY).map((object) => (object.kind === 'MutatingAdmissionPolicy' ? { ...object, spec: { ...object.spec!, failurePolicy: 'Fail' } } : object));
  await install(failClosed, '-fail', [ns.failClosed]);

  // Webhook configurations and policies reach the API server's admission chain through informers: wait for each.
  const probe = jobsMigrated[0]!.object;
  const migratedIn = async (namespace: string) => {
    const answer = await raw.create(namespace, probe, { dryRun: true });
    return answer.status === 201 && JSON.stringify(answer.body).includes('podpatterns.io/migrated-sidecars') ? true : undefined;
  };
  for (const namespace of [ns.webhook, ns.policy, ns.optIn, ns.failClosed]) await waitFor(`the migration in ${namespace}`, () => migratedIn(namespace), { timeoutMs: 20_000 });
  await waitFor('the dry-run policy', async () => ((await raw.create(ns.dryRun, probe, { dryRun: true })).warnings.some((w) => w.includes('dry-run: would move')) ? true : undefined), { timeoutMs: 20_000 });

  results.push(
    ...(await inBatches(fixtures, async (fixture): Promise<Result> => {
      const lane = fixture.object.kind === 'Job' ? ns.policy : ns.optIn;
      const [webhook, policy, plain] = await Promise.all([store(ns.webhook, fixture.object), store(lane, fixture.object), store(ns.plain, fixture.object)]);
      return { fixture, lane, webhook, policy, plain, outcome: classify(webhook, policy, plain) };
    })),
  );
  const count = (outcome: string) => results.filter((result) => result.outcome === outcome).length;
  console.log(
    `migration policy vs /mutate on ${results.length} fixtures (${[...new Set(fixtures.map((f) => f.source))].map((s) => `${fixtures.filter((f) => f.source === s).length} ${s}`).join(', ')}): ` +
      `${count('migrated')} migrated identically, ${count('unchanged')} left unchanged by both, ` +
      `${count('webhook-only')} left to the webhook (unchanged by the policy), ${count('disagreement')} disagreements`,
  );
}, 240_000);

afterAll(async () => {
  await deletePolicies(harness.clients, installed);
  await harness.stop();
});

describe('the migration policy against the /mutate webhook', () => {
  it('has fixtures of every outcome', () => {
    for (const outcome of ['migrated', 'unchanged', 'webhook-only'] as const) expect(fixtures.filter((f) => f.expected === outcome).length, outcome).toBeGreaterThan(3);
  });

  it.each(fixtures.map((fixture) => [`${fixture.source}: ${fixture.title}`, fixture] as const))('%s', (_title, fixture) => {
    const result = results.find((entry) => entry.fixture === fixture)!;
    if (result.outcome !== fixture.expected) {
      expect({ outcome: result.outcome, policy: result.policy, webhook: result.webhook, plain: result.plain }).toEqual({ outcome: fixture.expected });
    }
    expect(result.outcome).toBe(fixture.expected);
  });

  it('stores migrated Jobs with their sidecars in initContainers and none left in containers', () => {
    for (const result of results.filter((entry) => entry.outcome === 'migrated' && entry.fixture.object.kind === 'Job')) {
      const { object } = result.policy as { object: { spec: { initContainers?: { name: string; restartPolicy?: string }[]; containers: unknown[] } } };
      const moved = planMigration(result.fixture.object, { context: { kubernetesVersion: version, minKubeletVersion: version }, settings: APPLY }).moved;
      for (const name of moved) expect(object.spec.initContainers?.find((c) => c.name === name)?.restartPolicy, `${result.fixture.object.metadata?.name}: ${name}`).toBe('Always');
      expect(object.spec.containers.length).toBeGreaterThan(0);
    }
  });

  it('leaves CronJobs and bare Pods alone with the default settings, as the webhook does', async () => {
    const others = fixtures.filter((fixture) => fixture.object.kind !== 'Job');
    expect(others.length).toBeGreaterThan(3);
    for (const fixture of others) {
      const [policy, plain] = [await store(ns.policy, fixture.object), results.find((entry) => entry.fixture === fixture)!.plain];
      expect(policy, fixture.title).toEqual(plain);
    }
  });

  it('leaves Jobs alone in a namespace labelled podpatterns.io/migrate=false', async () => {
    for (const fixture of jobsMigrated.slice(0, 5)) {
      const plain = results.find((entry) => entry.fixture === fixture)!.plain;
      expect(await store(ns.optedOut, fixture.object), fixture.title).toEqual(plain);
    }
  });

  it('changes nothing on a second pass: every Job the webhook migrated, created again, is stored as sent', async () => {
    const again = jobsMigrated.map((fixture) => {
      const { object } = migrateObject(fixture.object, { context: { kubernetesVersion: version, minKubeletVersion: version }, settings: APPLY });
      const copy = structuredClone(object) as KubeObject;
      copy.metadata = { ...copy.metadata, name: `${copy.metadata!.name}-again` };
      return copy;
    });
    const stored = await inBatches(again, async (object) => [await store(ns.policy, object), await store(ns.plain, object)] as const);
    stored.forEach(([policy, plain], index) => expect(policy, again[index]!.metadata!.name).toEqual(plain));
    expect(stored.every(([policy]) => 'object' in policy)).toBe(true);
  });
});

describe('generated Jobs', () => {
  it('stores each as the webhook\'s planMigration would, or as sent: zero disagreements', async () => {
    const jobs = fc.sample(generatedJobs, { numRuns: 200, seed: 20261203 }).map((job, index) => ({ ...job, metadata: { ...job.metadata, name: `generated-${index}` } }));
    const context = { kubernetesVersion: version, minKubeletVersion: version };
    const outcomes = await inBatches(jobs, async (job) => {
      const planned = migrateObject(job, { context, settings: APPLY }).object as KubeObject;
      const [webhook, policy, plain] = await Promise.all([store(ns.planned, planned), store(ns.policy, job), store(ns.plain, job)]);
      return { job, outcome: classify(webhook, policy, plain), webhook, policy };
    });
    const count = (outcome: string) => outcomes.filter((entry) => entry.outcome === outcome).length;
    console.log(
      `migration policy vs planMigration on ${jobs.length} generated Jobs: ${count('migrated')} migrated identically, ${count('unchanged')} left unchanged by both, ` +
        `${count('webhook-only')} left to the webhook, ${count('disagreement')} disagreements`,
    );
    expect(outcomes.filter((entry) => entry.outcome === 'disagreement').map(({ job, webhook, policy }) => ({ job, webhook, policy }))).toEqual([]);
    expect(count('migrated')).toBeGreaterThan(20);
    expect(count('webhook-only')).toBeGreaterThan(5);
  });
});

describe('dry-run mode', () => {
  const dryRunSettings: MigrationSettings = { mode: 'dry-run', cronJobs: false, pods: false };

  it('warns what the webhook\'s dry run says it would move, and changes nothing', async () => {
    let warned = 0;
    for (const fixture of byKind('Job')) {
      const answer = await raw.create(ns.dryRun, fixture.object, { dryRun: true });
      const plain = results.find((entry) => entry.fixture === fixture)!.plain;
      if ('object' in plain) expect(storedOf(answer), fixture.title).toEqual(plain);
      const said = answer.warnings.filter((warning) => warning.includes('dry-run:')).map((warning) => warning.slice(warning.indexOf('dry-run:')));
      const plan = planMigration(fixture.object, { context: { kubernetesVersion: version, minKubeletVersion: version }, settings: dryRunSettings });
      const expected = fixture.expected === 'migrated' ? plan.warnings.filter((warning) => warning.startsWith('dry-run:')) : [];
      expect(said.sort(), fixture.title).toEqual(expected.sort());
      if (said.length > 0) warned += 1;
    }
    expect(warned).toBeGreaterThan(10);
    console.log(`dry-run policy: ${warned} Jobs warned exactly as the webhook's dry run, ${byKind('Job').length - warned} without a warning`);
  });
});

describe('the CEL cost budget', () => {
  it('migrates the 50-container Jobs with failurePolicy Fail, so a cost error would have refused them', async () => {
    for (const fixture of jobsMigrated.filter((f) => f.object.metadata?.name?.startsWith('fifty-'))) {
      const stored = await store(ns.failClosed, fixture.object);
      expect(stored, fixture.title).toEqual(results.find((entry) => entry.fixture === fixture)!.webhook);
    }
  });

  it('admits a 1,000-container Job unchanged past the budget (failurePolicy Ignore), where Fail refuses it with the API server\'s cost error', async () => {
    const containers = Array.from({ length: 1000 }, (_, index) => ({ name: `c${index}`, image: index === 0 ? 'registry.example.com/app:1.0' : 'fluent/fluent-bit:3.1.4' }));
    const huge: KubeObject = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'thousand' }, spec: { template: { spec: { restartPolicy: 'Never', containers } } } };
    const refused = await raw.create(ns.failClosed, huge, { dryRun: true });
    expect(refused.status).toBe(403);
    const message = (refused.body as { message: string }).message;
    expect(message).toMatch(/^.*policy 'podpatterns-sidecar-migration-fail' with binding 'podpatterns-sidecar-migration-fail' denied request: expression '/);
    expect(message).toContain('operation cancelled: actual cost limit exceeded');
    console.log(`1,000 containers, failurePolicy Fail: ${message.slice(0, message.indexOf("expression '") + 12)}… ${message.slice(message.lastIndexOf('resulted in error'))}`);
    const admitted = storedOf(await raw.create(ns.policy, huge, { dryRun: true }));
    expect(admitted).toEqual(storedOf(await raw.create(ns.plain, huge, { dryRun: true })));
  });
});
