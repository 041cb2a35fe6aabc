import { allHandlersFinished, ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import type { ApprovalRequestedNotice, Notice, NoticeIncident, NoticeReceipt } from '../../activities/notify.ts';
import type { Gate } from '../../src/runbooks/schema.ts';
import { Gates, type Notification } from './gates.ts';
import {
  alertResolvedSignal,
  alertSignal,
  alertsSignal,
  closeUpdate,
  decideUpdate,
  rejection,
  rollbackUpdate,
  statusQuery,
  timelineQuery,
  type CloseInput,
  type DecideInput,
  type IncidentStatus,
  type RollbackInput,
} from './messages.ts';
import { describeFailure, Saga } from './saga.ts';
import { Timeline } from './timeline.ts';
import type { EvidenceRefSummary, IncidentInput, StepState } from './types.ts';

/** What a containment activity reports: it changed something, or found it done already. */
export interface ActionResult {
  outcome: 'changed' | 'already-done';
  /** What was changed or found, for the timeline: names and states, never secrets. */
  detail: string;
}

export interface ActionSpec {
  action: string;
  target?: string;
  run: () => Promise<ActionResult>;
  /** The undo, registered when the action changed something. */
  compensate?: { action: string; run: () => Promise<string> };
}

/**
 * Activity options for the `notify` activity, for every runbook workflow:
 * a notice is retried (Slack's Retry-After honoured through the failure's
 * next-retry delay) until delivered or refused for good, for up to six hours;
 * a refusal is recorded on the timeline and the incident goes on.
 */
export const noticeActivityOptions = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '6 hours',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const;

/** The pseudo-step whose gate guards rollback. */
export const rollbackStep = 'rollback';

/**
 * The machinery every runbook workflow composes: approval gates, the
 * timeline, the saga of compensations, repeated alerts, status, rollback and
 * close. A runbook workflow creates one, calls `install()` first, then runs its
 * steps with `evidence`, `gated` and `act`, and finally `holdOpen()`.
 */
export class Incident {
  readonly timeline: Timeline;
  readonly gates: Gates;
  readonly saga = new Saga();
  private phase: IncidentStatus['phase'] = 'open';
  private currentStep: string | undefined;
  private alerts = 1;
  private evidenceCount = 0;
  private actions = 0;
  private failures = 0;
  private closed = false;
  private startSignalSeen = false;
  private rollbackRequest: { actor: string; reason?: string } | undefined;
  /** Containment actions running right now: a rollback waits for them before undoing. */
  private actionsInFlight = 0;
  /** Set once a rollback ran: no further step or action runs. */
  private halted = false;
  private rollbacks: Promise<void> | undefined;
  /** Notices go out one at a time, in order; each is built when its turn comes. */
  private outbox: Promise<void> = Promise.resolve();
  /** The incident's room (Slack channel and pinned summary), once the notifier made one. */
  private room: NoticeReceipt | undefined;
  /** Set when posting to the room failed for good: the timeline stops going there. */
  private roomBroken = false;
  /** Approval request messages, by request id, so votes and outcomes can be shown on them. */
  private readonly requestMessages = new Map<string, { message: NoticeReceipt; request: ApprovalRequestedNotice }>();
  /** How many timeline events went to the room. */
  private posted = 0;
  private feedStopping = false;
  private feed: Promise<void> | undefined;
  private readonly notify: (n: Notice) => Promise<NoticeReceipt | void | undefined>;

  constructor(
    readonly input: IncidentInput,
    opts: { workflowSteps: readonly string[]; notify: (n: Notice) => Promise<NoticeReceipt | void | undefined> },
  ) {
    this.notify = opts.notify;
    const policySteps = new Map<string, Gate>(input.policy.steps.map((s) => [s.id, s.gate]));
    const missing = opts.workflowSteps.filter((s) => !policySteps.has(s));
    const unknown = [...policySteps.keys()].filter((s) => !opts.workflowSteps.includes(s));
    if (missing.length > 0 || unknown.length > 0) {
      throw ApplicationFailure.create({
        type: 'PolicyMismatch',
        nonRetryable: true,
        message: `Policy ${input.policy.id} v${input.policy.version} does not fit this workflow: ${[
          missing.length > 0 ? `no policy for steps ${missing.join(', ')}` : '',
          unknown.length > 0 ? `unknown steps ${unknown.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; ')}. Fix the policy file and validate it with \`firebreak runbooks validate\`.`,
      });
    }
    policySteps.set(rollbackStep, input.policy.rollback.gate);
    this.timeline = new Timeline(input.incidentId);
    this.gates = new Gates({
      gates: policySteps,
      groups: input.groups,
      requester: input.requester,
      autoContain: new Set(input.autoContainSteps ?? []),
      timeline: this.timeline,
      notify: (n) => {
        this.announce(n);
        return Promise.resolve();
      },
      changed: (step) => this.announceVotes(step),
    });
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
      drill: input.trigger.source === 'drill',
      requester: input.requester,
      targets: input.targets.map((t) => `${t.kind}:${t.id}`),
      responders: [...responders],
    };
  }

  /**
   * Queues a notice. Notices go out in order through the notify activity
   * (which retries); one that fails for good is recorded on the timeline with
   * what to fix, and never stops the incident: the CLI still answers every gate.
   */
  private deliver(build: () => Notice | undefined, received?: (r: NoticeReceipt) => void): void {
    this.outbox = this.outbox.then(async () => {
      const notice = build();
      if (notice === undefined) return;
      try {
        const receipt = await this.notify(notice);
        if (receipt) received?.(receipt);
      } catch (e) {
        const failure = describeFailure(e);
        if (notice.kind === 'timeline') {
          // Not posted again, or each failure would post itself: recorded once, then the room is left alone.
          if (this.roomBroken) return;
          this.roomBroken = true;
        }
        this.timeline.append('notice.failed', { kind: notice.kind, ...failure }, 'step' in notice ? { step: notice.step } : {});
      }
    });
  }

  private announce(n: Notification): void {
    const base = () => ({ incidentId: this.input.incidentId, incident: this.noticeIncident(), ...(this.room ? { room: this.room } : {}) });
    if (n.kind === 'escalation') {
      // Groups are expanded to their members; channels and people stay as they are.
      const to = [...new Set(n.to.flatMap((t) => (t.startsWith('group:') ? (this.input.groups[t.slice('group:'.length)] ?? []) : [t])))];
      this.deliver(() => ({ ...base(), kind: 'escalation', step: n.step, to, deadline: n.deadline }));
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
          ...base(),
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
  private announceVotes(step: string): void {
    const requestId = this.gates.requestOf(step);
    if (requestId === undefined) return;
    const snapshot = { ...this.gates.state(step) };
    this.deliver(() => {
      const posted = this.requestMessages.get(requestId);
      if (posted === undefined || typeof snapshot.gate === 'string') return undefined;
      const status = snapshot.status === 'approved' || snapshot.status === 'denied' ? snapshot.status : 'awaiting-approval';
      if (status === 'awaiting-approval' && snapshot.approvals.length === 0) return undefined;
      return {
        incidentId: this.input.incidentId,
        incident: this.noticeIncident(),
        ...(this.room ? { room: this.room } : {}),
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
      this.deliver(() => ({
        incidentId: this.input.incidentId,
        incident: this.noticeIncident(),
        ...(this.room ? { room: this.room } : {}),
        kind: 'timeline',
        events: events.map((e) => ({ ...e })),
      }));
      await this.outbox;
    }
  }

  /** Registers the incident's updates, signals and queries, and records its opening. */
  install(): void {
    const { input, timeline } = this;
    timeline.append('incident.opened', {
      runbook: input.policy.id,
      version: input.policy.version,
      mode: input.mode,
      requester: input.requester,
      targets: input.targets.map((t) => `${t.kind}:${t.id}`),
    });
    timeline.append('alert.received', pickAlert(input.trigger));
    this.deliver(
      () => ({ incidentId: input.incidentId, incident: this.noticeIncident(), kind: 'incident-opened' }),
      (room) => {
        this.room = room;
      },
    );
    this.feed = this.feedTimeline();

    setHandler(decideUpdate, (d) => this.gates.apply(d), { validator: (d: DecideInput) => this.gates.validate(d) });
    setHandler(rollbackUpdate, (r) => this.requestRollback(r), { validator: (r: RollbackInput) => this.validateRollback(r.actor) });
    setHandler(closeUpdate, (c) => this.close(c.actor, c.reason), { validator: (c: CloseInput) => this.validateClose(c.actor) });
    setHandler(alertSignal, (alert) => this.recordAlerts([alert]));
    setHandler(alertsSignal, (alerts) => this.recordAlerts(alerts));
    setHandler(alertResolvedSignal, (alert) => {
      timeline.append('alert.resolved', { source: alert.source, summary: alert.summary, ...(alert.alertId ? { alertId: alert.alertId } : {}) });
    });
    setHandler(timelineQuery, () => [...timeline.all()]);
    setHandler(statusQuery, () => this.status());
    // Rollback can be asked for at any time, also while steps still run or wait.
    this.rollbacks = this.serveRollbacks();
  }

  /**
   * Counts alerts that joined the incident, with one timeline event per
   * delivery. Signal-with-start delivers the starting alert as a signal too:
   * it is counted already, once.
   */
  private recordAlerts(alerts: readonly IncidentInput['trigger'][]): void {
    let last: IncidentInput['trigger'] | undefined;
    for (const alert of alerts) {
      if (!this.startSignalSeen && sameAlert(alert, this.input.trigger)) {
        this.startSignalSeen = true;
        continue;
      }
      this.alerts += 1;
      last = alert;
    }
    if (last === undefined) return;
    this.timeline.append('alert.repeated', {
      source: last.source,
      summary: last.summary,
      count: this.alerts,
      ...(last.alertId ? { alertId: last.alertId } : {}),
    });
  }

  status(): IncidentStatus {
    const { input } = this;
    const steps = this.gates.all();
    return {
      incidentId: input.incidentId,
      runbook: { id: input.policy.id, version: input.policy.version, title: input.policy.title },
      mode: input.mode,
      requester: input.requester,
      targets: input.targets,
      trigger: input.trigger,
      phase: this.phase,
      ...(this.currentStep === undefined ? {} : { currentStep: this.currentStep }),
      pendingApprovals: steps
        .filter((s) => s.status === 'awaiting-approval' && typeof s.gate !== 'string')
        .map((s) => {
          const gate = s.gate as Exclude<StepState['gate'], string>;
          return {
            step: s.id,
            approvers: this.gates.approversOf(gate),
            required: gate.required,
            approvals: s.approvals.length,
            twoPerson: gate.twoPerson,
            escalated: s.escalated,
            ...(s.deadline === undefined ? {} : { deadline: s.deadline }),
          };
        }),
      steps: steps.map((s) => ({ ...s })),
      counts: {
        alerts: this.alerts,
        evidence: this.evidenceCount,
        actions: this.actions,
        failures: this.failures,
        events: this.timeline.all().length,
      },
    };
  }

  /** Seals one piece of evidence (through an activity) and records it. */
  async evidence(seal: () => Promise<EvidenceRefSummary>, step?: string): Promise<EvidenceRefSummary> {
    return this.recordEvidence(await seal(), step);
  }

  /** Records evidence an activity has sealed already (one that captures several items at once). */
  recordEvidence(ref: EvidenceRefSummary, step?: string): EvidenceRefSummary {
    this.evidenceCount += 1;
    this.timeline.append(
      'evidence.sealed',
      { name: ref.name, sha256: ref.sha256, bytes: ref.bytes, uri: ref.uri },
      step === undefined ? {} : { step },
    );
    return ref;
  }

  /** Marks a step skipped, with the reason on the timeline. */
  skip(step: string, action: string, why: string): void {
    this.gates.state(step).status = 'skipped';
    this.timeline.append('action.skipped', { action, why }, { step });
  }

  /**
   * Runs a step behind its gate. Resolves true when the body ran, false when
   * the gate denied it (recorded as skipped).
   */
  async gated(step: string, body: () => Promise<void>): Promise<boolean> {
    const state = this.gates.state(step);
    if (this.halted) {
      this.skip(step, step, 'the incident was rolled back');
      return false;
    }
    this.currentStep = step;
    try {
      if (!(await this.gates.pass(step)) || this.halted) {
        const why =
          this.halted || state.settledBy === 'rolled-back'
            ? 'the incident was rolled back'
            : state.settledBy === 'votes'
              ? 'the gate was denied'
              : 'the gate was not passed before its deadline';
        this.timeline.append('action.skipped', { action: step, why }, { step });
        return false;
      }
      state.status = 'running';
      await body();
      if (state.status === 'running') state.status = 'succeeded';
      return true;
    } finally {
      this.currentStep = undefined;
    }
  }

  /**
   * Runs one containment action: refuses to change anything before evidence
   * is sealed, records start and outcome, and registers the compensation when
   * something changed. Resolves with the result, or undefined when it failed
   * (recorded; the step is marked failed and the runbook decides what next).
   */
  async act(step: string, spec: ActionSpec): Promise<ActionResult | undefined> {
    const target = spec.target === undefined ? {} : { target: spec.target };
    if (this.evidenceCount === 0) {
      throw ApplicationFailure.create({
        type: 'EvidenceNotSealed',
        nonRetryable: true,
        message: `Refusing "${spec.action}" in step "${step}": no evidence is sealed yet. A runbook captures evidence before containment changes anything.`,
      });
    }
    if (this.halted) {
      this.timeline.append('action.skipped', { action: spec.action, why: 'the incident was rolled back' }, { step });
      return undefined;
    }
    this.actions += 1;
    this.actionsInFlight += 1;
    this.timeline.append('action.started', { action: spec.action, mode: this.input.mode, ...target }, { step });
    try {
      const result = await spec.run();
      if (result.outcome === 'already-done') {
        this.timeline.append('action.already-done', { action: spec.action, detail: result.detail, ...target }, { step });
      } else {
        this.timeline.append('action.succeeded', { action: spec.action, changed: result.detail, ...target }, { step });
        if (spec.compensate !== undefined) {
          this.saga.register({ step, action: spec.compensate.action, ...target, run: spec.compensate.run });
        }
      }
      return result;
    } catch (e) {
      this.failures += 1;
      this.gates.state(step).status = 'failed';
      this.timeline.append('action.failed', { action: spec.action, ...target, ...describeFailure(e) }, { step });
      return undefined;
    } finally {
      this.actionsInFlight -= 1;
    }
  }

  /**
   * Keeps the incident open after its steps, so that it can still be rolled
   * back, until someone closes it.
   */
  async holdOpen(): Promise<void> {
    await condition(() => this.closed);
    await this.rollbacks;
    await condition(allHandlersFinished);
    // The last events (the close) reach the room before the incident ends.
    this.feedStopping = true;
    await this.feed;
    await this.outbox;
  }

  /**
   * Serves rollback requests for the incident's whole life: each passes the
   * policy's rollback gate, then stops the runbook (steps still waiting are
   * settled as denied), waits for running actions, and runs the undos newest
   * first. A denied rollback leaves the incident as it was.
   */
  private async serveRollbacks(): Promise<void> {
    for (;;) {
      await condition(() => this.closed || this.rollbackRequest !== undefined);
      if (this.closed) return;
      const request = this.rollbackRequest!;
      this.phase = 'rolling-back';
      if (await this.gates.pass(rollbackStep)) {
        this.halted = true;
        this.gates.supersede(rollbackStep);
        await condition(() => this.actionsInFlight === 0);
        await this.saga.compensate(this.timeline, request.actor);
        this.phase = 'rolled-back';
      } else {
        this.phase = 'open';
      }
      this.gates.reset(rollbackStep);
      this.rollbackRequest = undefined;
    }
  }

  private isParticipant(actor: string): boolean {
    if (actor === this.input.requester) return true;
    return this.gates.all().some((s) => typeof s.gate !== 'string' && this.gates.approversOf(s.gate).includes(actor));
  }

  private validateRollback(actor: string): void {
    if (this.closed) throw ApplicationFailure.create({ type: rejection.incidentClosed, nonRetryable: true, message: 'The incident is closed; it can no longer be rolled back.' });
    if (this.rollbackRequest !== undefined) {
      throw ApplicationFailure.create({ type: rejection.rollbackInProgress, nonRetryable: true, message: 'A rollback is already requested or running for this incident.' });
    }
    if (!this.isParticipant(actor)) {
      throw ApplicationFailure.create({ type: rejection.notAnApprover, nonRetryable: true, message: `${actor} is neither the requester nor an approver of this incident.` });
    }
  }

  private async requestRollback(r: { actor: string; reason?: string }): Promise<StepState> {
    this.rollbackRequest = r;
    this.timeline.append('rollback.requested', r.reason === undefined ? {} : { reason: r.reason }, { actor: r.actor, step: rollbackStep });
    const state = this.gates.state(rollbackStep);
    // Answer once the gate has opened (or was passed without one).
    await condition(() => state.status !== 'not-started');
    return { ...state };
  }

  private validateClose(actor: string): void {
    if (this.closed) throw ApplicationFailure.create({ type: rejection.incidentClosed, nonRetryable: true, message: 'The incident is already closed.' });
    if (this.phase === 'rolling-back') {
      throw ApplicationFailure.create({ type: rejection.rollbackInProgress, nonRetryable: true, message: 'A rollback is running; close the incident after it finishes.' });
    }
    if (!this.isParticipant(actor)) {
      throw ApplicationFailure.create({ type: rejection.notAnApprover, nonRetryable: true, message: `${actor} is neither the requester nor an approver of this incident.` });
    }
  }

  private close(actor: string, reason: string | undefined): IncidentStatus {
    this.closed = true;
    this.phase = 'closed';
    this.timeline.append('incident.closed', reason === undefined ? {} : { reason }, { actor });
    return this.status();
  }
}

function sameAlert(a: IncidentInput['trigger'], b: IncidentInput['trigger']): boolean {
  return a.source === b.source && a.alertId === b.alertId && a.receivedAt === b.receivedAt && a.summary === b.summary;
}

function pickAlert(t: IncidentInput['trigger']) {
  return {
    source: t.source,
    severity: t.severity,
    summary: t.summary,
    ...(t.alertId === undefined ? {} : { alertId: t.alertId }),
    ...(t.rule === undefined ? {} : { rule: t.rule }),
  };
}
