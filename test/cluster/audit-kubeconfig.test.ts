import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/cluster/kubeconfig.js';
import { PodpatternsError } from '../../src/policy/errors.js';

/** One cluster and user named after `prefix` (names must differ between files that are merged). */
function kubeconfig(options: { contexts: Array<{ name: string; namespace?: string }>; current?: string; server?: string; prefix?: string }): string {
  const prefix = options.prefix ?? 'main';
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: ${prefix}, cluster: {server: "${options.server ?? 'https://127.0.0.1:6443'}"}}]`,
    `users: [{name: ${prefix}, user: {token: t}}]`,
    `contexts: [${options.contexts.map((context) => `{name: ${context.name}, context: {cluster: ${prefix}, user: ${prefix}${context.namespace ? `, namespace: ${context.namespace}` : ''}}}`).join(', ')}]`,
    ...(options.current ? [`current-context: ${options.current}`] : []),
  ].join('\n');
}

async function failure(promise: Promise<unknown>): Promise<PodpatternsError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof PodpatternsError)) throw new Error(`expected a PodpatternsError, got ${String(error)}`);
  return error;
}

describe('the kubeconfig of audit --cluster', () => {
  let directory: string;
  let home: string;
  let prod: string;
  let staging: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'podpatterns-kubeconfig-'));
    home = join(directory, 'home');
    await mkdir(join(home, '.kube'), { recursive: true });
    prod = join(directory, 'prod.yaml');
    staging = join(directory, 'staging.yaml');
    await writeFile(prod, kubeconfig({ contexts: [{ name: 'prod', namespace: 'shop' }, { name: 'prod-admin' }], current: 'prod' }));
    await writeFile(staging, kubeconfig({ contexts: [{ name: 'staging', namespace: 'qa' }], current: 'staging', server: 'https://staging.example.com', prefix: 'staging' }));
    await writeFile(join(home, '.kube', 'config'), kubeconfig({ contexts: [{ name: 'laptop' }], current: 'laptop' }));
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it("takes --kubeconfig, its current context and that context's namespace", async () => {
    const loaded = await loadKubeConfig({ kubeconfig: prod }, { env: { KUBECONFIG: staging }, home });
    expect(loaded.source).toBe(`kubeconfig ${prod}, context prod`);
    expect(loaded.namespace).toBe('shop');
  });

  it('switches to --context, whose namespace defaults to default', async () => {
    const loaded = await loadKubeConfig({ kubeconfig: prod, context: 'prod-admin' }, { env: {}, home });
    expect(loaded.config.getCurrentContext()).toBe('prod-admin');
    expect(loaded.namespace).toBe('default');
  });

  it('merges the files of KUBECONFIG, skipping missing ones, the first current-context winning', async () => {
    const loaded = await loadKubeConfig({ context: 'staging' }, { env: { KUBECONFIG: [join(directory, 'missing.yaml'), prod, staging].join(delimiter) }, home });
    expect(loaded.config.getCurrentCluster()?.server).toBe('https://staging.example.com');
    expect(loaded.namespace).toBe('qa');
    const first = await loadKubeConfig({}, { env: { KUBECONFIG: [prod, staging].join(delimiter) }, home });
    expect(first.config.getCurrentContext()).toBe('prod');
  });

  it('falls back to ~/.kube/config without KUBECONFIG', async () => {
    const loaded = await loadKubeConfig({}, { env: {}, home });
    expect(loaded.source).toBe(`kubeconfig ${join(home, '.kube', 'config')}, context laptop`);
  });

  it('names every place it looked when there is no kubeconfig', async () => {
    const error = await failure(loadKubeConfig({}, { env: {}, home: join(directory, 'nobody') }));
    expect(error.code).toBe('PODPATTERNS_ERR_CLUSTER');
    expect(error.message).toBe(
      `no kubeconfig: no --kubeconfig, KUBECONFIG is not set, ${join(directory, 'nobody', '.kube', 'config')} does not exist, and not in a pod (KUBERNETES_SERVICE_HOST is not set). Pass --kubeconfig <file> or set KUBECONFIG`,
    );
  });

  it('names the KUBECONFIG files that do not exist, and the missing service account token in a pod', async () => {
    const missing = join(directory, 'gone.yaml');
    const error = await failure(loadKubeConfig({}, { env: { KUBECONFIG: missing, KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, home, serviceAccountDir: join(directory, 'no-sa') }));
    expect(error.message).toBe(`no kubeconfig: no --kubeconfig, KUBECONFIG=${missing} (no such file), and no service account token in ${join(directory, 'no-sa')}. Pass --kubeconfig <file> or set KUBECONFIG`);
  });

  it('refuses a --kubeconfig that does not exist', async () => {
    expect((await failure(loadKubeConfig({ kubeconfig: join(directory, 'nope') }, { env: {}, home }))).message).toBe(`--kubeconfig ${join(directory, 'nope')}: no such file`);
  });

  it('lists the contexts there are when --context names another', async () => {
    expect((await failure(loadKubeConfig({ kubeconfig: prod, context: 'dev' }, { env: {}, home }))).message).toBe(`--context dev: not in kubeconfig ${prod} (its contexts: prod, prod-admin)`);
  });

  it('asks for --context when the kubeconfig has no current-context', async () => {
    const file = join(directory, 'no-current.yaml');
    await writeFile(file, kubeconfig({ contexts: [{ name: 'a' }, { name: 'b' }] }));
    expect((await failure(loadKubeConfig({ kubeconfig: file }, { env: {}, home }))).message).toBe(`kubeconfig ${file}: no current-context; pass --context (its contexts: a, b)`);
  });

  it('names the file it cannot parse', async () => {
    const file = join(directory, 'broken.yaml');
    await writeFile(file, 'clusters: [ {');
    expect((await failure(loadKubeConfig({ kubeconfig: file }, { env: {}, home }))).message).toMatch(new RegExp(`^kubeconfig ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot be loaded: `));
  });
});
