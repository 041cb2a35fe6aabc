/**
 * An incident's key times, computed from its timeline alone: the same code
 * for a live incident's post-incident report and a drill's scorecard.
 */

export interface GateWait {
  step: string;
  /** When the request went out (ISO), when the gate settled (ISO, absent while open), and the wait in ms. */
  requestedAt: string;
  settledAt: string | null;
  waitMs: number | null;
  /** approve | deny | timeout-deny | timeout-proceed | auto-contain; null while open. */
  outcome: string | null;
  /** Who settled it (principals of the deciding votes), empty for a timeout. */
  decidedBy: string[];
  escalations: number;
  timedOut: boolean;
}

export interface IncidentMetrics {
  /** The first alert (or the start, for an incident a person opened), ISO. */
  detectedAt: string | null;
  /** The first human act on the incident (a vote, a rollback, a close), ISO. */
  acknowledgedAt: string | null;
  /** The first containment step (the catalog's `containment`) to finish with a change in force. */
  firstContainedAt: string | null;
  /** The last containment step to finish, once no containment step is still open, failed or denied. */
  fullyContainedAt: string | null;
  closedAt: string | null;
  /** Each of these from detectedAt, in ms. */
  timeToAcknowledge: number | null;
  timeToFirstContainment: number | null;
  timeToFullContainment: number | null;
  gates: GateWait[];
  /** The sum of every gate's wait, ms. */
  waitingOnApprovalMs: number;
}
