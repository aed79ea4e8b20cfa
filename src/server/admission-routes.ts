import { parse as parseQuery } from 'node:querystring';
import type { Logger } from 'pino';
import { failOpen, UNEXPECTED_ERROR } from '../admission/fail-open.js';
import type { AdmissionHandler, AdmissionResult, AdmissionSettings } from '../admission/handler.js';
import { parseMode, type AdmissionMode } from '../admission/mode.js';
import { reviewResponse, type AdmissionResponse } from '../admission/response.js';
import { decodeAdmissionReview, InvalidReviewError, type AdmissionApiVersion, type AdmissionReviewRequest } from '../admission/review.js';
import type { WebhookName } from '../admission/webhooks.js';
import { errorMessage } from '../errors.js';
import { withLogging } from './admission-log.js';
import { withMetrics } from './admission-metrics.js';
import { BoundedLabel, type ServerMetrics } from './metrics.js';
import { send as sendAnswer, sendUnexpected, type Request, type Response } from './reply.js';
import type { ServingState } from './state.js';

export interface AdmissionRoutesOptions {
  handlers: Readonly<Record<WebhookName, AdmissionHandler>>;
  /** The policy and cluster versions in force now, under the URL's mode. */
  settings: (mode: AdmissionMode) => AdmissionSettings;
  metrics: ServerMetrics;
  logger: Logger;
  state: ServingState;
  /** The largest body accepted, in bytes. */
  bodyLimit: number;
}

/** Takes the request when it is an admission (true), or leaves it to the next listener (false). */
export type AdmissionListener = (request: Request, response: Response) => boolean;

/**
 * `POST /validate` and `POST /mutate`: AdmissionReview in, AdmissionReview out, the uid echoed on every answer.
 * Served straight from the server's request event, ahead of the other routes (health): a webhook answers thousands
 * of these a second, and nothing stands between the body and the rules but the parse.
 */
export function admissionRoutes(options: AdmissionRoutesOptions): AdmissionListener {
  const kinds = new BoundedLabel(64);
  // The net under each handler's own fail-open, then what every answer is counted and logged by.
  const handlers = {
    validate: withLogging(withMetrics(failOpen(options.handlers.validate, UNEXPECTED_ERROR), 'validate', options.metrics, kinds), 'validate', options.logger),
    mutate: withLogging(withMetrics(failOpen(options.handlers.mutate, UNEXPECTED_ERROR), 'mutate', options.metrics, kinds), 'mutate', options.logger),
  };
  const answer = (webhook: WebhookName, mode: unknown, request: Request, response: Response, body: string) => {
    let review: AdmissionReviewRequest;
    let admissionMode: AdmissionMode;
    try {
      const parsed = parseBody(body);
      admissionMode = parseMode(mode);
      review = decodeAdmissionReview(parsed);
    } catch (error) {
      if (error instanceof BadBodyError) return refuse(webhook, request, response, 400, 'PODPATTERNS_ERR_REVIEW_INVALID', error.message);
      if (!(error instanceof InvalidReviewError)) return unexpected(request, response, error);
      options.metrics.invalidReviews.inc({ webhook });
      options.logger.info({ webhook, uid: error.uid, err: error.message }, 'invalid AdmissionReview');
      return send(request, response, 400, JSON.stringify({ code: 'PODPATTERNS_ERR_REVIEW_INVALID', message: error.message, ...(error.uid !== undefined && { uid: error.uid }) }));
    }
    let settings: AdmissionSettings;
    try {
      settings = options.settings(admissionMode);
    } catch (error) {
      return unexpected(request, response, error);
    }
    // The rules answer at once: no promise or microtask between the body and the answer unless a handler needs one.
    const reply = (result: AdmissionResult) => {
      try {
        send(request, response, 200, serializeReview(review.apiVersion, review.request.uid, result.response));
      } catch (error) {
        unexpected(request, response, error);
      }
    };
    let answer: AdmissionResult | Promise<AdmissionResult>;
    try {
      answer = handlers[webhook](review.request, settings);
    } catch (error) {
      return unexpected(request, response, error);
    }
    if (answer instanceof Promise) answer.then(reply, (error: unknown) => unexpected(request, response, error));
    else reply(answer);
  };

  /** A body refused before it was parsed (too large, not what Content-Length said, unreadable): counted and logged. */
  const refuse = (webhook: WebhookName, request: Request, response: Response, status: number, code: string, message: string) => {
    options.metrics.invalidReviews.inc({ webhook });
    options.logger.info({ webhook, status, err: message }, 'invalid AdmissionReview');
    // The client may still be sending: an HTTP/1.1 connection is closed after the answer.
    if (request.httpVersionMajor !== 2) response.setHeader('connection', 'close');
    send(request, response, status, JSON.stringify({ code, message }));
  };

  const unexpected = (request: Request, response: Response, error: unknown) => sendUnexpected(options.state, options.logger, request, response, error);

  const send = (request: Request, response: Response, status: number, body: string) => sendAnswer(options.state, request, response, status, body);

  return (request, response) => {
    if (request.method !== 'POST') return false;
    const route = routeOf(request.url ?? '');
    if (route === undefined) return false;
    const { webhook, mode } = route;
    const limit = options.bodyLimit;
    const declared = Number(request.headers['content-length']);
    if (declared > limit) {
      drainBody(request, limit).then(() => refuse(webhook, request, response, 413, 'PODPATTERNS_ERR_REVIEW_TOO_LARGE', tooLarge(limit)), () => undefined);
      return true;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= limit) return void chunks.push(chunk);
      detach();
      chunks.length = 0;
      drainBody(request, limit).then(() => refuse(webhook, request, response, 413, 'PODPATTERNS_ERR_REVIEW_TOO_LARGE', tooLarge(limit)), () => undefined);
    };
    const onEnd = () => {
      detach();
      if (!Number.isNaN(declared) && received !== declared) {
        return refuse(webhook, request, response, 400, 'PODPATTERNS_ERR_REVIEW_INVALID', `the body is ${received} bytes, not the ${declared} its Content-Length says`);
      }
      answer(webhook, mode, request, response, chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, received).toString('utf8'));
    };
    const onError = (error: Error) => {
      detach();
      refuse(webhook, request, response, 400, 'PODPATTERNS_ERR_REVIEW_INVALID', `the body could not be read: ${error.message}`);
    };
    const detach = () => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    return true;
  };
}

