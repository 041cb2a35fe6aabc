// The incident's notices: its room (Slack channel and pinned summary), the
// approval requests and their votes, escalations, and the timeline fed to the
// room in batches. Every runbook gets them the same way, through one proxy of
// the `notify` activity with one retry policy.
import { ActivityFailure, condition, patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { ApprovalRequestedNotice, Notice, NoticeIncident, NoticeReceipt } from '../../activities/notify.ts';
import type { Gates, Notification } from './gates.ts';
import { describeFailure } from './saga.ts';
import type { Timeline } from './timeline.ts';
import type { IncidentInput, StepState } from './types.ts';
import { isDrill } from '../../domain/drills.ts';
import { expandGroups } from '../../domain/runbooks.ts';

/**
 * Activity options of `notify`, for every runbook: one round of retries
 * (Slack's Retry-After honoured through the failure's next-retry delay, at
 * most a minute apart otherwise) for up to five minutes. A round that runs out
 * while Slack is still failing is followed by another after `noticeRoundPause`
 * (`Notices.deliver`), until the notice is delivered or refused for good; a
 * refusal is recorded on the timeline and the incident goes on.
 */
export const noticeActivityOptions = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const;

/**
 * Between two rounds of a notice's retries: bounds how late a notice is once
 * Slack is back, and keeps a days-long outage to a few events an hour in history.
 */
export const noticeRoundPause = '1 minute';

/**
 * Until this patch a notice whose retries ran out was given up like a refused
 * one, so a Slack outage longer than the budget (six hours then) lost it.
 */
const retryUntilDelivered = 'notices-retried-until-delivered';

/** The notice's round of retries ran out while its failure was still retryable (not a refusal). */
function outlastedRetries(e: unknown): boolean {
  return e instanceof ActivityFailure && e.retryState === 'TIMEOUT';
}

const { notify } = proxyActivities<{ notify(n: Notice): Promise<NoticeReceipt | void | undefined> }>(noticeActivityOptions);

export class Notices {
  /** Notices go out one at a time, in order; each is built when its turn comes. */
  private outbox: Promise<void> = Promise.resolve();
  /** The incident's room, once the notifier made one. */
  private room: NoticeReceipt | undefined;
  /** Set when posting to the room failed for good: the timeline stops going there. */
  private roomBroken = false;
  /** Approval request messages, by request id, so votes and outcomes can be shown on them. */
  private readonly requestMessages = new Map<string, { message: NoticeReceipt; request: ApprovalRequestedNotice }>();
  /** How many timeline events went to the room. */
  private posted = 0;
  private feedStopping = false;
  private feed: Promise<void> | undefined;
  private gates!: Gates;

  constructor(
    private readonly input: IncidentInput,
    private readonly timeline: Timeline,
  ) {}

  /** Announces the incident (which makes its room) and starts feeding the timeline to the room. */
  open(gates: Gates): void {
    this.gates = gates;
    this.deliver(
      () => ({ incidentId: this.input.incidentId, incident: this.noticeIncident(), kind: 'incident-opened' }),
      (room) => {
        this.room = room;
      },
    );
    this.feed = this.feedTimeline();
  }

  /** Waits until the last events reached the room and every notice went out. */
  async drain(): Promise<void> {
    this.feedStopping = true;
    await this.feed;
    await this.outbox;
  }

  /** The incident as every notice shows it. */
  private noticeIncident(): NoticeIncident {
    const { input } = this;
    const responders = new Set<string>();
    for (const s of this.gates.all()) if (typeof s.gate !== 'string') for (const p of this.gates.approversOf(s.gate)) responders.add(p);
    return {
      incidentId: input.incidentId,
      title: input.policy.title,
      runbook: input.policy.id,
      severity: input.trigger.severity,
      summary: input.trigger.summary,
      mode: input.mode,
      drill: isDrill(input),
      requester: input.requester,
      targets: input.targets.map((t) => `${t.kind}:${t.id}`),
      responders: [...responders],
    };
  }

  private base() {
    return { incidentId: this.input.incidentId, incident: this.noticeIncident(), ...(this.room ? { room: this.room } : {}) };
  }

  /**
   * Queues a notice. Notices go out in order through the notify activity
   * (which retries); while Slack keeps failing, round after round, the notice
   * waits (recorded once as `notice.delayed`) and the ones after it queue up
   * behind it, so none is lost or reordered. One refused for good is recorded
   * on the timeline with what to fix. Neither stops the incident: the CLI
   * still answers every gate.
   */
  private deliver(build: () => Notice | undefined, received?: (r: NoticeReceipt) => void): void {
    this.outbox = this.outbox.then(async () => {
      const notice = build();
      if (notice === undefined) return;
      let delayed = false;
      for (;;) {
        try {
          // A later round is a retry too: an attempt of an earlier one may have posted before Slack failed.
          const receipt = await notify(delayed ? { ...notice, redelivery: true } : notice);
          if (receipt) received?.(receipt);
          return;
        } catch (e) {
          if (!outlastedRetries(e) || !patched(retryUntilDelivered)) {
            this.failed(notice, e);
            return;
          }
          if (!delayed) {
            delayed = true;
            this.timeline.append('notice.delayed', { kind: notice.kind, ...describeFailure(e), retryingEvery: noticeRoundPause }, 'step' in notice ? { step: notice.step } : {});
          }
          await sleep(noticeRoundPause);
        }
      }
    });
  }

  /** A notice refused for good: recorded with what to fix. */
  private failed(notice: Notice, e: unknown): void {
    if (notice.kind === 'timeline') {
      // Not posted again, or each failure would post itself: recorded once, then the room is left alone.
      if (this.roomBroken) return;
      this.roomBroken = true;
    }
    this.timeline.append('notice.failed', { kind: notice.kind, ...describeFailure(e) }, 'step' in notice ? { step: notice.step } : {});
  }

  /** An approval request or an escalation, from the gates. */
  announce(n: Notification): void {
    if (n.kind === 'escalation') {
      // Groups are expanded to their members; channels and people stay as they are.
      const to = expandGroups(n.to, this.input.groups);
      this.deliver(() => ({ ...this.base(), kind: 'escalation', step: n.step, to, deadline: n.deadline }));
      return;
    }
    const state = this.gates.state(n.step);
    const gate = state.gate as Exclude<StepState['gate'], string>;
    const description = this.input.policy.steps.find((s) => s.id === n.step)?.description ?? `Roll back every action of the incident, newest first.`;
    const evidence = this.timeline
      .all()
      .flatMap((e) => (e.type === 'evidence.sealed' ? [{ name: e.data.name, sha256: e.data.sha256 }] : []));
    let request: ApprovalRequestedNotice | undefined;
    this.deliver(
      () => {
        request = {
          ...this.base(),
          kind: 'approval-requested',
          step: n.step,
          description,
          requestId: n.requestId,
          to: n.to,
          required: gate.required,
          twoPerson: gate.twoPerson,
          deadline: n.deadline,
          evidence,
        };
        return request;
      },
      (message) => {
        if (request !== undefined) this.requestMessages.set(n.requestId, { message, request });
      },
    );
    // Votes cast before the request was posted are shown on it right away.
    this.announceVotes(n.step);
  }

  /** Shows a gate's votes and outcome on its request message (when there is one). */
  announceVotes(step: string): void {
    const requestId = this.gates.requestOf(step);
    if (requestId === undefined) return;
    const snapshot = { ...this.gates.state(step) };
    this.deliver(() => {
      const posted = this.requestMessages.get(requestId);
      if (posted === undefined || typeof snapshot.gate === 'string') return undefined;
      const status = snapshot.status === 'approved' || snapshot.status === 'denied' ? snapshot.status : 'awaiting-approval';
      if (status === 'awaiting-approval' && snapshot.approvals.length === 0) return undefined;
      return {
        ...this.base(),
        kind: 'approval-updated',
        step,
        requestId,
        request: posted.request,
        message: posted.message,
        status,
        required: snapshot.gate.required,
        approvals: snapshot.approvals.map((v) => ({ ...v })),
        ...(snapshot.denial ? { denial: { ...snapshot.denial } } : {}),
        ...(snapshot.settledBy && snapshot.settledBy !== 'auto-contain' && snapshot.settledBy !== 'no-gate' ? { settledBy: snapshot.settledBy } : {}),
      };
    });
  }

  /**
   * Posts the timeline to the room as it grows: whatever was recorded while
   * the previous batch was being posted goes out together as the next batch.
   */
  private async feedTimeline(): Promise<void> {
    await this.outbox;
    if (this.room === undefined) return;
    for (;;) {
      await condition(() => this.timeline.all().length > this.posted || this.feedStopping);
      if (this.roomBroken) return;
      const events = this.timeline.all().slice(this.posted);
      if (events.length === 0) return;
      this.posted += events.length;
      this.deliver(() => ({ ...this.base(), kind: 'timeline', events: events.map((e) => ({ ...e })) }));
      await this.outbox;
    }
  }
}
