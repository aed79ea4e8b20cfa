import type { Registry } from 'prom-client';
import type { RouteAnswer } from './routes.js';

/** `GET /metrics` in the Prometheus text format. */
export function metricsRoutes(registry: Registry): Array<[string, () => Promise<RouteAnswer>]> {
  return [['/metrics', async () => ({ status: 200, text: await registry.metrics(), contentType: registry.contentType })]];
}
