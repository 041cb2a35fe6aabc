import { proxySinks, type Sinks } from '@temporalio/workflow';
import { workflowNowIso } from './clock.ts';
import type { TriggerInfo } from './types.ts';

/** Every kind of event an incident records, with its data. */
export interface TimelineEventData {
  'incident.opened': { runbook: string; version: number; mode: string; requester: string; targets: string[]; drill?: boolean };
  'alert.received': Pick<TriggerInfo, 'source' | 'alertId' | 'rule' | 'severity' | 'summary'>;
  'alert.repeated': Pick<TriggerInfo, 'source' | 'alertId' | 'summary'> & { count: number };
  'alert.resolved': Pick<TriggerInfo, 'source' | 'alertId' | 'summary'>;
  'evidence.sealed': { name: string; sha256: string; bytes: number; uri: string };
  'approval.requested': { approvers: string[]; required: number; twoPerson: boolean; deadline: string };
  'approval.granted': { reason?: string; approvals: number; required: number };
  'approval.denied': { reason?: string };
  'approval.timed-out': { onTimeout: 'escalate' | 'deny' | 'proceed' };
  'approval.escalated': { to: string[]; deadline: string };
  'approval.skipped': { why: string };
  /** `evidence`: what the action waited for, the items it named or the full set (absent on timelines from before it was recorded). */
  'action.started': { action: string; target?: string; mode: string; evidence?: { required: string[] } | { all: number } };
  'action.succeeded': { action: string; target?: string; changed: string };
  'action.already-done': { action: string; target?: string; detail: string };
  /** The action's target no longer exists (removed since evidence recorded it): a thing to look at, not "done". */
  'action.target-gone': { action: string; target?: string; detail: string };
  'action.failed': { action: string; target?: string; error: string; errorType: string };
  'action.skipped': { action: string; why: string };
  'rollback.requested': { reason?: string };
  'rollback.compensated': { action: string; target?: string; detail: string };
  'finding.recorded': { what: string; detail: string };
  'check.passed': { check: string; target?: string; detail: string };
  'check.failed': { check: string; target?: string; error: string; errorType: string };
  'follow-up.raised': { what: string; target?: string; why: string };
  'rollback.kept': { action: string; target?: string; why: string };
  'rollback.failed': { action: string; target?: string; error: string; errorType: string };
  'rollback.finished': { compensated: number; failed: number };
  'incident.closed': { reason?: string };
  /** A notice (Slack message) could not be delivered; `error` says what to fix. The CLI still answers every gate. */
  'notice.failed': { kind: string; error: string; errorType: string };
  /** A notice still not delivered after a round of retries (Slack down): retried until it is, the ones after it waiting. */
  'notice.delayed': { kind: string; error: string; errorType: string; retryingEvery: string };
}

export type TimelineEventType = keyof TimelineEventData;

export type TimelineEvent = {
  [T in TimelineEventType]: {
    /** Deterministic: the same on every replay of the workflow. */
    id: string;
    seq: number;
    type: T;
    /** Workflow time, ISO 8601 UTC. */
    at: string;
    step?: string;
    actor?: string;
    data: TimelineEventData[T];
  };
}[TimelineEventType];

/**
 * Every appended event also goes to this sink. Live workers log it; a replay
 * of an incident's history collects it, which rebuilds the exact timeline
 * (same ids, same times) when no worker is running to answer a query.
 */
export interface TimelineSinks extends Sinks {
  timeline: { append(event: TimelineEvent): void };
}

const sinks = proxySinks<TimelineSinks>();

/** Append-only record of what happened in an incident. */
export class Timeline {
  private readonly events: TimelineEvent[] = [];

  constructor(private readonly incidentId: string) {}

  append<T extends TimelineEventType>(
    type: T,
    data: TimelineEventData[T],
    extra: { step?: string; actor?: string } = {},
  ): TimelineEvent {
    const seq = this.events.length + 1;
    const event = {
      id: `${this.incidentId}#${String(seq).padStart(4, '0')}`,
      seq,
      type,
      at: workflowNowIso(),
      ...(extra.step === undefined ? {} : { step: extra.step }),
      ...(extra.actor === undefined ? {} : { actor: extra.actor }),
      data,
    } as TimelineEvent;
    this.events.push(event);
    sinks.timeline.append(event);
    return event;
  }

  all(): readonly TimelineEvent[] {
    return this.events;
  }

  count(type: TimelineEventType): number {
    return this.events.filter((e) => e.type === type).length;
  }
}
