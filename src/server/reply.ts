import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { ServingState } from './state.js';

export type Request = IncomingMessage | Http2ServerRequest;
export type Response = ServerResponse | Http2ServerResponse;

export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Every answer of both servers goes out here. While draining it asks the client to drop its connection: the API
 * server then opens a new one (to a ready replica) for its next call, instead of reusing one that is about to be
 * closed under it. HTTP/2 has no Connection header: its connection is closed with a GOAWAY, after the streams in
 * flight. A HEAD request gets the headers alone.
 */
export function send(state: ServingState, request: Request, response: Response, status: number, body: string, contentType = JSON_TYPE): void {
  if (response.headersSent || response.destroyed) return;
  if (state.draining) {
    if (request.httpVersionMajor === 2) (request as Http2ServerRequest).stream.session?.close();
    else response.setHeader('connection', 'close');
  }
  (response as ServerResponse).writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  if (request.method === 'HEAD') response.end();
  else response.end(body);
}

/** A failure no answer was planned for: logged with the URL, and answered 500 with its code (PODPATTERNS_ERR_UNEXPECTED when it has none) and message. */
export function sendUnexpected(state: ServingState, logger: Logger, request: Request, response: Response, error: unknown): void {
  logger.error({ err: errorMessage(error), url: (request.url ?? '').slice(0, 200) }, 'unexpected error');
  const code = error instanceof Object ? (error as { code?: unknown }).code : undefined;
  send(state, request, response, 500, JSON.stringify({ code: code ?? 'PODPATTERNS_ERR_UNEXPECTED', message: errorMessage(error) }));
}
