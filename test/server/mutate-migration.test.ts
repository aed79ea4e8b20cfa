import fastJsonPatch from 'fast-json-patch';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationStep } from '../../src/admission/migration-step.js';
import { admissionReview, post, startTestServer, type TestServer } from './support.js';

const { applyPatch, validate } = fastJsonPatch;

/** The Kubernetes docs' Job with a `tail -F` log shipper as a classic sidecar. */
const logShipperJob = () => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'myjob', namespace: 'default' },
  spec: {
    template: {
      spec: {
        restartPolicy: 'Never',
        containers: [
          { name: 'myjob', image: 'alpine:3.20', command: ['sh', '-c', 'echo work > /opt/logs.txt'], volumeMounts: [{ name: 'data', mountPath: '/opt' }] },
          { name: 'logshipper', image: 'alpine:3.20', command: ['sh', '-c', 'tail -F /opt/logs.txt'], volumeMounts: [{ name: 'data', mountPath: '/opt' }] },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    },
  },
});

async function startWith(mode: 'apply' | 'dry-run', kubernetesVersion = '1.33'): Promise<{ server: TestServer; directory: string }> {
  const directory = await mkdtemp(join(tmpdir(), 'podpatterns-mutate-'));
  const policy = join(directory, 'policy.yaml');
  await writeFile(policy, `migration:\n  mode: ${mode}\n`);
  const server = await startTestServer({ policy, kubernetesVersion, minKubeletVersion: kubernetesVersion }, { mutation: migrationStep });
  return { server, directory };
}

describe('POST /mutate with the sidecar migration', () => {
  const started: Array<{ server: TestServer; directory: string }> = [];
  let apply: TestServer;
  let dryRun: TestServer;
  let old: TestServer;

  beforeAll(async () => {
    started.push(await startWith('apply'), await startWith('dry-run'), await startWith('apply', '1.28'));
    [apply, dryRun, old] = started.map((entry) => entry.server) as [TestServer, TestServer, TestServer];
  });
  afterAll(async () => {
    for (const { server, directory } of started) {
      await server.stop();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('patches a Job at CREATE so its log shipper becomes a native sidecar', async () => {
    const job = logShipperJob();
    const { response } = (await post(`${apply.url}/mutate`, JSON.stringify(admissionReview(job)), { ca: apply.ca })).json;
    expect(response.allowed).toBe(true);
    expect(response.patchType).toBe('JSONPatch');
    const patch = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
    expect(validate(patch, job)).toBeUndefined();
    const migrated = applyPatch(structuredClone(job), patch).newDocument;
    expect(migrated.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['myjob']);
    expect(migrated.spec.template.spec).toMatchObject({
      initContainers: [{ name: 'logshipper', restartPolicy: 'Always', command: ['sh', '-c', 'tail -F /opt/logs.txt'] }],
    });
    expect(response.auditAnnotations['migrated-sidecars']).toContain('logshipper');
  });

  it('leaves a Job with nothing to move without a patch', async () => {
    const job = logShipperJob();
    job.spec.template.spec.containers.pop();
    const { response } = (await post(`${apply.url}/mutate`, JSON.stringify(admissionReview(job)), { ca: apply.ca })).json;
    expect(response.allowed).toBe(true);
    expect(response.patch).toBeUndefined();
    expect(response.patchType).toBeUndefined();
  });

  it('only reports what it would move in dry-run mode', async () => {
    const { response } = (await post(`${dryRun.url}/mutate`, JSON.stringify(admissionReview(logShipperJob())), { ca: dryRun.ca })).json;
    expect(response.allowed).toBe(true);
    expect(response.patch).toBeUndefined();
    expect(response.auditAnnotations['would-migrate-sidecars']).toContain('logshipper');
    expect(response.warnings.join('\n')).toContain('logshipper');
  });

  it('changes nothing on a cluster below 1.29 and says why', async () => {
    const { response } = (await post(`${old.url}/mutate`, JSON.stringify(admissionReview(logShipperJob())), { ca: old.ca })).json;
    expect(response.allowed).toBe(true);
    expect(response.patch).toBeUndefined();
    expect(response.warnings.join('\n')).toMatch(/1\.28/);
  });

  it('never patches a Job on UPDATE: its pod template is immutable', async () => {
    const job = logShipperJob();
    const { response } = (await post(`${apply.url}/mutate`, JSON.stringify(admissionReview(job, { operation: 'UPDATE', oldObject: job })), { ca: apply.ca })).json;
    expect(response.allowed).toBe(true);
    expect(response.patch).toBeUndefined();
  });
});

describe('the migration metric', () => {
  const started: Array<{ server: TestServer; directory: string }> = [];
  afterAll(async () => {
    for (const { server, directory } of started) {
      await server.stop();
      await rm(directory, { recursive: true, force: true });
    }
  });

  const migrations = async (server: TestServer) => {
    const text = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    return text.split('\n').filter((line) => line.startsWith('podpatterns_migrations_total{'));
  };

  it('counts the Jobs it patched, and in a dry run those it would have patched, but not Jobs with nothing to move', async () => {
    started.push(await startWith('apply'), await startWith('dry-run'));
    const [apply, dryRun] = started.map((entry) => entry.server) as [TestServer, TestServer];
    const bare = logShipperJob();
    bare.spec.template.spec.containers.pop();
    for (const job of [logShipperJob(), logShipperJob(), bare]) {
      for (const server of [apply, dryRun]) await post(`${server.url}/mutate`, JSON.stringify(admissionReview(job)), { ca: server.ca });
    }
    // A server-side dry run (kubectl --dry-run=server) changes nothing and is not counted.
    await post(`${apply.url}/mutate`, JSON.stringify(admissionReview(logShipperJob(), { dryRun: true })), { ca: apply.ca });
    expect(await migrations(apply)).toEqual(['podpatterns_migrations_total{kind="Job",result="patched"} 2']);
    expect(await migrations(dryRun)).toEqual(['podpatterns_migrations_total{kind="Job",result="dry-run"} 2']);
  });
});
