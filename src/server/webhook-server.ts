import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AdmissionWebhooks } from '../admission/webhooks.js';
import type { ServerConfig } from '../config/server-config.js';
import { describeExemption, expiredExemptions } from '../engine/exemptions.js';
import { PodpatternsError, errorMessage, type ErrorCode } from '../errors.js';
import { connectVersionReader } from '../kube/version-reader.js';
import type { Policy } from '../policy/policy.js';
import { buildMetricsApp, buildWebhookApp, reconnectHttp2Clients } from './app.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import { FileReloader } from './reload.js';
import { ClusterVersionTracker, type ClusterVersions } from './version-tracker.js';
import { gracefulShutdown } from './shutdown.js';
import { ServingState } from './state.js';
import { checkServingCertificate, developmentCertificate, secureContextOptions, type ServingCertificate } from './tls.js';

export interface WebhookServerOptions {
  config: ServerConfig;
  logger: Logger;
  /** What `/validate` and `/mutate` answer with, and how the policy file they read is parsed. */
  webhooks: AdmissionWebhooks;
  /** Where cluster versions come from; by default the flags, else the cluster the configuration names. */
  versions?: { current(): ClusterVersions; start(): Promise<void>; stop(): void };
}

export interface WebhookServer {
  /** `https://host:port` as bound (the real port when the configuration asked for 0). */
  readonly url: string;
  readonly metricsUrl: string;
  readonly state: ServingState;
  readonly metrics: ServerMetrics;
  /** The development CA (PEM) when the server made its own certificate. */
  readonly developmentCa: string | undefined;
  /** Drains and closes (see gracefulShutdown); `immediate` skips what is left of the delay (a second signal). */
  shutdown(options?: { immediate?: boolean }): Promise<void>;
  /** Resolves when the server has shut down. */
  readonly closed: Promise<void>;
}

/** Loads policy and certificate, discovers cluster versions, and listens; throws when something cannot load. */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const { config, logger, webhooks } = options;
  const state = new ServingState();
  const metrics = createMetrics();
  const reloaders: FileReloader<unknown>[] = [];
  const stopReloaders = () => reloaders.forEach((reloader) => reloader.close());

  try {
    state.policy = await loadPolicy(config, webhooks, state, metrics, logger, reloaders);
    let certificate: ServingCertificate;
    let developmentCa: string | undefined;
    let applyCertificate: (next: ServingCertificate) => void = () => undefined;
    if (config.tls.kind === 'development') {
      const development = await developmentCertificate(config.tls.caFile);
      certificate = development;
      developmentCa = development.ca;
      logger.warn({ caFile: config.tls.caFile }, 'no --tls-cert: serving a development certificate for localhost and 127.0.0.1; its CA is in caFile');
    } else {
      const files = { cert: config.tls.certFile, key: config.tls.keyFile };
      const reloader = new FileReloader<ServingCertificate>({
        what: 'serving certificate',
        files: [files.cert, files.key],
        intervalMs: config.reloadIntervalMs,
        load: ([cert, key]) => checkServingCertificate(cert!, key!, files),
        apply: (next) => applyCertificate(next),
        onResult: (result) => metrics.certificateReloads.inc({ result }),
        logger,
      });
      reloaders.push(reloader as FileReloader<unknown>);
      certificate = await startReloader(reloader, 'PODPATTERNS_ERR_TLS', `--tls-cert ${files.cert} / --tls-key ${files.key}`);
    }
    state.certificateLoaded = true;
    metrics.certificateExpiry.set(certificate.notAfter.getTime() / 1000);

    const versions = options.versions ?? new ClusterVersionTracker({
      reader: config.kubernetesVersion && config.minKubeletVersion ? undefined : await connectVersionReader({ kubeconfig: config.cluster.kubeconfig, context: config.cluster.context }, { env: config.cluster.env }),
      ...(config.kubernetesVersion && { kubernetesVersion: config.kubernetesVersion }),
      ...(config.minKubeletVersion && { minKubeletVersion: config.minKubeletVersion }),
      refreshIntervalMs: config.cluster.refreshIntervalMs,
      logger,
    });
    await versions.start();

    const app = buildWebhookApp(secureContextOptions(certificate), {
      state,
      handlers: { validate: webhooks.validate, mutate: webhooks.mutate },
      settings: (mode) => ({ policy: currentPolicy(state), versions: versions.current(), mode }),
      metrics,
      logger,
    });
    applyCertificate = (next) => {
      // New connections get the new certificate; established ones keep theirs until they close.
      app.server.setSecureContext(secureContextOptions(next));
      reconnectHttp2Clients(app);
      metrics.certificateExpiry.set(next.notAfter.getTime() / 1000);
    };
    const metricsApp = buildMetricsApp({ metrics, state, logger });
    try {
      await app.listen(config.host, config.port);
      await metricsApp.listen(config.host, config.metricsPort);
    } catch (error) {
      versions.stop();
      await Promise.allSettled([app.close(), metricsApp.close()]);
      throw new PodpatternsError('PODPATTERNS_ERR_USAGE', `cannot listen on ${config.host}: ${errorMessage(error)}`, { cause: error });
    }
    const url = `https://${hostForUrl(config.host)}:${(app.server.address() as AddressInfo).port}`;
    const metricsUrl = `http://${hostForUrl(config.host)}:${(metricsApp.server.address() as AddressInfo).port}`;
    logger.info(
      { url, metricsUrl, rules: webhooks.ruleCount, ...(config.skipRules.length > 0 && { skippedOnValidate: config.skipRules }) },
      config.skipRules.length > 0 ? 'podpatterns webhook serving; /validate leaves the skipped rules to in-tree admission policies' : 'podpatterns webhook serving',
    );

    const { shutdown, closed } = gracefulShutdown({
      app,
      metricsApp,
      state,
      delayMs: config.shutdownDelayMs,
      timeoutMs: config.shutdownTimeoutMs,
      stopBackground: () => {
        stopReloaders();
        versions.stop();
      },
      logger,
    });
    return { url, metricsUrl, state, metrics, developmentCa, shutdown, closed };
  } catch (error) {
    stopReloaders();
    throw error;
  }
}

