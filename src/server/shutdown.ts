import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ServingState } from './state.js';
import { closeAllConnections, type MetricsApp, type WebhookApp } from './app.js';

export interface DrainOptions {
  app: WebhookApp;
  metricsApp: MetricsApp;
  state: ServingState;
  delayMs: number;
  timeoutMs: number;
  /** Stops background work (file watchers, cluster refresh) once no new admission can arrive. */
  stopBackground: () => void;
  logger: Logger;
}

export interface Drain {
  /** Starts draining (once); `immediate` skips what is left of the delay. Resolves when everything is closed. */
  shutdown(options?: { immediate?: boolean }): Promise<void>;
  readonly closed: Promise<void>;
}

/**
 * Graceful shutdown for a webhook behind a Service: report not ready at once, keep answering for the delay
 * (the API server keeps kept-alive connections to a terminating pod until its endpoint is removed), then stop
 * accepting, let in-flight requests finish (closing their connections after the timeout) and close the
 * metrics server last, so the drain itself can be scraped.
 */
export function gracefulShutdown(options: DrainOptions): Drain {
  const { app, metricsApp, state, logger } = options;
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  const skipDelay = new AbortController();
  let draining: Promise<void> | undefined;
  const shutdown = (shutdownOptions: { immediate?: boolean } = {}): Promise<void> => {
    if (shutdownOptions.immediate) skipDelay.abort();
    draining ??= (async () => {
      state.draining = true;
      logger.info({ delayMs: options.delayMs }, 'shutting down: not ready, still answering until the delay is over');
      await sleep(options.delayMs, undefined, { signal: skipDelay.signal }).catch(() => undefined);
      options.stopBackground();
      logger.info({ timeoutMs: options.timeoutMs }, 'shutting down: no new connections, finishing in-flight requests');
      const force = setTimeout(() => {
        logger.warn('in-flight requests did not finish in time: closing their connections');
        closeAllConnections(app);
      }, options.timeoutMs);
      await app.close();
      clearTimeout(force);
      await metricsApp.close();
      logger.info('shut down');
      resolveClosed();
    })();
    return draining;
  };
  return { shutdown, closed };
}
