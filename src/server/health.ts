import type { RouteAnswer } from './routes.js';
import type { ServingState } from './state.js';

/**
 * `GET /livez`: the process answers. `GET /readyz`: policy and certificate are loaded and the server is not
 * draining; a 503 takes the pod out of the Service's endpoints, so the API server stops calling it.
 */
export function healthRoutes(state: ServingState): Array<[string, () => RouteAnswer]> {
  return [
    ['/livez', () => ({ status: 200, json: { status: 'ok' } })],
    [
      '/readyz',
      () => {
        const reasons = state.notReadyReasons();
        return reasons.length > 0 ? { status: 503, json: { status: 'not ready', reasons } } : { status: 200, json: { status: 'ready' } };
      },
    ],
  ];
}
