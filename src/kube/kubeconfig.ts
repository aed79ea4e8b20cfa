import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { RequestOptions } from 'node:https';
import type { Cluster, Context, KubeConfig, User } from '@kubernetes/client-node';
import { PodpatternsError, errorMessage } from '../errors.js';

/** Where the pod's service account lives (k8s.io/client-go/rest InClusterConfig reads the same files). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** What the command line asks for: `--kubeconfig` and `--context`. */
export interface ClusterSelection {
  /** One file, which must exist; instead of KUBECONFIG and ~/.kube/config. */
  kubeconfig?: string;
  /** Instead of the kubeconfig's current-context. */
  context?: string;
}

/** Where the loader looks besides the flags; tests point it at their own folders. */
export interface KubeconfigEnvironment {
  /** `KUBECONFIG`, `HOME`, `KUBERNETES_SERVICE_HOST`, `KUBERNETES_SERVICE_PORT`. */
  env: Readonly<Record<string, string | undefined>>;
  /** Default: `HOME`, else the user's home directory. */
  home?: string;
  serviceAccountDir?: string;
}

/** Where the API server is, and what a request to it carries: whom it trusts and who it is. */
export interface ClusterAccess {
  /** The API server of the context. */
  server: string;
  /** Adds the CA, client certificate, token … to a request's options, read afresh: tokens rotate. */
  apply(options: RequestOptions): Promise<void>;
}

export interface LoadedKubeConfig {
  access: ClusterAccess;
  /** The kubeconfig read, when there was one (the service account needs none). */
  config?: KubeConfig;
  /** Where it came from, for messages: `kubeconfig /home/me/.kube/config, context prod`. */
  source: string;
  /** The context's namespace (in a pod: the service account's), or `default`. */
  namespace: string;
}

/**
 * The cluster kubectl would talk to (client-go clientcmd's loading rules, then rest.InClusterConfig):
 *
 * - `--kubeconfig`: that file only; it must exist. An empty value is a usage error.
 * - else the files listed in `KUBECONFIG`, merged: missing files are skipped, and for every cluster, user and
 *   context name the first file that defines it wins whole (a later file's entry of the same name is ignored, not
 *   an error); the first file that sets current-context wins. A file that cannot be parsed, or defines one
 *   name twice, is an error naming it.
 * - else `~/.kube/config`;
 * - else the pod's service account.
 *
 * `--context` picks a context of the merged files. Returns undefined when no kubeconfig and no service account
 * exist and nothing was asked for explicitly (`serve` then runs without a cluster); every other problem throws a
 * PodpatternsError naming the file, context or cluster at fault.
 */
export async function findKubeConfig(selection: ClusterSelection, environment: KubeconfigEnvironment): Promise<LoadedKubeConfig | undefined> {
  const files = await kubeconfigFiles(selection, environment);
  if (files.read.length === 0) {
    if (inCluster(environment)) return serviceAccount(selection, environment);
    if (selection.context !== undefined) throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `--context ${selection.context}: no kubeconfig to take it from: ${lookedAt(environment)}`);
    return undefined;
  }
  const { KubeConfig } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  config.loadFromOptions(merge(files.read));
  const origin = `kubeconfig ${files.read.map((file) => file.path).join(delimiter)}`;
  const context = selectContext(config, selection.context, origin);
  const cluster = config.getCluster(context.cluster);
  if (!cluster) throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `${origin}: context '${context.name}' names cluster '${context.cluster}', which it does not define`);
  if (context.user && !config.getUser(context.user)) {
    throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `${origin}: context '${context.name}' names user '${context.user}', which it does not define`);
  }
  return { access: kubeconfigAccess(config), config, source: `${origin}, context ${context.name}`, namespace: context.namespace?.trim() || 'default' };
}

