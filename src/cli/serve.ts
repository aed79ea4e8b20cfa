import type { Command } from 'commander';
import { DEFAULT_METRICS_PORT, DEFAULT_PORT, processEnvironment, resolveServerConfig, type ServeFlags } from '../config/server-config.js';

/** `podpatterns serve`: the admission webhook. Resolves once the server has shut down after SIGTERM or SIGINT. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Serve the admission webhook (POST /validate, POST /mutate) over HTTPS; every flag can also be set as PODPATTERNS_<FLAG>')
    .option('--port <port>', `HTTPS port (default ${DEFAULT_PORT})`)
    .option('--metrics-port <port>', `plain-HTTP port of /metrics (default ${DEFAULT_METRICS_PORT})`)
    .option('--host <address>', 'address to listen on (default 0.0.0.0)')
    .option('--tls-cert <file>', 'PEM serving certificate (chain); reloaded when it changes. Without it, a development certificate for localhost is made')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--dev-ca-file <file>', 'where to write the CA of the development certificate (default <tmpdir>/podpatterns-dev-ca.pem)')
    .option('--policy <file>', 'policy YAML; reloaded when it changes (default: every rule at its default severity)')
    .option('--kubernetes-version <version>', 'API server version to check against (default: read from the cluster)')
    .option('--min-kubelet-version <version>', 'oldest kubelet version to check against (default: read from the nodes)')
    .option('--kubeconfig <file>', 'kubeconfig of the cluster to read versions from, as kubectl finds it (default: KUBECONFIG, ~/.kube/config, then the pod\'s service account)')
    .option('--context <name>', 'kubeconfig context (default: its current-context)')
    .option('--cluster-refresh-interval <duration>', 'how often cluster versions are read again (default 5m)')
    .option('--reload-interval <duration>', 'how often certificate and policy files are re-read besides file events (default 10s)')
    .option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent (default info)')
    .option('--shutdown-delay <duration>', 'after SIGTERM, how long to keep answering while not ready (default 5s)')
    .option('--shutdown-timeout <duration>', 'then, how long in-flight requests may take to finish (default 30s)')
    .option('--skip-rules <ids>', 'comma-separated rule ids /validate leaves out because in-tree admission policies check them (the chart sets it with validation.engine=hybrid)')
    .action(async (flags: ServeFlags) => {
      const config = resolveServerConfig(flags, processEnvironment());
      // Loaded here, not at the top: `audit` and `migrate` should not pay for Fastify, pino and the API client.
      const [{ createLogger }, { startWebhookServer }, { migrationStep }] = await Promise.all([
        import('../server/logger.js'),
        import('../server/webhook-server.js'),
        import('../admission/migration-step.js'),
      ]);
      const logger = createLogger(config.logLevel);
      const server = await startWebhookServer({ config, logger, mutation: migrationStep });
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals++;
        logger.info({ signal }, signals > 1 ? 'second signal: skipping the rest of the shutdown delay' : 'signal received');
        // Never process.exit here: the process ends by itself once in-flight requests are answered.
        void server.shutdown({ immediate: signals > 1 });
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      await server.closed;
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    });
}
