/**
 * The one kubeconfig loader of `serve` and `audit --cluster`, with kubectl's rules (client-go clientcmd
 * ClientConfigLoadingRules.Load, then rest.InClusterConfig), on real files in a temporary folder.
 */
import { execFile } from 'node:child_process';
import type { RequestOptions } from 'node:https';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeConfig } from '@kubernetes/client-node';
import { findKubeConfig, loadKubeConfig, type ClusterSelection, type KubeconfigEnvironment, type LoadedKubeConfig } from '../../src/kube/kubeconfig.js';
import { PodpatternsError } from '../../src/errors.js';

interface Entries {
  clusters?: Array<{ name: string; server: string; ca?: string }>;
  users?: Array<{ name: string; token: string }>;
  contexts?: Array<{ name: string; cluster: string; user?: string; namespace?: string }>;
  current?: string;
}

function kubeconfig({ clusters = [], users = [], contexts = [], current }: Entries): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: clusters.map(({ name, server, ca }) => ({ name, cluster: { server, ...(ca && { 'certificate-authority': ca }) } })),
    users: users.map(({ name, token }) => ({ name, user: { token } })),
    contexts: contexts.map(({ name, cluster, user, namespace }) => ({ name, context: { cluster, ...(user && { user }), ...(namespace && { namespace }) } })),
    ...(current && { 'current-context': current }),
  });
}

const run = promisify(execFile);
const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));

/** The kubeconfig client-node read: every load from files has one. */
function configOf(loaded: LoadedKubeConfig): KubeConfig {
  if (!loaded.config) throw new Error(`${loaded.source}: no kubeconfig was read`);
  return loaded.config;
}

async function failure(promise: Promise<unknown>): Promise<PodpatternsError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof PodpatternsError)) throw new Error(`expected a PodpatternsError, got ${String(error)}`);
  return error;
}

