import type { InjectedSinks } from '@temporalio/worker';
import type { TimelineEvent, TimelineSinks } from '../../workflows/engine/timeline.ts';

/**
 * The worker side of the timeline sink. Live workers pass a logger callback
 * (not called during replay, so an event is reported once); a history replay
 * passes a collector that is called during replay.
 */
export function timelineSinks(onEvent: (event: TimelineEvent, workflowId: string, workflowType: string) => void, duringReplay = false): InjectedSinks<TimelineSinks> {
  return {
    timeline: {
      append: { fn: (info, event) => onEvent(event, info.workflowId, info.workflowType), callDuringReplay: duringReplay },
    },
  };
}
