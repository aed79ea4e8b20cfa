import type { Policy } from '../policy/policy.js';

/** What the server needs before it can answer admissions, and whether it is going away. */
export class ServingState {
  /** The last good policy; swapped whole on a valid reload. */
  policy: Policy | undefined;
  certificateLoaded = false;
  /** Set on SIGTERM: still answering, but no longer ready, so the endpoint is taken out of the Service. */
  draining = false;

  get ready(): boolean {
    return this.notReadyReasons().length === 0;
  }

  notReadyReasons(): string[] {
    const reasons: string[] = [];
    if (this.policy === undefined) reasons.push('policy not loaded');
    if (!this.certificateLoaded) reasons.push('serving certificate not loaded');
    if (this.draining) reasons.push('shutting down');
    return reasons;
  }
}