/** The policy in force; it is loaded before the server listens and a reload only ever replaces it. */
function currentPolicy(state: ServingState): Policy {
  if (state.policy === undefined) throw new PodpatternsError('PODPATTERNS_ERR_POLICY_READ', 'no policy loaded');
  return state.policy;
}

async function loadPolicy(
  config: ServerConfig,
  webhooks: AdmissionWebhooks,
  state: ServingState,
  metrics: ServerMetrics,
  logger: Logger,
  reloaders: FileReloader<unknown>[],
): Promise<Policy> {
  const file = config.policyFile;
  if (file === undefined) return webhooks.defaultPolicy();
  // An expired exemption no longer applies: whoever owns the policy hears of it at every load.
  const announce = (policy: Policy): Policy => {
    for (const entry of expiredExemptions(policy.exemptions, Date.now())) {
      logger.warn({ file, exemption: describeExemption(entry), rules: entry.rules, reason: entry.reason, expires: entry.expires?.date }, 'policy exemption expired: it no longer applies');
    }
    return policy;
  };
  const reloader = new FileReloader<Policy>({
    what: 'policy',
    files: [file],
    intervalMs: config.reloadIntervalMs,
    load: ([text]) => webhooks.parsePolicy(text!, file),
    apply: (policy) => (state.policy = announce(policy)),
    onResult: (result) => metrics.policyReloads.inc({ result }),
    logger,
  });
  reloaders.push(reloader as FileReloader<unknown>);
  return announce(await startReloader(reloader, 'PODPATTERNS_ERR_POLICY_READ', `--policy ${file}`));
}

async function startReloader<T>(reloader: FileReloader<T>, code: ErrorCode, subject: string): Promise<T> {
  try {
    return await reloader.start();
  } catch (error) {
    if (error instanceof PodpatternsError) throw error;
    throw new PodpatternsError(code, `${subject}: cannot be read: ${errorMessage(error)}`, { cause: error });
  }
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}
