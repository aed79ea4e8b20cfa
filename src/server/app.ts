import type { Server } from 'node:http';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { nodeHttp } from '../node-http.js';
import { admissionRoutes, type AdmissionRoutesOptions } from './admission-routes.js';
import { healthRoutes } from './health.js';
import { metricsRoutes } from './metrics-routes.js';
import type { ServerMetrics } from './metrics.js';
import { getRoutes, type RouteAnswer } from './routes.js';
import type { ServingState } from './state.js';

/** The largest AdmissionReview accepted; the API server itself refuses requests over 3 MiB. */
export const BODY_LIMIT = 10 * 1024 * 1024;

/** A server of podpatterns: listens once, closes once. */
export interface App<S extends Server | Http2SecureServer> {
  readonly server: S;
  listen(host: string, port: number): Promise<void>;
  /** Stops accepting; resolves when every connection is closed (see each builder for what it does to them). */
  close(): Promise<void>;
}

export type WebhookApp = App<Http2SecureServer>;
export type MetricsApp = App<Server>;

/** How long an idle connection is kept: the API server keeps its own idle for up to 90 s (Go's IdleConnTimeout). */
const IDLE_TIMEOUT_MS = 120_000;

/**
 * The HTTPS app: admission webhooks and health, over HTTP/2 and HTTP/1.1 (chosen by ALPN). The API server asks for
 * HTTP/2 when the webhook's URL is a loopback address and for HTTP/1.1 otherwise (k8s.io/apiserver
 * pkg/util/webhook/client.go, isLocalHost): one multiplexed connection instead of a pool.
 *
 * Plain node:http2: admissions are answered straight from the request event, and health is two GET routes, so a
 * web framework would only add memory (about 8 MiB of a server that should stay under 100) and a layer to every
 * request. Closing stops accepting and lets requests in flight finish: idle HTTP/1.1 connections are closed, and
 * HTTP/2 clients get a GOAWAY after their streams (node:http2's own close).
 */
export function buildWebhookApp(tls: SecureContextOptions, routes: Omit<AdmissionRoutesOptions, 'bodyLimit'>): WebhookApp {
  const admissions = admissionRoutes({ ...routes, bodyLimit: BODY_LIMIT });
  const others = getRoutes(new Map(healthRoutes(routes.state)), routes);
  const server = createSecureServer({ ...tls, allowHTTP1: true }, (request, response) => {
    if (!admissions(request, response)) others(request, response);
  });
  // An HTTPS server's defaults, which the HTTP/2 server applies to its HTTP/1.1 connections. Closing an idle
  // connection sooner than the API server would races its next request on a dying connection, and a POST is
  // never retried.
  Object.assign(server, { keepAliveTimeout: IDLE_TIMEOUT_MS, requestTimeout: 60_000 });
  server.on('session', (session: ServerHttp2Session) => session.setTimeout(IDLE_TIMEOUT_MS, () => session.close()));
  trackConnections(server);
  return app(server);
}

/** The plain-HTTP app on the metrics port: `/metrics` and the same health endpoints; closing drops its connections. */
export function buildMetricsApp(options: { metrics: ServerMetrics; state: ServingState; logger: Logger }): MetricsApp {
  const routes = getRoutes(new Map<string, () => RouteAnswer | Promise<RouteAnswer>>([...healthRoutes(options.state), ...metricsRoutes(options.metrics.registry)]), options);
  const server = nodeHttp().createServer(routes);
  const closing = app(server);
  return {
    ...closing,
    close: () => {
      server.closeAllConnections();
      return closing.close();
    },
  };
}

function app<S extends Server | Http2SecureServer>(server: S): App<S> {
  return {
    server,
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        const failed = (error: Error) => {
          server.off('listening', listening);
          reject(error);
        };
        const listening = () => {
          server.off('error', failed);
          resolve();
        };
        server.once('error', failed).once('listening', listening).listen({ host, port });
      }),
    // A server that never listened has nothing to close (ERR_SERVER_NOT_RUNNING): closed all the same.
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
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
