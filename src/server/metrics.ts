import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric the server exports, on a Registry of its own (never prom-client's global one). */
export interface ServerMetrics {
  registry: Registry;
  requests: Counter<'webhook' | 'operation' | 'kind' | 'mode' | 'allowed'>;
  dryRunRequests: Counter<'webhook' | 'operation' | 'kind' | 'mode' | 'allowed'>;
  duration: Histogram<'webhook'>;
  findings: Counter<'rule' | 'severity'>;
  denials: Counter<'rule'>;
  migrations: Counter<'kind' | 'result'>;
  exemptions: Counter<'rule' | 'source'>;
  ruleErrors: Counter<'rule'>;
  failedOpen: Counter<'webhook'>;
  invalidReviews: Counter<'webhook'>;
  policyReloads: Counter<'result'>;
  certificateReloads: Counter<'result'>;
  certificateExpiry: Gauge;
}

export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'podpatterns_admission_requests_total',
      help: 'Admission requests answered (dry-run requests excluded), by webhook, operation, object kind, mode and verdict.',
      labelNames: ['webhook', 'operation', 'kind', 'mode', 'allowed'],
      registers,
    }),
    dryRunRequests: new Counter({
      name: 'podpatterns_admission_dry_run_requests_total',
      help: 'Dry-run admission requests (kubectl --dry-run=server): answered like the others, never counted as admissions.',
      labelNames: ['webhook', 'operation', 'kind', 'mode', 'allowed'],
      registers,
    }),
    duration: new Histogram({
      name: 'podpatterns_admission_duration_seconds',
      help: 'Time to answer an admission request, from parsed body to response (dry runs included).',
      labelNames: ['webhook'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    findings: new Counter({
      name: 'podpatterns_findings_total',
      help: 'Findings on admitted or denied objects (dry runs excluded), by rule and configured severity.',
      labelNames: ['rule', 'severity'],
      registers,
    }),
    denials: new Counter({
      name: 'podpatterns_denials_total',
      help: 'Objects rejected (dry runs excluded), counted once for each rule whose finding rejected them.',
      labelNames: ['rule'],
      registers,
    }),
    migrations: new Counter({
      name: 'podpatterns_migrations_total',
      help: 'Objects the /mutate webhook changed (result=patched) or, in a dry run of the migration, would have changed (result=dry-run); dry-run requests excluded.',
      labelNames: ['kind', 'result'],
      registers,
    }),
    exemptions: new Counter({
      name: 'podpatterns_exemptions_total',
      help: 'Findings an exemption suppressed in real admissions (dry runs excluded), by rule and source (policy: the policy file\'s exemptions.list; annotation: podpatterns.io/ignore).',
      labelNames: ['rule', 'source'],
      registers,
    }),
    ruleErrors: new Counter({
      name: 'podpatterns_rule_errors_total',
      help: 'Rules that threw while evaluating an object; the request was then allowed (fail open).',
      labelNames: ['rule'],
      registers,
    }),
    failedOpen: new Counter({
      name: 'podpatterns_admission_failed_open_total',
      help: 'Requests allowed unchecked because evaluation failed.',
      labelNames: ['webhook'],
      registers,
    }),
    invalidReviews: new Counter({
      name: 'podpatterns_admission_invalid_reviews_total',
      help: 'Request bodies answered with HTTP 400 (not an AdmissionReview podpatterns can answer).',
      labelNames: ['webhook'],
      registers,
    }),
    policyReloads: new Counter({
      name: 'podpatterns_policy_reloads_total',
      help: 'Policy file changes seen; result=failure means the change was invalid and the last good policy was kept.',
      labelNames: ['result'],
      registers,
    }),
    certificateReloads: new Counter({
      name: 'podpatterns_certificate_reloads_total',
      help: 'Serving certificate changes seen; result=failure means the change was invalid and the last good certificate was kept.',
      labelNames: ['result'],
      registers,
    }),
    certificateExpiry: new Gauge({
      name: 'podpatterns_certificate_expiry_timestamp_seconds',
      help: 'When the serving certificate in use expires (Unix time).',
      registers,
    }),
  };
}

/**
 * Bounds the values a label takes from request input (an object's kind comes from the client): the first
 * `limit` distinct values are kept, the rest become `other`, so a stray client cannot grow the series forever.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(private readonly limit: number) {}

  value(raw: string): string {
    if (this.seen.has(raw)) return raw;
    if (this.seen.size >= this.limit) return 'other';
    this.seen.add(raw);
    return raw;
  }
}
