import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { PodpatternsError, errorMessage } from '../policy/errors.js';

/** Where the pod's service account lives (k8s.io/client-go/rest InClusterConfig reads the same files). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeconfigFlags {
  /** `--kubeconfig`: one file, which must exist. */
  kubeconfig?: string;
  /** `--context`: instead of the kubeconfig's current-context. */
  context?: string;
}

export interface KubeconfigEnvironment {
  env: Readonly<Record<string, string | undefined>>;
  home?: string;
  serviceAccountDir?: string;
}

export interface LoadedKubeConfig {
  config: KubeConfig;
  /** Where it came from, for messages: `kubeconfig /home/me/.kube/config, context prod`. */
  source: string;
  /** The context's namespace (in a pod: the service account's), or `default`. */
  namespace: string;
}

/**
 * The kubeconfig kubectl would use: --kubeconfig, else the files of KUBECONFIG (missing ones skipped, the
 * first to set a value wins, as in client-go's clientcmd loading rules), else ~/.kube/config, else the pod's
 * service account. Throws naming every place it looked when there is none.
 */
export async function loadKubeConfig(flags: KubeconfigFlags, environment: KubeconfigEnvironment): Promise<LoadedKubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  const files = kubeconfigFiles(flags, environment);
  let source: string;
  if (files.length > 0) {
    loadFiles(config, files, KubeConfig);
    source = `kubeconfig ${files.join(delimiter)}`;
  } else if (inCluster(environment)) {
    config.loadFromCluster();
    source = 'in-cluster service account';
  } else {
    throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `no kubeconfig: ${lookedAt(flags, environment)}. Pass --kubeconfig <file> or set KUBECONFIG`);
  }
  selectContext(config, flags.context, source);
  const context = config.getContextObject(config.getCurrentContext());
  if (!config.getCurrentCluster()) {
    throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `${source}: context '${config.getCurrentContext()}' names cluster '${context?.cluster ?? ''}', which it does not define`);
  }
  return { config, source: `${source}, context ${config.getCurrentContext()}`, namespace: context?.namespace?.trim() || 'default' };
}

function kubeconfigFiles(flags: KubeconfigFlags, { env, home = homedir() }: KubeconfigEnvironment): string[] {
  if (flags.kubeconfig !== undefined) {
    if (!existsSync(flags.kubeconfig)) throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `--kubeconfig ${flags.kubeconfig}: no such file`);
    return [flags.kubeconfig];
  }
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (listed.length > 0) return listed.filter((file) => existsSync(file));
  const fallback = join(home, '.kube', 'config');
  return existsSync(fallback) ? [fallback] : [];
}

function inCluster({ env, serviceAccountDir = SERVICE_ACCOUNT_DIR }: KubeconfigEnvironment): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && Boolean(env.KUBERNETES_SERVICE_PORT) && existsSync(join(serviceAccountDir, 'token'));
}

function lookedAt(flags: KubeconfigFlags, { env, home = homedir(), serviceAccountDir = SERVICE_ACCOUNT_DIR }: KubeconfigEnvironment): string {
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  const files = listed.length > 0 ? `KUBECONFIG=${env.KUBECONFIG} (no such file)` : `KUBECONFIG is not set, ${join(home, '.kube', 'config')} does not exist`;
  const pod = env.KUBERNETES_SERVICE_HOST ? `no service account token in ${serviceAccountDir}` : 'not in a pod (KUBERNETES_SERVICE_HOST is not set)';
  return `${flags.kubeconfig === undefined ? 'no --kubeconfig, ' : ''}${files}, and ${pod}`;
}

function loadFiles(config: KubeConfig, files: readonly string[], KubeConfigClass: new () => KubeConfig): void {
  for (const [index, file] of files.entries()) {
    try {
      if (index === 0) {
        config.loadFromFile(file);
      } else {
        const other = new KubeConfigClass();
        other.loadFromFile(file);
        // The first file that sets current-context wins; mergeConfig refuses a name defined twice.
        config.mergeConfig(other, Boolean(config.getCurrentContext()));
      }
    } catch (error) {
      throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `kubeconfig ${file}: cannot be loaded: ${errorMessage(error)}`, { cause: error });
    }
  }
}

function selectContext(config: KubeConfig, wanted: string | undefined, source: string): void {
  const names = config.getContexts().map((context) => context.name);
  const available = names.length > 0 ? `its contexts: ${names.join(', ')}` : 'it defines no context';
  if (wanted !== undefined) {
    if (!names.includes(wanted)) throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `--context ${wanted}: not in ${source} (${available})`);
    config.setCurrentContext(wanted);
    return;
  }
  const current = config.getCurrentContext();
  if (!current || !names.includes(current)) {
    const problem = current ? `current-context '${current}' is not one of its contexts` : 'no current-context';
    throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `${source}: ${problem}; pass --context (${available})`);
  }
}
