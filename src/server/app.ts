import type { Http2SecureServer, Http2ServerRequest, Http2ServerResponse, ServerHttp2Session } from 'node:http2';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { admissionRoutes, type AdmissionListener, type AdmissionRoutesOptions } from './admission-routes.js';
import { healthRoutes } from './health.js';
import { metricsRoutes } from './metrics-routes.js';
import type { ServerMetrics } from './metrics.js';
import type { ServingState } from './state.js';

/** The largest AdmissionReview accepted; the API server itself refuses requests over 3 MiB. */
export const BODY_LIMIT = 10 * 1024 * 1024;

export type WebhookApp = FastifyInstance<Http2SecureServer>;

/**
 * No route declares a schema, so fastify's default compilers (ajv and fast-json-stringify: about 120 modules,
 * memory every replica pays) are never loaded. A route that adds a schema fails at start-up, never unchecked.
 */
const WITHOUT_SCHEMAS = { compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas } };

function noSchemas(): never {
  throw new Error('podpatterns routes declare no schemas: give fastify a validator and serializer compiler before adding one');
}

/** How long an idle connection is kept: the API server keeps its own idle for up to 90 s (Go's IdleConnTimeout). */
const IDLE_TIMEOUT_MS = 120_000;

/**
 * The HTTPS app: admission webhooks and health, over HTTP/2 and HTTP/1.1 (chosen by ALPN). The API server asks for
 * HTTP/2 when the webhook's URL is a loopback address and for HTTP/1.1 otherwise (k8s.io/apiserver
 * pkg/util/webhook/client.go, isLocalHost): one multiplexed connection instead of a pool.
 */
export function buildWebhookApp(tls: SecureContextOptions, routes: Omit<AdmissionRoutesOptions, 'bodyLimit'>): WebhookApp {
  const app = Fastify({
    http2: true,
    https: { ...tls, allowHTTP1: true },
    http2SessionTimeout: IDLE_TIMEOUT_MS,
    loggerInstance: routes.logger,
    // One line per admission comes from the routes; fastify's two lines per request would double it.
    logController: new LogController({ disableRequestLogging: true }),
    // Admission lines carry the uid; a child logger per request (with a request id) would only cost time.
    childLoggerFactory: (logger) => logger,
    bodyLimit: BODY_LIMIT,
    schemaController: WITHOUT_SCHEMAS,
    // In-flight requests on kept-alive connections finish normally while closing (with Connection: close).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  }) as unknown as WebhookApp;
  // Fastify sets these on an HTTP/1.1 server only; the HTTP/2 server applies them to its HTTP/1.1 connections.
  // Closing an idle connection sooner than the API server would races its next request on a dying connection,
  // and a POST is never retried.
  Object.assign(app.server, { keepAliveTimeout: IDLE_TIMEOUT_MS, requestTimeout: 60_000 });
  trackConnections(app.server);
  serveAdmissionsFirst(app.server, admissionRoutes({ ...routes, bodyLimit: BODY_LIMIT }));
  answerErrorsAsJson(app, routes.logger);
  // While draining, every answer asks the client to drop its connection: the API server then opens a new one
  // (to a ready replica) for its next call, instead of reusing one that is about to be closed under it.
  // HTTP/2 has no Connection header: its connection is closed with a GOAWAY, after the streams in flight.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (routes.state.draining) {
      if (request.raw.httpVersionMajor === 2) (request.raw as Http2ServerRequest).stream.session?.close();
      else reply.header('connection', 'close');
    }
    done(null, payload);
  });
  void app.register(healthRoutes, { state: routes.state });
  return app;
}

/** Admissions are answered by `admissions` straight from the request event; every other request goes on to fastify. */
function serveAdmissionsFirst(server: Http2SecureServer, admissions: AdmissionListener): void {
  const [fastify] = server.listeners('request') as Array<(request: Http2ServerRequest, response: Http2ServerResponse) => void>;
  if (fastify === undefined) throw new Error('fastify did not listen for requests on its server');
  server.removeListener('request', fastify);
  server.on('request', (request, response) => {
    if (!admissions(request, response)) fastify(request, response);
  });
}

const connections = new WeakMap<Http2SecureServer, { sockets: Set<TLSSocket>; sessions: Set<ServerHttp2Session> }>();

function trackConnections(server: Http2SecureServer): void {
  const open = { sockets: new Set<TLSSocket>(), sessions: new Set<ServerHttp2Session>() };
  connections.set(server, open);
  server.on('secureConnection', (socket: TLSSocket) => {
    // An HTTP/2 server leaves Nagle's algorithm on (an HTTPS server turns it off): an answer written as more than
    // one segment (an HTTP/2 HEADERS then DATA frame, a large review) would wait for the client's delayed ACK.
    socket.setNoDelay(true);
    open.sockets.add(socket);
    socket.once('close', () => open.sockets.delete(socket));
  });
  server.on('session', (session: ServerHttp2Session) => {
    open.sessions.add(session);
    session.once('close', () => open.sessions.delete(session));
  });
}

/**
 * Asks every HTTP/2 client to reconnect (GOAWAY; requests in flight finish), after a certificate change: the API
 * server otherwise keeps its one connection, and the certificate of its handshake, for as long as it sends.
 * HTTP/1.1 clients open new connections as their pool grows and drop idle ones.
 */
export function reconnectHttp2Clients(app: WebhookApp): void {
  for (const session of connections.get(app.server)?.sessions ?? []) session.close();
}

/** Closes every connection of the app at once, busy or not, HTTP/2 or HTTP/1.1 (the HTTP/2 server has no closeAllConnections). */
export function closeAllConnections(app: WebhookApp): void {
  for (const socket of connections.get(app.server)?.sockets ?? []) socket.destroy();
}

/** The plain-HTTP app on the metrics port: `/metrics` and the same health endpoints. */
export function buildMetricsApp(options: { metrics: ServerMetrics; state: ServingState; logger: Logger }): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    schemaController: WITHOUT_SCHEMAS,
    forceCloseConnections: true,
  }) as unknown as FastifyInstance;
  answerErrorsAsJson(app, options.logger);
  void app.register(healthRoutes, { state: options.state });
  void app.register(metricsRoutes, { registry: options.metrics.registry });
  return app;
}

/** Errors before a handler runs (unreadable body, too large, bad Content-Length) as JSON with a message. */
function answerErrorsAsJson(app: WebhookApp | FastifyInstance, logger: Logger): void {
  (app as FastifyInstance).setErrorHandler(async (error: FastifyError, request, reply) => {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) logger.error({ err: error.message, url: request.url.slice(0, 200) }, 'unexpected error');
    return reply.code(status).send({ code: error.code ?? 'PODPATTERNS_ERR_UNEXPECTED', message: error.message });
  });
  (app as FastifyInstance).setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      code: 'PODPATTERNS_ERR_NOT_FOUND',
      message: `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}: podpatterns serves POST /validate, POST /mutate, GET /livez, GET /readyz and, on the metrics port, GET /metrics`,
    }),
  );
}
