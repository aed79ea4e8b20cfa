import type { ExemptedFinding, Finding } from '../engine/types.js';
import type { ErrorCode } from '../errors.js';
import type { ResourceRef } from '../model/pod.js';
import type { Exemption } from '../engine/exemptions.js';

/** A finding with the file and line of the field it is about. */
export interface LocatedFinding extends Finding {
  file: string;
  /** Absent for objects read from a cluster (`file` is then `cluster://<namespace>/<kind>/<name>`). */
  line?: number;
}

/** Something that could not be checked: an unreadable path, a broken document, or a rule that failed. */
export interface AuditError {
  file: string;
  line?: number;
  code?: ErrorCode;
  /** The rule that failed, for rule errors. */
  rule?: string;
  resource?: ResourceRef;
  message: string;
}

/** A finding an exemption suppressed, with the file and line of the field it is about. */
export interface LocatedExemptedFinding extends ExemptedFinding {
  file: string;
  line?: number;
}

/** What an audit of files or of a cluster found: what every renderer reads. */
export interface AuditReport {
  findings: LocatedFinding[];
  errors: AuditError[];
  /** Findings exempted by the policy or by an annotation it honours: every exemption used. */
  exempted: LocatedExemptedFinding[];
  /** Policy exemptions past their last day: they no longer apply, and whoever owns the policy should know. */
  expiredExemptions: Exemption[];
  /** Sources read. */
  files: number;
  /** Non-empty documents parsed. */
  documents: number;
  /** Objects checked, the items of Lists counted one by one. */
  resources: number;
}
