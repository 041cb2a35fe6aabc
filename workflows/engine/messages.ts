import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { TimelineEvent } from './timeline.ts';
import type { Mode, StepState, Target, TriggerInfo } from './types.ts';
import { rejection, type RejectionType } from '../../domain/failures.ts';

export { rejection, type RejectionType };

/** A vote on a gated step. `actor` is a principal: `slack:U…` or `cli:<operator>`. */
export interface DecideInput {
  step: string;
  decision: 'approve' | 'deny';
  actor: string;
  reason?: string;
  /**
   * The approval request the vote answers (the `approval.requested` event id,
   * as a Slack button carries it): a vote on an older opening of the gate is
   * refused as stale. The CLI votes on whatever is open and leaves it out.
   */
  requestId?: string;
}

export interface RollbackInput {
  actor: string;
  reason?: string;
}

export interface CloseInput {
  actor: string;
  reason?: string;
}

export interface IncidentStatus {
  incidentId: string;
  runbook: { id: string; version: number; title: string };
  mode: Mode;
  requester: string;
  targets: Target[];
  trigger: TriggerInfo;
  phase: 'open' | 'rolling-back' | 'rolled-back' | 'closed';
  /** The step the runbook is working on, if any. */
  currentStep?: string;
  pendingApprovals: {
    step: string;
    approvers: string[];
    required: number;
    approvals: number;
    twoPerson: boolean;
    deadline?: string;
    escalated: boolean;
  }[];
  steps: StepState[];
  counts: { alerts: number; evidence: number; actions: number; failures: number; events: number };
}

/** Cast or withdraw nothing: approve or deny a step awaiting a decision. Returns the step's new state. */
export const decideUpdate = defineUpdate<StepState, [DecideInput]>('decide');
/** Ask to roll the incident's actions back (gated by the policy's rollback gate). */
export const rollbackUpdate = defineUpdate<StepState, [RollbackInput]>('rollback');
/** Close the incident: no further rollback. */
export const closeUpdate = defineUpdate<IncidentStatus, [CloseInput]>('close');
/** Another alert for the same correlation key. */
export const alertSignal = defineSignal<[TriggerInfo]>('alert');
/** Several alerts for the same correlation key that arrived together (intake batches a storm). */
export const alertsSignal = defineSignal<[TriggerInfo[]]>('alerts');
/** The alert source says the condition is resolved (e.g. Alertmanager "resolved"). */
export const alertResolvedSignal = defineSignal<[TriggerInfo]>('alertResolved');
export const timelineQuery = defineQuery<TimelineEvent[]>('timeline');
export const statusQuery = defineQuery<IncidentStatus>('status');