/** A kubeconfig's current context as client-node applies it: CA, client certificate, token, exec and auth-provider plugins, proxy. */
export function kubeconfigAccess(config: KubeConfig): ClusterAccess {
  return { server: config.getCurrentCluster()?.server ?? '', apply: (options) => config.applyToHTTPSOptions(options) };
}

/** As findKubeConfig, but a missing configuration is an error naming every place looked (`audit --cluster`). */
export async function loadKubeConfig(selection: ClusterSelection, environment: KubeconfigEnvironment): Promise<LoadedKubeConfig> {
  const loaded = await findKubeConfig(selection, environment);
  if (!loaded) throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `no kubeconfig: ${lookedAt(environment)}. Pass --kubeconfig <file> or set KUBECONFIG`);
  return loaded;
}

interface KubeconfigFile {
  path: string;
  clusters: Cluster[];
  users: User[];
  contexts: Context[];
  currentContext: string | undefined;
}

async function kubeconfigFiles(selection: ClusterSelection, environment: KubeconfigEnvironment): Promise<{ read: KubeconfigFile[] }> {
  if (selection.kubeconfig !== undefined) {
    if (selection.kubeconfig.trim() === '') {
      throw new PodpatternsError('PODPATTERNS_ERR_USAGE', '--kubeconfig: must not be empty (leave it out to use KUBECONFIG, ~/.kube/config or the service account)');
    }
    const file = await readKubeconfig(selection.kubeconfig);
    if (!file) throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `--kubeconfig ${selection.kubeconfig}: no such file`);
    return { read: [file] };
  }
  const read: KubeconfigFile[] = [];
  for (const path of candidateFiles(environment)) {
    const file = await readKubeconfig(path);
    if (file) read.push(file);
  }
  return { read };
}

/** KUBECONFIG's files (empty entries dropped, each once), else ~/.kube/config. */
function candidateFiles({ env, home }: KubeconfigEnvironment): string[] {
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((file) => file !== '');
  if (listed.length > 0) return [...new Set(listed)];
  return [homeKubeconfig(env, home)];
}

function homeKubeconfig(env: KubeconfigEnvironment['env'], home: string | undefined): string {
  return join(home ?? env.HOME ?? homedir(), '.kube', 'config');
}

/** The file's entries, or undefined when it does not exist. */
async function readKubeconfig(path: string): Promise<KubeconfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `kubeconfig ${path}: cannot be read: ${errorMessage(error)}`, { cause: error });
  }
  const { KubeConfig } = await import('@kubernetes/client-node');
  const part = new KubeConfig();
  // An empty file is an empty configuration, as for client-go.
  if (text.trim() !== '') {
    try {
      part.loadFromString(text);
    } catch (error) {
      throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `kubeconfig ${path}: cannot be loaded: ${errorMessage(error)}`, { cause: error });
    }
    // Certificate and key paths are relative to the file that names them.
    part.makePathsAbsolute(dirname(path));
  }
  const file: KubeconfigFile = { path, clusters: part.getClusters(), users: part.getUsers(), contexts: part.getContexts(), currentContext: part.getCurrentContext() || undefined };
  for (const [what, entries] of [['cluster', file.clusters], ['user', file.users], ['context', file.contexts]] as const) {
    const seen = new Set<string>();
    for (const { name } of entries) {
      // client-go refuses a name listed twice in one file (only across files does the first win).
      if (seen.has(name)) throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `kubeconfig ${path}: ${what} '${name}' is defined twice`);
      seen.add(name);
    }
  }
  return file;
}

