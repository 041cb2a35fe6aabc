/**
 * What one look at a drill incident says: whether the runbook can still move
 * at this instant of virtual time. The time-skipping server's describe lists
 * pending activities but not a waiting workflow task, so the history says
 * that; the two are read one after the other, and a reading only counts when
 * the history did not move between them.
 */
import proto from '@temporalio/proto';

const { EventType } = proto.temporal.api.enums.v1;

/** A history as fetched: how many events, and whether a workflow task was scheduled after the last one completed. */
export interface HistoryReading {
  length: number;
  waiting: boolean;
}

export function historyReading(events: readonly proto.temporal.api.history.v1.IHistoryEvent[]): HistoryReading {
  const last = (type: proto.temporal.api.enums.v1.EventType) => events.findLastIndex((e) => e.eventType === type);
  return { length: events.length, waiting: last(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) > last(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) };
}

export interface IncidentReading {
  /** The history length describe reported. */
  describedLength: number;
  /** The attempt of each activity describe reported pending. */
  activityAttempts: readonly number[];
  /** The history, fetched after describe (or as last fetched, when describe reports the same length). */
  history: HistoryReading;
}

/**
 * `busy` while anything can run now; `backoff` when the only work left is an
 * activity waiting out its retry backoff (a server timer, which only virtual
 * time moves); `calm` when nothing waits.
 */
export function moodOf(r: IncidentReading): 'busy' | 'backoff' | 'calm' {
  // The time-skipping server reports a retrying activity as started, so its attempt tells a backoff from work.
  if (r.activityAttempts.some((a) => a <= 1)) return 'busy';
  // A history that grew after describe was read may hold work describe did not see: a workflow task that
  // completed in between scheduled an activity.
  if (r.history.length !== r.describedLength) return 'busy';
  if (r.history.waiting) return 'busy';
  return r.activityAttempts.length > 0 ? 'backoff' : 'calm';
}
