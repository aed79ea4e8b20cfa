import type { Logger } from 'pino';
import { send, sendUnexpected, type Request, type Response } from './reply.js';
import type { ServingState } from './state.js';

/** What a GET route answers: a status and a JSON body, or text of its own content type. */
export type RouteAnswer = { status: number; json: unknown } | { status: number; text: string; contentType: string };

/** GET routes by path. */
export type Routes = ReadonlyMap<string, () => RouteAnswer | Promise<RouteAnswer>>;

/** Everything both servers serve, for the 404 that lists it. */
const SERVED = 'podpatterns serves POST /validate, POST /mutate, GET /livez, GET /readyz and, on the metrics port, GET /metrics';

/**
 * The few GET routes besides admissions (health, metrics), HEAD with them; any other request gets a 404 that says
 * what is served, and a route that throws a 500, both as JSON with a code and a message.
 */
export function getRoutes(routes: Routes, options: { state: ServingState; logger: Logger }): (request: Request, response: Response) => void {
  const { state, logger } = options;
  const json = (request: Request, response: Response, status: number, body: unknown) => send(state, request, response, status, JSON.stringify(body));
  return (request, response) => {
    const url = request.url ?? '';
    const path = url.split('?')[0]!;
    const route = request.method === 'GET' || request.method === 'HEAD' ? routes.get(path) : undefined;
    if (route === undefined) {
      return json(request, response, 404, { code: 'PODPATTERNS_ERR_NOT_FOUND', message: `no route ${request.method} ${path.slice(0, 200)}: ${SERVED}` });
    }
    Promise.resolve()
      .then(route)
      .then(
        (answer) => ('json' in answer ? json(request, response, answer.status, answer.json) : send(state, request, response, answer.status, answer.text, answer.contentType)),
        (error: unknown) => sendUnexpected(state, logger, request, response, error),
      );
  };
}
