import type { Mode, Severity, TargetKind, TriggerSource } from '../../domain/vocabulary.ts';
import type { ApprovalGate, RunbookPolicy } from '../../src/runbooks/schema.ts';

export type { Mode } from '../../domain/vocabulary.ts';

/** What an incident acts on, named as a responder would name it. */
export interface Target {
  kind: TargetKind;
  /** Stable identifier, e.g. "demo-shop/storefront-7d9c-x7k2p" or an access key id. */
  id: string;
  /** Extra identifying details (cluster, account, region, …). */
  attributes?: Record<string, string>;
}

/** The alert (or human request) that started or joined an incident. */
export interface TriggerInfo {
  source: TriggerSource;
  /** The source's own id of the alert, when it has one. */
  alertId?: string;
  rule?: string;
  severity: Severity;
  summary: string;
  /** ISO time the alert was received by Firebreak. */
  receivedAt: string;
  /**
   * Steps whose gates this alert's auto-containment rules lift, when it joins
   * an open incident (a Critical escape after the Notice shell that opened it).
   */
  autoContainSteps?: string[];
}

/** Everything an incident workflow starts from; the policy travels here so history pins it. */
export interface IncidentInput {
  incidentId: string;
  policy: RunbookPolicy;
  /** Approver groups resolved at start: name → principals (slack:…, cli:…). */
  groups: Record<string, string[]>;
  /** Who asked for the incident: the principal barred from approving two-person steps. */
  requester: string;
  mode: Mode;
  trigger: TriggerInfo;
  targets: Target[];
  /** Steps whose gates an auto-containment rule lifted for this trigger (decided by the starter). */
  autoContainSteps?: string[];
  /**
   * Policies of the child runbooks this runbook may start (its catalog entry's
   * `children`), by workflow name: a child incident needs its own policy in
   * its input. The starter passes those it has loaded.
   */
  childPolicies?: Record<string, RunbookPolicy>;
  /**
   * Documents the starter brought (an OSV advisory file): small, read by the
   * runbook and sealed as evidence before anything changes.
   */
  documents?: IncidentDocument[];
  /**
   * A tabletop drill's incident (`firebreak drill run`): run by a drill worker
   * against a simulated world, marked as a drill on its timeline and every
   * notice; real workers refuse its activities.
   */
  drill?: { scenario: string };
}

export interface IncidentDocument {
  /** What it is, as the starter named it (the file name). */
  name: string;
  kind: 'osv-advisory';
  text: string;
}

export type StepStatus =
  | 'not-started'
  | 'awaiting-approval'
  | 'approved'
  | 'denied'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'skipped';

export interface Vote {
  actor: string;
  decision: 'approve' | 'deny';
  reason?: string;
  at: string;
}

/** A step's state, as the `status` query and the `decide` update return it. */
export interface StepState {
  id: string;
  status: StepStatus;
  gate: 'none' | 'auto' | ApprovalGate;
  approvals: Vote[];
  denial?: Vote;
  /** When the current wait for approval ends (ISO), while awaiting approval. */
  deadline?: string;
  escalated: boolean;
  /** How the gate was settled: by votes, by a timeout's policy, or lifted by auto-containment. */
  settledBy?: 'votes' | 'timeout-deny' | 'timeout-proceed' | 'auto-contain' | 'no-gate' | 'rolled-back';
}

export interface EvidenceRefSummary {
  name: string;
  sha256: string;
  bytes: number;
  uri: string;
}