/** The first file to define a name wins for that name, whole; the first current-context set wins. */
function merge(files: readonly KubeconfigFile[]): { clusters: Cluster[]; users: User[]; contexts: Context[]; currentContext: string | undefined } {
  const firstByName = <T extends { name: string }>(lists: T[][]): T[] => {
    const kept = new Map<string, T>();
    for (const list of lists) for (const entry of list) if (!kept.has(entry.name)) kept.set(entry.name, entry);
    return [...kept.values()];
  };
  return {
    // An http:// server (kubectl proxy) has no certificate to verify: kubectl and client-go speak plain HTTP to it, and
    // client-node refuses to unless the cluster also says insecure-skip-tls-verify.
    clusters: firstByName(files.map((file) => file.clusters)).map((cluster) => (cluster.server.startsWith('http:') ? { ...cluster, skipTLSVerify: true } : cluster)),
    users: firstByName(files.map((file) => file.users)),
    contexts: firstByName(files.map((file) => file.contexts)),
    currentContext: files.find((file) => file.currentContext !== undefined)?.currentContext,
  };
}

/** client-go's rule: both variables set and a token mounted. */
function inCluster({ env, serviceAccountDir = SERVICE_ACCOUNT_DIR }: KubeconfigEnvironment): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && Boolean(env.KUBERNETES_SERVICE_PORT) && existsSync(join(serviceAccountDir, 'token'));
}

const IN_CLUSTER = 'in-cluster';

/**
 * The pod's service account, as client-go's rest.InClusterConfig reads it: the API server from
 * KUBERNETES_SERVICE_HOST and _PORT, its CA from ca.crt, the token from the projected file, read again for every
 * request (the kubelet rotates it) and trimmed of blanks as client-go trims it. Nothing of client-node is loaded:
 * it is most of a webhook's memory, and a service account needs none of its plugins.
 */
async function serviceAccount(selection: ClusterSelection, { env, serviceAccountDir = SERVICE_ACCOUNT_DIR }: KubeconfigEnvironment): Promise<LoadedKubeConfig> {
  const origin = 'in-cluster service account';
  if (selection.context !== undefined && selection.context !== IN_CLUSTER) {
    throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `--context ${selection.context}: not in ${origin} (its contexts: ${IN_CLUSTER})`);
  }
  const host = env.KUBERNETES_SERVICE_HOST!;
  const namespace = await readFile(join(serviceAccountDir, 'namespace'), 'utf8').then(
    (text) => text.trim(),
    () => '',
  );
  const access: ClusterAccess = {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT}`,
    async apply(options) {
      const [ca, token] = await Promise.all([readFile(join(serviceAccountDir, 'ca.crt'), 'utf8'), readFile(join(serviceAccountDir, 'token'), 'utf8')]);
      options.ca = ca;
      options.headers = { ...options.headers, authorization: `Bearer ${token.trim()}` };
    },
  };
  return { access, source: `${origin}, context ${IN_CLUSTER}`, namespace: namespace || 'default' };
}

function lookedAt({ env, home, serviceAccountDir = SERVICE_ACCOUNT_DIR }: KubeconfigEnvironment): string {
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  const files = listed.length > 0 ? `KUBECONFIG=${env.KUBECONFIG} (no such file)` : `KUBECONFIG is not set, ${homeKubeconfig(env, home)} does not exist`;
  const pod = env.KUBERNETES_SERVICE_HOST ? `no service account token in ${serviceAccountDir}` : 'not in a pod (KUBERNETES_SERVICE_HOST is not set)';
  return `no --kubeconfig, ${files}, and ${pod}`;
}

function selectContext(config: KubeConfig, wanted: string | undefined, origin: string): Context {
  const names = config.getContexts().map((context) => context.name);
  const available = names.length > 0 ? `its contexts: ${names.join(', ')}` : 'it defines no context';
  if (wanted !== undefined) {
    if (!names.includes(wanted)) throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `--context ${wanted}: not in ${origin} (${available})`);
    config.setCurrentContext(wanted);
  } else {
    const current = config.getCurrentContext();
    if (!current || !names.includes(current)) {
      const problem = current ? `current-context '${current}' is not one of its contexts` : 'no current-context';
      throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `${origin}: ${problem}; pass --context (${available})`);
    }
  }
  return config.getContextObject(config.getCurrentContext())!;
}