describe('the kubeconfig loader of serve and audit --cluster', () => {
  let directory: string;
  let home: string;
  /** Files by name, written in beforeAll. */
  const file = (name: string) => join(directory, name);

  const FILES: Record<string, Entries> = {
    // prod and staging both define a cluster `shared`, a user `me` and a context `both`, each its own way.
    'prod.yaml': {
      clusters: [{ name: 'prod', server: 'https://prod.example.com' }, { name: 'shared', server: 'https://shared-from-prod.example.com' }],
      users: [{ name: 'me', token: 'prod-token' }],
      contexts: [{ name: 'prod', cluster: 'prod', user: 'me', namespace: 'shop' }, { name: 'prod-admin', cluster: 'prod', user: 'me' }, { name: 'both', cluster: 'shared', user: 'me', namespace: 'from-prod' }],
      current: 'prod',
    },
    'staging.yaml': {
      clusters: [{ name: 'staging', server: 'https://staging.example.com' }, { name: 'shared', server: 'https://shared-from-staging.example.com', ca: 'staging-ca.crt' }],
      users: [{ name: 'me', token: 'staging-token' }],
      contexts: [{ name: 'staging', cluster: 'staging', user: 'me', namespace: 'qa' }, { name: 'both', cluster: 'shared', user: 'me', namespace: 'from-staging' }],
      current: 'staging',
    },
    'no-current.yaml': { clusters: [{ name: 'dev', server: 'https://dev.example.com' }], users: [{ name: 'dev', token: 't' }], contexts: [{ name: 'dev', cluster: 'dev', user: 'dev' }] },
    'relative-ca.yaml': { clusters: [{ name: 'c', server: 'https://c.example.com', ca: 'certs/ca.crt' }], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'c', cluster: 'c', user: 'u' }], current: 'c' },
    'ghost-cluster.yaml': { clusters: [], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'ghost', cluster: 'gone', user: 'u' }], current: 'ghost' },
    'ghost-user.yaml': { clusters: [{ name: 'c', server: 'https://c.example.com' }], contexts: [{ name: 'ghost', cluster: 'c', user: 'gone' }], current: 'ghost' },
  };

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'podpatterns-kubeconfig-'));
    home = join(directory, 'home');
    await mkdir(join(home, '.kube'), { recursive: true });
    for (const [name, entries] of Object.entries(FILES)) await writeFile(file(name), kubeconfig(entries));
    await writeFile(join(home, '.kube', 'config'), kubeconfig({ clusters: [{ name: 'laptop', server: 'https://laptop.example.com' }], users: [{ name: 'me', token: 't' }], contexts: [{ name: 'laptop', cluster: 'laptop', user: 'me' }], current: 'laptop' }));
    await writeFile(file('empty.yaml'), '');
    await writeFile(file('broken.yaml'), 'clusters: [ {');
    await writeFile(
      file('twice.yaml'),
      kubeconfig({ clusters: [{ name: 'a', server: 'https://a.example.com' }, { name: 'a', server: 'https://b.example.com' }], contexts: [{ name: 'a', cluster: 'a' }], current: 'a' }),
    );
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const load = (selection: ClusterSelection, environment: Partial<KubeconfigEnvironment> = {}) => loadKubeConfig(selection, { env: {}, home, ...environment });
  const list = (...names: string[]) => names.map((name) => (name === '' ? '' : file(name))).join(delimiter);

  describe('merging the files of KUBECONFIG', () => {
    it.each<[string, string[], ClusterSelection, { server: string; namespace: string; token?: string }]>([
      ['takes the current-context of the first file that sets one', ['prod.yaml', 'staging.yaml'], {}, { server: 'https://prod.example.com', namespace: 'shop' }],
      ['skips a first file without current-context for the next one that has it', ['no-current.yaml', 'staging.yaml'], {}, { server: 'https://staging.example.com', namespace: 'qa' }],
      ['reaches a context defined only in a later file with --context', ['prod.yaml', 'staging.yaml'], { context: 'staging' }, { server: 'https://staging.example.com', namespace: 'qa' }],
      ['keeps the first definition of a context defined twice, without an error', ['prod.yaml', 'staging.yaml'], { context: 'both' }, { server: 'https://shared-from-prod.example.com', namespace: 'from-prod' }],
      ['keeps the first definition when the order is reversed', ['staging.yaml', 'prod.yaml'], { context: 'both' }, { server: 'https://shared-from-staging.example.com', namespace: 'from-staging' }],
      ['keeps the first definition of a user, token and all', ['staging.yaml', 'prod.yaml'], { context: 'prod' }, { server: 'https://prod.example.com', namespace: 'shop', token: 'staging-token' }],
      ['skips files that do not exist', ['missing.yaml', 'staging.yaml', 'gone.yaml'], {}, { server: 'https://staging.example.com', namespace: 'qa' }],
      ['skips empty entries and reads a file listed twice once', ['', 'prod.yaml', '', 'prod.yaml'], {}, { server: 'https://prod.example.com', namespace: 'shop' }],
      ['takes an empty file as an empty configuration', ['empty.yaml', 'prod.yaml'], {}, { server: 'https://prod.example.com', namespace: 'shop' }],
    ])('%s', async (_, files, selection, expected) => {
      const loaded = await load(selection, { env: { KUBECONFIG: list(...files) } });
      expect(loaded.access.server).toBe(expected.server);
      expect(loaded.namespace).toBe(expected.namespace);
      if (expected.token) expect(configOf(loaded).getCurrentUser()?.token).toBe(expected.token);
    });

    it('keeps the first definition of a cluster whole: nothing of the later one is merged into it', async () => {
      const loaded = await load({ context: 'both' }, { env: { KUBECONFIG: list('prod.yaml', 'staging.yaml') } });
      expect(configOf(loaded).getCurrentCluster()).toMatchObject({ server: 'https://shared-from-prod.example.com' });
      expect(configOf(loaded).getCurrentCluster()?.caFile).toBeUndefined();
    });

    it('names the files it read and the context in its source', async () => {
      const loaded = await load({}, { env: { KUBECONFIG: list('missing.yaml', 'prod.yaml', 'staging.yaml') } });
      expect(loaded.source).toBe(`kubeconfig ${list('prod.yaml', 'staging.yaml')}, context prod`);
    });

    it('fails naming a listed file it cannot parse, instead of skipping it', async () => {
      expect((await failure(load({}, { env: { KUBECONFIG: list('prod.yaml', 'broken.yaml') } }))).message).toMatch(new RegExp(`^kubeconfig ${escape(file('broken.yaml'))}: cannot be loaded: `));
    });

    it('fails naming the file that defines one name twice (only across files is that allowed)', async () => {
      expect((await failure(load({}, { env: { KUBECONFIG: list('twice.yaml') } }))).message).toBe(`kubeconfig ${file('twice.yaml')}: cluster 'a' is defined twice`);
    });
  });

  describe('--kubeconfig', () => {
    it('takes that file only, ignoring KUBECONFIG', async () => {
      const loaded = await load({ kubeconfig: file('prod.yaml') }, { env: { KUBECONFIG: list('staging.yaml') } });
      expect(loaded.source).toBe(`kubeconfig ${file('prod.yaml')}, context prod`);
      expect(await failure(load({ kubeconfig: file('prod.yaml'), context: 'staging' }, { env: { KUBECONFIG: list('staging.yaml') } }))).toMatchObject({
        message: `--context staging: not in kubeconfig ${file('prod.yaml')} (its contexts: prod, prod-admin, both)`,
      });
    });

    it('refuses a file that does not exist, where KUBECONFIG would skip it', async () => {
      const error = await failure(load({ kubeconfig: file('missing.yaml') }));
      expect([error.code, error.message]).toEqual(['PODPATTERNS_ERR_CLUSTER', `--kubeconfig ${file('missing.yaml')}: no such file`]);
    });

    it('refuses an empty value as a usage error instead of running without a cluster', async () => {
      for (const value of ['', '  ']) {
        const error = await failure(findKubeConfig({ kubeconfig: value }, { env: {}, home }));
        expect([error.code, error.message]).toEqual(['PODPATTERNS_ERR_USAGE', '--kubeconfig: must not be empty (leave it out to use KUBECONFIG, ~/.kube/config or the service account)']);
      }
    });

    it('switches to --context, whose namespace defaults to default', async () => {
      const loaded = await load({ kubeconfig: file('prod.yaml'), context: 'prod-admin' });
      expect(configOf(loaded).getCurrentContext()).toBe('prod-admin');
      expect(loaded.namespace).toBe('default');
    });

    it('makes a relative certificate path relative to the kubeconfig file', async () => {
      const loaded = await load({ kubeconfig: file('relative-ca.yaml') });
      expect(configOf(loaded).getCurrentCluster()?.caFile).toBe(join(directory, 'certs', 'ca.crt'));
    });
  });

  describe('without --kubeconfig or KUBECONFIG', () => {
    it('reads ~/.kube/config, also when KUBECONFIG is set but empty', async () => {
      for (const env of [{}, { KUBECONFIG: '' }]) expect((await load({}, { env })).source).toBe(`kubeconfig ${join(home, '.kube', 'config')}, context laptop`);
    });

    it("uses the pod's service account when no kubeconfig exists, with its namespace, CA and token", async () => {
      const serviceAccountDir = join(directory, 'serviceaccount');
      await mkdir(serviceAccountDir, { recursive: true });
      await writeFile(join(serviceAccountDir, 'token'), 'sa-token\n');
      await writeFile(join(serviceAccountDir, 'namespace'), 'podpatterns-system');
      await writeFile(join(serviceAccountDir, 'ca.crt'), 'the cluster CA');
      const env = { KUBECONFIG: list('missing.yaml'), KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' };
      const loaded = await load({}, { env, home: join(directory, 'nobody'), serviceAccountDir });
      expect(loaded).toMatchObject({ source: 'in-cluster service account, context in-cluster', namespace: 'podpatterns-system' });
      expect(loaded.access.server).toBe('https://[fd00::1]:443');
      const applied = async () => {
        const options: RequestOptions = { headers: { accept: 'application/json' } };
        await loaded.access.apply(options);
        return options;
      };
      // The token trimmed as client-go trims it: a trailing newline would make the header invalid.
      expect(await applied()).toEqual({ ca: 'the cluster CA', headers: { accept: 'application/json', authorization: 'Bearer sa-token' } });
      // The kubelet rotates the projected token: every request reads it again.
      await writeFile(join(serviceAccountDir, 'token'), 'rotated-token');
      expect((await applied()).headers).toMatchObject({ authorization: 'Bearer rotated-token' });
      expect(loaded.config).toBeUndefined();
      expect((await failure(load({ context: 'prod' }, { env, home: join(directory, 'nobody'), serviceAccountDir }))).message).toBe('--context prod: not in in-cluster service account (its contexts: in-cluster)');
      expect((await load({ context: 'in-cluster' }, { env, home: join(directory, 'nobody'), serviceAccountDir })).access.server).toBe('https://[fd00::1]:443');
    });

    it('names the file when the service account token is gone at request time', async () => {
      const serviceAccountDir = join(directory, 'serviceaccount-gone');
      await mkdir(serviceAccountDir, { recursive: true });
      await writeFile(join(serviceAccountDir, 'token'), 'sa-token');
      await writeFile(join(serviceAccountDir, 'ca.crt'), 'the cluster CA');
      const loaded = await load({}, { env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, home: join(directory, 'nobody'), serviceAccountDir });
      expect(loaded.namespace).toBe('default');
      await rm(join(serviceAccountDir, 'token'));
      await expect(loaded.access.apply({})).rejects.toThrow(join(serviceAccountDir, 'token'));
    });

    it("loads nothing of client-node for the service account: it is most of a webhook's memory", async () => {
      const serviceAccountDir = join(directory, 'serviceaccount-light');
      await mkdir(serviceAccountDir, { recursive: true });
      await writeFile(join(serviceAccountDir, 'token'), 'sa-token');
      await writeFile(join(serviceAccountDir, 'ca.crt'), 'the cluster CA');
      // A fresh process sees every module resolved; the kubeconfig file after it shows the count can grow.
      const script = [
        "import { registerHooks } from 'node:module';",
        'const resolved = [];',
        'registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); resolved.push(result.url); return result; } });',
        `const { findKubeConfig } = await import(${JSON.stringify(pathToFileURL(join(REPOSITORY, 'src', 'kube', 'kubeconfig.ts')).href)});`,
        "const count = () => resolved.filter((url) => url.includes('/@kubernetes/client-node/')).length;",
        `const found = await findKubeConfig({}, { env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, home: ${JSON.stringify(join(directory, 'nobody'))}, serviceAccountDir: ${JSON.stringify(serviceAccountDir)} });`,
        'await found.access.apply({});',
        'const serviceAccount = count();',
        `await findKubeConfig({ kubeconfig: ${JSON.stringify(file('prod.yaml'))} }, { env: {} });`,
        'console.log(JSON.stringify({ serviceAccount, kubeconfig: count() }));',
      ].join('\n');
      const { stdout } = await run(process.execPath, ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, '--input-type=module', '-e', script]);
      const counts = JSON.parse(stdout) as { serviceAccount: number; kubeconfig: number };
      expect(counts.serviceAccount).toBe(0);
      expect(counts.kubeconfig).toBeGreaterThan(0);
    });

    it('finds nothing, without an error, when there is no kubeconfig and no service account (serve runs without a cluster)', async () => {
      expect(await findKubeConfig({}, { env: {}, home: join(directory, 'nobody') })).toBeUndefined();
    });

    it('names every place it looked when a cluster is required', async () => {
      const error = await failure(load({}, { home: join(directory, 'nobody') }));
      expect(error.message).toBe(
        `no kubeconfig: no --kubeconfig, KUBECONFIG is not set, ${join(directory, 'nobody', '.kube', 'config')} does not exist, and not in a pod (KUBERNETES_SERVICE_HOST is not set). Pass --kubeconfig <file> or set KUBECONFIG`,
      );
    });

    it('names the KUBECONFIG files that do not exist, and the missing service account token in a pod', async () => {
      const missing = file('gone.yaml');
      const error = await failure(load({}, { env: { KUBECONFIG: missing, KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: join(directory, 'no-sa') }));
      expect(error.message).toBe(`no kubeconfig: no --kubeconfig, KUBECONFIG=${missing} (no such file), and no service account token in ${join(directory, 'no-sa')}. Pass --kubeconfig <file> or set KUBECONFIG`);
    });

    it('refuses a --context when there is no kubeconfig to take it from', async () => {
      expect((await failure(findKubeConfig({ context: 'prod' }, { env: {}, home: join(directory, 'nobody') }))).message).toMatch(/^--context prod: no kubeconfig to take it from: no --kubeconfig, KUBECONFIG is not set/);
    });
  });

  describe('the context', () => {
    it('asks for --context when no file sets current-context', async () => {
      expect((await failure(load({ kubeconfig: file('no-current.yaml') }))).message).toBe(`kubeconfig ${file('no-current.yaml')}: no current-context; pass --context (its contexts: dev)`);
    });

    it.each([
      ['ghost-cluster.yaml', "context 'ghost' names cluster 'gone', which it does not define"],
      ['ghost-user.yaml', "context 'ghost' names user 'gone', which it does not define"],
    ])('names what the context of %s lacks', async (name, problem) => {
      expect((await failure(load({ kubeconfig: file(name) }))).message).toBe(`kubeconfig ${file(name)}: ${problem}`);
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
