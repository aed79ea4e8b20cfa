import type { Logger } from 'pino';
import { failOpenHeadline } from '../admission/fail-open.js';
import { afterAnswer, type AdmissionHandler } from '../admission/handler.js';
import type { WebhookName } from '../admission/webhooks.js';

/**
 * One line per answer of `handler`: debug when nothing is wrong, info for a denial (or one the mode let through)
 * or an exemption used, error on a failure (fail open, or a denial by what could still run).
 */
export function withLogging(handler: AdmissionHandler, webhook: WebhookName, logger: Logger): AdmissionHandler {
  return (request, settings) => {
    const started = performance.now();
    return afterAnswer(handler(request, settings), (result) => {
      const { decision, response } = result;
      const { mode } = settings;
      const wouldDeny = decision.findings.filter((finding) => finding.severity === 'deny' && !decision.ratcheted.includes(finding));
      const quiet = result.failure === undefined && response.allowed && wouldDeny.length === 0 && result.exempted.length === 0;
      if (quiet && !logger.isLevelEnabled('debug')) return result;
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
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        ...(result.exempted.length > 0 && {
          exempted: result.exempted.map(({ rule, exemption }) => ({ rule, source: exemption.source, reason: exemption.reason ?? null, ...(exemption.entry !== undefined && { exemption: exemption.entry }) })),
        }),
      };
      if (result.failure !== undefined) {
        const denied = !response.allowed && { denied: decision.denials.map((finding) => finding.rule) };
        logger.error({ ...fields, ...denied, err: result.failure }, denied ? 'denied, although part of the evaluation failed' : failOpenHeadline(result.undone ?? 'checks'));
      } else if (!response.allowed) {
        logger.info({ ...fields, denied: decision.denials.map((finding) => finding.rule) }, 'denied');
      } else if (wouldDeny.length > 0) {
        logger.info({ ...fields, wouldDeny: wouldDeny.map((finding) => finding.rule) }, `admitted in ${mode} mode; enforce mode would deny`);
      } else if (result.exempted.length > 0) {
        logger.info(fields, 'admitted with exemptions');
      } else {
        logger.debug(fields, 'admitted');
      }
      return result;
    });
  };
}
