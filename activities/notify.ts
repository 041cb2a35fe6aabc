/**
 * Notices: what the engine tells people about an incident, and where. The
 * engine sends them through the `notify` activity in order, one at a time;
 * Slack (when configured) turns them into an incident channel, approval
 * requests with buttons, escalations and a live timeline thread; otherwise the
 * log gets them and the CLI answers the gates.
 */

/** The incident a notice is about, as people should see it on every message. */
export interface NoticeIncident {
  incidentId: string;
  title: string;
  runbook: string;
  severity: 'info' | 'low' | 'medium' | 'high' | 'critical';
  /** The alert's or the requester's summary: untrusted text. */
  summary: string;
  mode: 'live' | 'dry-run';
  /** A drill: nothing real is touched; every message says so. */
  drill: boolean;
  requester: string;
  /** What the incident acts on, `kind:id`. */
  targets: string[];
  /** Everyone who may approve any of its steps (groups expanded): invited to its channel. */
  responders: string[];
}

/** A Slack message (or any posted notice) that a later notice refers to. */
export interface NoticeReceipt {
  channel: string;
  ts: string;
}

/** One vote, as the gate recorded it. */
export interface NoticeVote {
  actor: string;
  decision: 'approve' | 'deny';
  reason?: string;
  at: string;
}

/** A timeline event as the engine records it (workflows/engine/timeline.ts `TimelineEvent`). */
export interface NoticeEvent {
  id: string;
  seq: number;
  type: string;
  at: string;
  step?: string;
  actor?: string;
  data: object;
}

interface NoticeBase {
  incidentId: string;
  incident: NoticeIncident;
  /** The incident's channel and pinned summary, once `incident-opened` has created them. */
  room?: NoticeReceipt;
  /** Sent again after a round of retries ran out: an earlier attempt may have posted it already. */
  redelivery?: boolean;
}

/** The incident was opened: create its room (channel, invites, pinned summary). Answer with the summary message. */
export interface IncidentOpenedNotice extends NoticeBase {
  kind: 'incident-opened';
}

/** A gate opened: ask its approvers. Answer with the request message, so its outcome can be shown on it. */
export interface ApprovalRequestedNotice extends NoticeBase {
  kind: 'approval-requested';
  step: string;
  /** What the step does, from the policy. */
  description: string;
  /** The `approval.requested` timeline event's id: names this opening of the gate (a gate can open again after a rollback). */
  requestId: string;
  /** Principals who may approve (groups expanded). */
  to: string[];
  required: number;
  twoPerson: boolean;
  deadline: string;
  /** Evidence sealed so far. */
  evidence: { name: string; sha256: string }[];
}

/** A gate's votes or outcome changed: show it on the request message. */
export interface ApprovalUpdatedNotice extends NoticeBase {
  kind: 'approval-updated';
  step: string;
  requestId: string;
  /** The request as it was posted, so the message can be redrawn with the outcome. */
  request: ApprovalRequestedNotice;
  message: NoticeReceipt;
  status: 'awaiting-approval' | 'approved' | 'denied';
  required: number;
  approvals: NoticeVote[];
  denial?: NoticeVote;
  settledBy?: 'votes' | 'timeout-deny' | 'timeout-proceed' | 'rolled-back';
}

/** A gate timed out and the policy escalates: tell `to` (principals or channels). */
export interface EscalationNotice extends NoticeBase {
  kind: 'escalation';
  step: string;
  /** Principals (slack:…, group:…, cli:…) or Slack channels (#…, C…). */
  to: string[];
  deadline: string;
}

/** Timeline events recorded since the last batch: post them in the room's thread. */
export interface TimelineNotice extends NoticeBase {
  kind: 'timeline';
  events: NoticeEvent[];
}

export type Notice = IncidentOpenedNotice | ApprovalRequestedNotice | ApprovalUpdatedNotice | EscalationNotice | TimelineNotice;

/**
 * Delivers notices: Slack when configured; otherwise the log (the CLI shows
 * pending approvals). Answers with the message it posted when a later notice
 * may refer to it (the room, an approval request), or nothing.
 */
export interface Notifier {
  send(notice: Notice): Promise<NoticeReceipt | void>;
}

export function createNotifyActivities(deps: { notifier: Notifier }) {
  return {
    async notify(notice: Notice): Promise<NoticeReceipt | undefined> {
      return (await deps.notifier.send(notice)) ?? undefined;
    },
  };
}
