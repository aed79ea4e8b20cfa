import type { FastifyInstance } from 'fastify';
import type { ServingState } from './state.js';

/**
 * `GET /livez`: the process answers. `GET /readyz`: policy and certificate are loaded and the server is not
 * draining; a 503 takes the pod out of the Service's endpoints, so the API server stops calling it.
 */
export async function healthRoutes(app: FastifyInstance, { state }: { state: ServingState }): Promise<void> {
  app.get('/livez', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const reasons = state.notReadyReasons();
    if (reasons.length > 0) return reply.code(503).send({ status: 'not ready', reasons });
    return { status: 'ready' };
  });
}
