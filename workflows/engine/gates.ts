import { ApplicationFailure, condition } from '@temporalio/workflow';
import type { ApprovalGate, Gate } from '../../src/runbooks/schema.ts';
import { workflowNow, workflowNowIso } from './clock.ts';
import { rejection, type DecideInput } from './messages.ts';
import type { Timeline } from './timeline.ts';
import type { StepState } from './types.ts';
import { expandGroups } from '../../domain/runbooks.ts';

export interface Notification {
  kind: 'approval-requested' | 'escalation';
  step: string;
  to: string[];
  deadline: string;
  /** The `approval.requested` event that opened this wait for a decision. */
  requestId: string;
}

function reject(type: string, message: string): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
}

/**
 * Approval gates of one incident: which steps wait for whom, the votes cast,
 * and what a timeout does. `validate` runs as the `decide` update's validator,
 * so a rejected vote never reaches history.
 */
export class Gates {
  private readonly states = new Map<string, StepState>();
  /** Per step, the id of the `approval.requested` event of its current (or last) opening. */
  private readonly requests = new Map<string, string>();

  constructor(
    private readonly opts: {
      gates: ReadonlyMap<string, Gate>;
      groups: Readonly<Record<string, string[]>>;
      requester: string;
      /** Steps whose gates auto-containment lifted, with why (the rule that matched the trigger). */
      autoContain: Map<string, string>;
      timeline: Timeline;
      notify: (n: Notification) => Promise<void>;
      /** Called after a gate's votes or outcome changed (a vote, a timeout, a rollback superseding it). */
      changed?: (step: string) => void;
    },
  ) {
    for (const [id, gate] of opts.gates) {
      this.states.set(id, { id, status: 'not-started', gate, approvals: [], escalated: false });
    }
  }

  state(step: string): StepState {
    const s = this.states.get(step);
    if (s === undefined) throw new Error(`step "${step}" has no gate policy`);
    return s;
  }

  /**
   * Settles every step still waiting for a decision as denied, because the
   * incident was rolled back; the waiting `pass` calls return false.
   */
  supersede(except: string): void {
    for (const s of this.states.values()) {
      if (s.id !== except && s.status === 'awaiting-approval') {
        s.status = 'denied';
        s.settledBy = 'rolled-back';
        delete s.deadline;
        this.opts.changed?.(s.id);
      }
    }
  }

  /**
   * Lifts the gates of steps not yet decided, because an alert that joined
   * the incident matched an auto-containment rule naming them: a step not
   * started passes its gate when it comes; one waiting for approval goes
   * ahead now. Steps decided already (approved, denied, run) are left alone.
   */
  lift(steps: readonly string[], why: string): void {
    for (const step of steps) {
      const s = this.states.get(step);
      if (s === undefined || typeof s.gate === 'string') continue;
      if (s.status === 'not-started') this.opts.autoContain.set(step, why);
      else if (s.status === 'awaiting-approval') {
        // The gate stays as it was, so the request message can show it was settled.
        s.status = 'approved';
        s.settledBy = 'auto-contain';
        delete s.deadline;
        this.opts.timeline.append('approval.skipped', { why }, { step });
        this.opts.changed?.(step);
      }
    }
  }

  /** Returns a settled gate to its initial state, so it can be asked again (rollback). */
  reset(step: string): void {
    const s = this.state(step);
    const gate = this.opts.gates.get(step)!;
    this.states.set(step, { id: s.id, status: 'not-started', gate, approvals: [], escalated: false });
  }

  /** The id of the `approval.requested` event of the step's current (or last) opening, if it ever opened. */
  requestOf(step: string): string | undefined {
    return this.requests.get(step);
  }

  all(): StepState[] {
    return [...this.states.values()];
  }

  /** Everyone who may approve under a gate, groups expanded. */
  approversOf(gate: ApprovalGate): string[] {
    return expandGroups(gate.approvers, this.opts.groups);
  }

