import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareVersions, formatVersion, type KubeVersion } from '../model/version.js';
import { PodpatternsError } from '../errors.js';
import {
  parseChoice,
  parseDuration,
  parseKubeVersion,
  parseList,
  parsePort,
  parseText,
  type Problem,
  type SettingSource,
} from './parse.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What `podpatterns serve` accepts on its command line; every value is the raw text the user typed. */
export interface ServeFlags {
  port?: string;
  metricsPort?: string;
  host?: string;
  tlsCert?: string;
  tlsKey?: string;
  devCaFile?: string;
  policy?: string;
  kubernetesVersion?: string;
  minKubeletVersion?: string;
  kubeconfig?: string;
  context?: string;
  clusterRefreshInterval?: string;
  reloadInterval?: string;
  logLevel?: string;
  shutdownDelay?: string;
  shutdownTimeout?: string;
  skipRules?: string;
}

export type Environment = Readonly<Record<string, string | undefined>>;

export type TlsSource =
  | { kind: 'files'; certFile: string; keyFile: string }
  /** No `--tls-cert`: a certificate for localhost is made at start and its CA written to `caFile`. */
  | { kind: 'development'; caFile: string };

export interface ServerConfig {
  host: string;
  port: number;
  metricsPort: number;
  tls: TlsSource;
  /** Absent: the default policy of every rule. */
  policyFile?: string;
  /** Versions given on the command line; what is absent is discovered from the cluster. */
  kubernetesVersion?: KubeVersion;
  minKubeletVersion?: KubeVersion;
  cluster: {
    /** `--kubeconfig`: that file only. Absent: KUBECONFIG, ~/.kube/config, then the pod's service account. */
    kubeconfig?: string;
    /** `--context`: instead of the kubeconfig's current-context. */
    context?: string;
    /** The variables the kubeconfig loader reads besides the flags (src/kube/kubeconfig.ts). */
    env: Readonly<Record<(typeof CLUSTER_VARIABLES)[number], string | undefined>>;
    refreshIntervalMs: number;
  };
  /** How often watched files are re-read in case a file-system event was missed. */
  reloadIntervalMs: number;
  logLevel: LogLevel;
  /** How long the server keeps answering after SIGTERM while reporting not ready. */
  shutdownDelayMs: number;
  /** How long in-flight requests may take to finish once the server stops accepting. */
  shutdownTimeoutMs: number;
  /**
   * Rule ids `/validate` leaves out because in-tree admission policies check them (the chart's
   * `validation.engine: hybrid`), so no finding is reported twice. Checked against the rules at start.
   */
  skipRules: readonly string[];
}

export const DEFAULT_PORT = 8443;

/** Read by the kubeconfig loader as kubectl reads them. */
const CLUSTER_VARIABLES = ['KUBECONFIG', 'HOME', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT'] as const;
export const DEFAULT_METRICS_PORT = 9090;

/** Flag name → environment variable: `--metrics-port` → `PODPATTERNS_METRICS_PORT`. */
export function environmentVariableFor(flag: string): string {
  return `PODPATTERNS_${flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

/**
 * Validates flags and environment once at start and returns a frozen configuration. A flag wins over its
 * environment variable; every error names the flag (and the variable, when the value came from there).
 */
export function resolveServerConfig(flags: ServeFlags, env: Environment): ServerConfig {
  const setting = (flag: string, value: string | undefined): SettingSource => {
    const variable = environmentVariableFor(flag);
    const fromEnv = value === undefined && env[variable] !== undefined;
    return { flag, env: variable, raw: value ?? env[variable], fromEnv };
  };
  const fail: Problem = (source, problem) => {
    const given = source.fromEnv ? ` (from ${source.env}=${JSON.stringify(source.raw)})` : source.raw !== undefined ? ` ${JSON.stringify(source.raw)}` : '';
    throw new PodpatternsError('PODPATTERNS_ERR_USAGE', `${source.flag}${given}: ${problem}`);
  };

  const tlsCert = parseText(setting('--tls-cert', flags.tlsCert), fail);
  const tlsKey = parseText(setting('--tls-key', flags.tlsKey), fail);
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    const missing = tlsCert === undefined ? setting('--tls-cert', undefined) : setting('--tls-key', undefined);
    fail(missing, `is required with ${tlsCert === undefined ? '--tls-key' : '--tls-cert'}: give both PEM files, or neither for a development certificate`);
  }
  const devCaFile = parseText(setting('--dev-ca-file', flags.devCaFile), fail);
  const tls: TlsSource =
    tlsCert !== undefined && tlsKey !== undefined
      ? { kind: 'files', certFile: tlsCert, keyFile: tlsKey }
      : { kind: 'development', caFile: devCaFile ?? join(tmpdir(), 'podpatterns-dev-ca.pem') };

  const port = parsePort(setting('--port', flags.port), DEFAULT_PORT, fail);
  const metricsPortSource = setting('--metrics-port', flags.metricsPort);
  const metricsPort = parsePort(metricsPortSource, DEFAULT_METRICS_PORT, fail);
  if (port !== 0 && port === metricsPort) fail(metricsPortSource, `must differ from --port (${port})`);

  const kubernetesVersion = parseKubeVersion(setting('--kubernetes-version', flags.kubernetesVersion), fail);
  const kubeletSource = setting('--min-kubelet-version', flags.minKubeletVersion);
  const minKubeletVersion = parseKubeVersion(kubeletSource, fail);
  if (kubernetesVersion && minKubeletVersion && compareVersions(minKubeletVersion, kubernetesVersion) > 0) {
    fail(kubeletSource, `is newer than --kubernetes-version ${formatVersion(kubernetesVersion)}: a kubelet is never newer than its API server`);
  }

  const policyFile = parseText(setting('--policy', flags.policy), fail);
  // An empty --kubeconfig is refused here, never taken as "no cluster".
  const kubeconfig = parseText(setting('--kubeconfig', flags.kubeconfig), fail);
  const context = parseText(setting('--context', flags.context), fail);

  const config: ServerConfig = {
    host: parseText(setting('--host', flags.host), fail) ?? '0.0.0.0',
    port,
    metricsPort,
    tls,
    ...(policyFile !== undefined && { policyFile }),
    ...(kubernetesVersion && { kubernetesVersion }),
    ...(minKubeletVersion && { minKubeletVersion }),
    cluster: {
      ...(kubeconfig !== undefined && { kubeconfig }),
      ...(context !== undefined && { context }),
      env: Object.fromEntries(CLUSTER_VARIABLES.map((name) => [name, env[name]])) as ServerConfig['cluster']['env'],
      refreshIntervalMs: parseDuration(setting('--cluster-refresh-interval', flags.clusterRefreshInterval), 5 * 60_000, fail, 1000),
    },
    reloadIntervalMs: parseDuration(setting('--reload-interval', flags.reloadInterval), 10_000, fail, 100),
    logLevel: parseChoice(setting('--log-level', flags.logLevel), LOG_LEVELS, 'info', fail),
    shutdownDelayMs: parseDuration(setting('--shutdown-delay', flags.shutdownDelay), 5000, fail),
    shutdownTimeoutMs: parseDuration(setting('--shutdown-timeout', flags.shutdownTimeout), 30_000, fail),
    skipRules: parseList(setting('--skip-rules', flags.skipRules)),
  };
  return deepFreeze(config);
}

/** The process environment; the one place podpatterns reads it. */
export function processEnvironment(): Environment {
  return { ...process.env };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
