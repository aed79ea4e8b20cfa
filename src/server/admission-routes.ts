import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { validateRequest, type AdmissionResult } from '../admission/admit.js';
import { parseMode, type AdmissionMode } from '../admission/mode.js';
import { mutateRequest, type MutationStep } from '../admission/mutate.js';
import { allowed, reviewResponse, withWarnings } from '../admission/response.js';
import { decodeAdmissionReview, InvalidReviewError, type AdmissionRequest, type AdmissionReviewRequest } from '../admission/review.js';
import type { ClusterVersions } from './version-tracker.js';
import type { Rule } from '../engine/types.js';
import { errorMessage } from '../errors.js';
import { BoundedLabel, type ServerMetrics } from './metrics.js';
import type { ServingState } from './state.js';

export interface AdmissionRoutesOptions {
  state: ServingState;
  metrics: ServerMetrics;
  versions: () => ClusterVersions;
  rules: readonly Rule[];
  /** The rules `/validate` runs, when not all of them (`--skip-rules`); `/mutate` always has every rule to pick from. */
  validateRules?: readonly Rule[];
  mutation?: MutationStep;
  logger: Logger;
}

type Webhook = 'validate' | 'mutate';

/** `POST /validate` and `POST /mutate`: AdmissionReview in, AdmissionReview out, the uid echoed on every answer. */
export async function admissionRoutes(app: FastifyInstance, options: AdmissionRoutesOptions): Promise<void> {
  const kinds = new BoundedLabel(64);
  // Bodies are JSON whatever the header says: a missing or unparsable content type gets the same clear 400
  // as any other body that is not an AdmissionReview, instead of fastify's 415.
  app.addHook('onRequest', (request, _reply, done) => {
    request.raw.headers['content-type'] = 'application/json';
    done();
  });
  const answer = async (webhook: Webhook, request: FastifyRequest, reply: FastifyReply) => {
    const started = performance.now();
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
    const result = await admit(webhook, review.request, mode, options);
    const seconds = (performance.now() - started) / 1000;
    count(webhook, review.request, mode, result, seconds, options.metrics, kinds);
    log(webhook, review.request, mode, result, seconds, options.logger);
    return reply.send(reviewResponse(review.apiVersion, review.request.uid, result.response));
  };
  app.post('/validate', (request, reply) => answer('validate', request, reply));
  app.post('/validate/:mode', (request, reply) => answer('validate', request, reply));
  app.post('/mutate', (request, reply) => answer('mutate', request, reply));
  app.post('/mutate/:mode', (request, reply) => answer('mutate', request, reply));
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

async function admit(webhook: Webhook, request: AdmissionRequest, mode: AdmissionMode, options: AdmissionRoutesOptions): Promise<AdmissionResult> {
  const { state, rules, mutation } = options;
  try {
    if (state.policy === undefined) throw new Error('no policy loaded');
    const settings = { rules, policy: state.policy, versions: options.versions(), mode };
    return webhook === 'validate'
      ? validateRequest(request, { ...settings, rules: options.validateRules ?? rules })
      : await mutateRequest(request, { ...settings, ...(mutation && { mutation }) });
  } catch (error) {
    // validateRequest and mutateRequest fail open themselves; this is the net under that net.
    const failure = `unexpected error: ${errorMessage(error)}`;
    const response = mode === 'audit' ? allowed() : withWarnings(allowed(), `podpatterns could not check this object and admitted it unchecked: ${failure}`);
    return { response, decision: { allowed: true, denials: [], warnings: [], ratcheted: [], findings: [] }, ruleErrors: [], exempted: [], failure };
  }
}

function count(
  webhook: Webhook,
  request: AdmissionRequest,
  mode: AdmissionMode,
  result: AdmissionResult,
  seconds: number,
  metrics: ServerMetrics,
  kinds: BoundedLabel,
): void {
  const { decision, response } = result;
  const labels = { webhook, operation: request.operation, kind: kinds.value(request.kind.kind), mode, allowed: String(response.allowed) };
  metrics.duration.observe({ webhook }, seconds);
  for (const error of result.ruleErrors) metrics.ruleErrors.inc({ rule: error.rule });
  if (result.failure !== undefined) metrics.failedOpen.inc({ webhook });
  // A dry run admits nothing: it must not show up as an admission or its findings (sideEffects: None).
  if (request.dryRun) {
    metrics.dryRunRequests.inc(labels);
  } else {
    metrics.requests.inc(labels);
    for (const finding of decision.findings) metrics.findings.inc({ rule: finding.rule, severity: finding.severity });
    for (const finding of result.exempted) metrics.exemptions.inc({ rule: finding.rule, source: finding.exemption.source });
    if (!response.allowed) for (const rule of new Set(decision.denials.map((finding) => finding.rule))) metrics.denials.inc({ rule });
    if (result.mutation !== undefined) metrics.migrations.inc({ kind: labels.kind, result: result.mutation });
  }
}

/**
 * One line per admission: debug when nothing is wrong, info for a denial (or one the mode let through) or an
 * exemption used, error on a failure.
 */
function log(webhook: Webhook, request: AdmissionRequest, mode: AdmissionMode, result: AdmissionResult, seconds: number, logger: Logger): void {
  const { decision, response } = result;
  const wouldDeny = decision.findings.filter((finding) => finding.severity === 'deny' && !decision.ratcheted.includes(finding));
  const quiet = result.failure === undefined && response.allowed && wouldDeny.length === 0 && result.exempted.length === 0;
  if (quiet && !logger.isLevelEnabled('debug')) return;
  const fields = {
    uid: request.uid,
    webhook,
    operation: request.operation,
    kind: request.kind.kind,
    namespace: request.namespace,
    name: request.name,
    mode,
    dryRun: request.dryRun,
    allowed: response.allowed,
    rules: [...new Set(decision.findings.map((finding) => finding.rule))],
    durationMs: Math.round(seconds * 100_000) / 100,
    ...(result.exempted.length > 0 && {
      exempted: result.exempted.map(({ rule, exemption }) => ({ rule, source: exemption.source, reason: exemption.reason ?? null, ...(exemption.entry !== undefined && { exemption: exemption.entry }) })),
    }),
  };
  if (result.failure !== undefined) {
    logger.error({ ...fields, err: result.failure }, 'admitted unchecked: evaluation failed');
  } else if (!response.allowed) {
    logger.info({ ...fields, denied: decision.denials.map((finding) => finding.rule) }, 'denied');
  } else if (wouldDeny.length > 0) {
    logger.info({ ...fields, wouldDeny: wouldDeny.map((finding) => finding.rule) }, `admitted in ${mode} mode; enforce mode would deny`);
  } else if (result.exempted.length > 0) {
    logger.info(fields, 'admitted with exemptions');
  } else {
    logger.debug(fields, 'admitted');
  }
}
