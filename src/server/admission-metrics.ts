import { afterAnswer, type AdmissionHandler } from '../admission/handler.js';
import type { WebhookName } from '../admission/webhooks.js';
import { BoundedLabel, type ServerMetrics } from './metrics.js';

/**
 * Counts every answer of `handler`: its duration, verdict, findings, exemptions, rule errors and fail-open
 * admissions. A dry run admits nothing: it is counted apart and its findings are not (sideEffects: None).
 */
export function withMetrics(handler: AdmissionHandler, webhook: WebhookName, metrics: ServerMetrics, kinds = new BoundedLabel(64)): AdmissionHandler {
  return (request, settings) => {
    const started = performance.now();
    return afterAnswer(handler(request, settings), (result) => {
      metrics.duration.observe({ webhook }, (performance.now() - started) / 1000);
      const labels = { webhook, operation: request.operation, kind: kinds.value(request.kind.kind), mode: settings.mode, allowed: String(result.response.allowed) };
      for (const error of result.ruleErrors) metrics.ruleErrors.inc({ rule: error.rule });
      if (result.failure !== undefined) metrics.failedOpen.inc({ webhook });
      if (request.dryRun) {
        metrics.dryRunRequests.inc(labels);
      } else {
        metrics.requests.inc(labels);
        for (const finding of result.decision.findings) metrics.findings.inc({ rule: finding.rule, severity: finding.severity });
        for (const finding of result.exempted) metrics.exemptions.inc({ rule: finding.rule, source: finding.exemption.source });
        if (!result.response.allowed) for (const rule of new Set(result.decision.denials.map((finding) => finding.rule))) metrics.denials.inc({ rule });
        if (result.mutation !== undefined) metrics.migrations.inc({ kind: labels.kind, result: result.mutation });
      }
      return result;
    });
  };
}