  /** Throws a typed failure when the vote must be refused. Writes nothing. */
  validate(d: DecideInput): void {
    const s = this.states.get(d.step);
    if (s === undefined) {
      reject(rejection.unknownStep, `This incident has no step "${d.step}"; gated steps: ${[...this.states.keys()].join(', ')}.`);
    }
    if (s.status !== 'awaiting-approval' || typeof s.gate === 'string') {
      reject(rejection.notAwaitingDecision, `Step "${d.step}" is not awaiting a decision (it is ${s.status}).`);
    }
    if (d.requestId !== undefined && d.requestId !== this.requests.get(d.step)) {
      reject(
        rejection.notAwaitingDecision,
        `The approval request ${d.requestId} for step "${d.step}" is no longer open: the step was asked again (${this.requests.get(d.step) ?? 'none'}); answer the current request.`,
      );
    }
    if (!this.approversOf(s.gate).includes(d.actor)) {
      reject(rejection.notAnApprover, `${d.actor} is not an approver of step "${d.step}".`);
    }
    if (s.gate.twoPerson && d.actor === this.opts.requester && d.decision === 'approve') {
      reject(
        rejection.requesterCannotApprove,
        `${d.actor} requested this incident and step "${d.step}" needs two-person approval: another approver must approve it.`,
      );
    }
    if (s.approvals.some((v) => v.actor === d.actor)) {
      reject(rejection.alreadyVoted, `${d.actor} has already voted on step "${d.step}"; each approver votes once.`);
    }
    if (d.decision === 'deny' && (d.reason === undefined || d.reason.trim() === '')) {
      reject(rejection.reasonRequired, `A denial of step "${d.step}" needs a reason.`);
    }
  }

  /** Applies a validated vote. A deny settles the step; `required` approvals pass it. */
  apply(d: DecideInput): StepState {
    const s = this.state(d.step);
    const gate = s.gate as ApprovalGate;
    const vote = { actor: d.actor, decision: d.decision, at: workflowNowIso(), ...(d.reason ? { reason: d.reason } : {}) };
    if (d.decision === 'deny') {
      s.denial = vote;
      s.status = 'denied';
      s.settledBy = 'votes';
      delete s.deadline;
      this.opts.timeline.append('approval.denied', { ...(d.reason ? { reason: d.reason } : {}) }, { step: d.step, actor: d.actor });
    } else {
      s.approvals.push(vote);
      this.opts.timeline.append(
        'approval.granted',
        { ...(d.reason ? { reason: d.reason } : {}), approvals: s.approvals.length, required: gate.required },
        { step: d.step, actor: d.actor },
      );
      if (s.approvals.length >= gate.required) {
        s.status = 'approved';
        s.settledBy = 'votes';
        delete s.deadline;
      }
    }
    this.opts.changed?.(d.step);
    return { ...s };
  }

  /**
   * Opens the step's gate and waits for it to settle. Resolves true when the
   * step may go ahead. On timeout the policy decides: deny, proceed, or
   * escalate once (notify `escalateTo`, wait one more timeout, then deny).
   */
  async pass(step: string): Promise<boolean> {
    const s = this.state(step);
    const gate = s.gate;
    if (gate === 'none') {
      s.status = 'approved';
      s.settledBy = 'no-gate';
      return true;
    }
    if (typeof gate === 'string') throw new Error('unreachable');
    const lifted = this.opts.autoContain.get(step);
    if (lifted !== undefined) {
      s.gate = 'auto';
      s.status = 'approved';
      s.settledBy = 'auto-contain';
      this.opts.timeline.append('approval.skipped', { why: lifted }, { step });
      return true;
    }
    const settled = () => s.status === 'approved' || s.status === 'denied';
    const wait = async (): Promise<boolean> => {
      const deadline = new Date(workflowNow() + gate.timeout.ms).toISOString();
      s.deadline = deadline;
      return condition(settled, gate.timeout.ms);
    };

    s.status = 'awaiting-approval';
    const approvers = this.approversOf(gate);
    const firstDeadline = new Date(workflowNow() + gate.timeout.ms).toISOString();
    const request = this.opts.timeline.append(
      'approval.requested',
      { approvers, required: gate.required, twoPerson: gate.twoPerson, deadline: firstDeadline },
      { step },
    );
    this.requests.set(step, request.id);
    await this.opts.notify({ kind: 'approval-requested', step, to: approvers, deadline: firstDeadline, requestId: request.id });

    if (!(await wait())) {
      this.opts.timeline.append('approval.timed-out', { onTimeout: gate.onTimeout }, { step });
      if (gate.onTimeout === 'proceed') {
        s.status = 'approved';
        s.settledBy = 'timeout-proceed';
        this.opts.changed?.(step);
      } else if (gate.onTimeout === 'deny') {
        s.status = 'denied';
        s.settledBy = 'timeout-deny';
        this.opts.changed?.(step);
      } else {
        s.escalated = true;
        const deadline = new Date(workflowNow() + gate.timeout.ms).toISOString();
        this.opts.timeline.append('approval.escalated', { to: gate.escalateTo, deadline }, { step });
        await this.opts.notify({ kind: 'escalation', step, to: gate.escalateTo, deadline, requestId: request.id });
        if (!(await wait())) {
          this.opts.timeline.append('approval.timed-out', { onTimeout: 'deny' }, { step });
          s.status = 'denied';
          s.settledBy = 'timeout-deny';
          this.opts.changed?.(step);
        }
      }
    }
    delete s.deadline;
    return s.status === 'approved';
  }
}
