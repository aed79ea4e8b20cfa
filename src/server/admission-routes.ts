import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { failOpen, UNEXPECTED_ERROR } from '../admission/fail-open.js';
import type { AdmissionHandler, AdmissionSettings } from '../admission/handler.js';
import { parseMode, type AdmissionMode } from '../admission/mode.js';
import { reviewResponse } from '../admission/response.js';
import { decodeAdmissionReview, InvalidReviewError, type AdmissionReviewRequest } from '../admission/review.js';
import type { WebhookName } from '../admission/webhooks.js';
import { errorMessage } from '../errors.js';
import { withLogging } from './admission-log.js';
import { withMetrics } from './admission-metrics.js';
import { BoundedLabel, type ServerMetrics } from './metrics.js';

export interface AdmissionRoutesOptions {
  handlers: Readonly<Record<WebhookName, AdmissionHandler>>;
  /** The policy and cluster versions in force now, under the URL's mode. */
  settings: (mode: AdmissionMode) => AdmissionSettings;
  metrics: ServerMetrics;
  logger: Logger;
}

/** `POST /validate` and `POST /mutate`: AdmissionReview in, AdmissionReview out, the uid echoed on every answer. */
export async function admissionRoutes(app: FastifyInstance, options: AdmissionRoutesOptions): Promise<void> {
  const kinds = new BoundedLabel(64);
  // Bodies are JSON whatever the header says: a missing or unparsable content type gets the same clear 400
  // as any other body that is not an AdmissionReview, instead of fastify's 415.
  app.addHook('onRequest', (request, _reply, done) => {
    request.raw.headers['content-type'] = 'application/json';
    done();
  });
  const route = (webhook: WebhookName) => {
    // The net under each handler's own fail-open, then what every answer is counted and logged by.
    const handler = withLogging(withMetrics(failOpen(options.handlers[webhook], UNEXPECTED_ERROR), webhook, options.metrics, kinds), webhook, options.logger);
    return async (request: FastifyRequest, reply: FastifyReply) => {
      let review: AdmissionReviewRequest;
      let mode: AdmissionMode;
      try {
        mode = parseMode(modeOf(request));
        review = decodeAdmissionReview(request.body);
      } catch (error) {
        options.metrics.invalidReviews.inc({ webhook });
        const uid = error instanceof InvalidReviewError ? error.uid : undefined;
        options.logger.info({ webhook, uid, err: errorMessage(error) }, 'invalid AdmissionReview');
        return reply.code(400).send({ code: 'PODPATTERNS_ERR_REVIEW_INVALID', message: errorMessage(error), ...(uid !== undefined && { uid }) });
      }
      const result = await handler(review.request, options.settings(mode));
      return reply.send(reviewResponse(review.apiVersion, review.request.uid, result.response));
    };
  };
  for (const webhook of ['validate', 'mutate'] as const) {
    const answer = route(webhook);
    app.post(`/${webhook}`, answer);
    app.post(`/${webhook}/:mode`, answer);
  }
}

/**
 * The mode travels in the path (`/validate/enforce`) because the API server rejects query strings in a
 * webhook's `url` and non-DNS-1123 segments in `service.path` (k8s.io/apiserver pkg/util/webhook/validation.go);
 * `?mode=` is kept for hand-made requests. The API server adds its own `?timeout=` query, which is ignored.
 */
function modeOf(request: FastifyRequest): unknown {
  const fromPath = (request.params as Record<string, unknown> | undefined)?.mode;
  return fromPath ?? (request.query as Record<string, unknown> | undefined)?.mode;
}
