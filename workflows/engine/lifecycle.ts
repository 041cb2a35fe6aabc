// An incident's life after its steps: rollback on request (behind the
// policy's rollback gate, newest change first) and close.
import { allHandlersFinished, ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import { rejection } from '../../domain/failures.ts';
import type { Gates } from './gates.ts';
import { closeUpdate, rollbackUpdate, type CloseInput, type IncidentStatus, type RollbackInput } from './messages.ts';
import type { Saga } from './saga.ts';
import type { Timeline } from './timeline.ts';
import type { IncidentInput, StepState } from './types.ts';

/** The pseudo-step whose gate guards rollback. */
export const rollbackStep = 'rollback';

export class Lifecycle {
  phase: IncidentStatus['phase'] = 'open';
  /** Set once a rollback ran: no further step or action runs. */
  halted = false;
  /** Containment actions running right now: a rollback waits for them before undoing. */
  actionsInFlight = 0;
  private closed = false;
  private rollbackRequest: { actor: string; reason?: string } | undefined;
  private rollbacks: Promise<void> | undefined;

  constructor(
    private readonly input: IncidentInput,
    private readonly timeline: Timeline,
    private readonly gates: Gates,
    private readonly saga: Saga,
    private readonly status: () => IncidentStatus,
  ) {}

  /** Registers the rollback and close updates; rollback can be asked for at any time, also while steps still run or wait. */
  install(): void {
    setHandler(rollbackUpdate, (r) => this.requestRollback(r), { validator: (r: RollbackInput) => this.validateRollback(r.actor) });
    setHandler(closeUpdate, (c) => this.close(c.actor, c.reason), { validator: (c: CloseInput) => this.validateClose(c.actor) });
    this.rollbacks = this.serveRollbacks();
  }

  /** Resolves once the incident is closed and every rollback and update handler has finished. */
  async untilClosed(): Promise<void> {
    await condition(() => this.closed);
    await this.rollbacks;
    await condition(allHandlersFinished);
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