const ROUTES: ReadonlyMap<string, WebhookName> = new Map([
  ['/validate', 'validate'],
  ['/mutate', 'mutate'],
]);

/**
 * `/validate`, `/validate/<mode>` and the same for `/mutate`. The mode travels in the path because the API server
 * rejects query strings in a webhook's `url` and non-DNS-1123 segments in `service.path` (k8s.io/apiserver
 * pkg/util/webhook/validation.go); `?mode=` is kept for hand-made requests. The API server adds its own `?timeout=`
 * query, which is ignored. Anything else (other paths, encoded characters) is left to the other routes (a 404).
 */
function routeOf(url: string): { webhook: WebhookName; mode: unknown } | undefined {
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const second = path.indexOf('/', 1);
  const webhook = ROUTES.get(second === -1 ? path : path.slice(0, second));
  if (webhook === undefined) return undefined;
  if (second !== -1) {
    const mode = path.slice(second + 1);
    if (mode.includes('/')) return undefined;
    if (!mode.includes('%')) return { webhook, mode };
    try {
      return { webhook, mode: decodeURIComponent(mode) };
    } catch {
      return undefined;
    }
  }
  return { webhook, mode: queryAt === -1 ? undefined : parseQuery(url.slice(queryAt + 1)).mode };
}

class BadBodyError extends Error {}

/** The body as JSON whatever the content type says: a wrong or missing header gets the same clear 400 as any other body that is not an AdmissionReview. */
function parseBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadBodyError(`the body is not valid JSON: ${errorMessage(error).slice(0, 200)}`);
  }
}

const ALLOWED_PREFIX: Readonly<Record<AdmissionApiVersion, string>> = {
  'admission.k8s.io/v1': '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":',
  'admission.k8s.io/v1beta1': '{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","response":{"uid":',
};
const ALLOWED_SUFFIX = ',"allowed":true}}';

/** The AdmissionReview answer as JSON; the common plain allowance is filled into a template (the uid JSON-escaped). */
export function serializeReview(apiVersion: AdmissionApiVersion, uid: string, response: AdmissionResponse): string {
  if (response.allowed && Object.keys(response).length === 1) return ALLOWED_PREFIX[apiVersion] + JSON.stringify(uid) + ALLOWED_SUFFIX;
  return JSON.stringify(reviewResponse(apiVersion, uid, response));
}

function tooLarge(limit: number): string {
  return `the body is larger than ${limit / 1024 / 1024} MiB`;
}

/** How much of a refused body is read (and dropped) before answering, at most, and for how long. */
const DRAIN_FACTOR = 4;
const DRAIN_TIMEOUT_MS = 2000;

/**
 * Reads and drops the rest of a refused body before the 413 goes out; the connection is closed after it. Closing
 * with unread data makes the kernel reset the connection, and the client, still writing, never sees the answer.
 */
function drainBody(request: Request, limit: number): Promise<void> {
  if (request.readableEnded || request.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let received = 0;
    const finish = () => {
      clearTimeout(timer);
      request.off('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > DRAIN_FACTOR * limit) finish();
    };
    const timer = setTimeout(finish, DRAIN_TIMEOUT_MS);
    request.on('data', onData).once('end', finish).once('close', finish).once('error', finish);
    request.resume();
  });
}
