/** Hand-built timelines for the metrics and report tests: events at offsets (seconds) from a fixed start. */
import type { TimelineEvent, TimelineEventData, TimelineEventType } from '../../workflows/engine/timeline.ts';

export const start = Date.parse('2026-11-28T10:00:00.000Z');

/** The ISO time `s` seconds after the start. */
export function at(s: number): string {
  return new Date(start + s * 1000).toISOString();
}

export interface Draft {
  s: number;
  type: TimelineEventType;
  data: unknown;
  step?: string;
  actor?: string;
}

/** One event `s` seconds after the start. */
export function ev<T extends TimelineEventType>(s: number, type: T, data: TimelineEventData[T], extra: { step?: string; actor?: string } = {}): Draft {
  return { s, type, data, ...extra };
}

/** The drafts as a timeline: ids and sequence numbers as the engine assigns them. */
export function timeline(incidentId: string, ...drafts: Draft[]): TimelineEvent[] {
  return drafts.map(
    (d, i) =>
      ({
        id: `${incidentId}#${String(i + 1).padStart(4, '0')}`,
        seq: i + 1,
        type: d.type,
        at: at(d.s),
        ...(d.step === undefined ? {} : { step: d.step }),
        ...(d.actor === undefined ? {} : { actor: d.actor }),
        data: d.data,
      }) as TimelineEvent,
  );
}

/** A container-escape incident's opening: started by a Falco alert on pod shop/web-1. */
export function opening(o: { mode?: string; drill?: boolean } = {}): Draft[] {
  return [
    ev(0, 'incident.opened', {
      runbook: 'container-escape',
      version: 3,
      mode: o.mode ?? 'live',
      requester: 'alert:falco',
      targets: ['pod:shop/web-1'],
      ...(o.drill === undefined ? {} : { drill: o.drill }),
    }),
    ev(0, 'alert.received', { source: 'falco', severity: 'critical', summary: 'Shell spawned in web-1' }),
    ev(5, 'evidence.sealed', { name: 'pod.json', sha256: 'a'.repeat(64), bytes: 42, uri: 'file:///evidence/aa' }, { step: 'collect-evidence' }),
  ];
}

/** A step behind an approval gate that opens at `s`. */
export function requested(s: number, step: string, o: { required?: number; twoPerson?: boolean } = {}): Draft {
  return ev(s, 'approval.requested', { approvers: ['cli:bob', 'cli:carol'], required: o.required ?? 1, twoPerson: o.twoPerson ?? false, deadline: at(s + 900) }, { step });
}

/** A step's action, started at `s` and succeeding `took` seconds later. */
export function acted(s: number, step: string, took = 1, outcome: 'action.succeeded' | 'action.already-done' = 'action.succeeded'): Draft[] {
  const action = `${step} action`;
  return [
    ev(s, 'action.started', { action, target: 'pod:shop/web-1', mode: 'live' }, { step }),
    outcome === 'action.succeeded'
      ? ev(s + took, 'action.succeeded', { action, target: 'pod:shop/web-1', changed: 'done' }, { step })
      : ev(s + took, 'action.already-done', { action, target: 'pod:shop/web-1', detail: 'in place' }, { step }),
  ];
}
