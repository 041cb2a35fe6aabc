import { WorkflowFailedError, type WorkflowExecutionStatusName, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';

/** Why an incident's workflow ended without completing: its failure type and message. */
export interface IncidentFailure {
  /** The ApplicationFailure type (e.g. `InvalidTarget`), or `Terminated`, `TimedOut`, `Cancelled`. */
  type: string;
  message: string;
}

/** Workflow states in which an incident ended without completing. */
const ended: readonly WorkflowExecutionStatusName[] = ['FAILED', 'TERMINATED', 'TIMED_OUT', 'CANCELLED'];

/**
 * The failure of an incident whose workflow has `status`, or undefined when it
 * is running or completed. Read from the workflow's close event (what
 * `result()` fetches), so it needs no worker and works when the workflow failed
 * before it registered its queries.
 */
export async function incidentFailure(handle: WorkflowHandle, status: WorkflowExecutionStatusName): Promise<IncidentFailure | undefined> {
  if (!ended.includes(status)) return undefined;
  try {
    await handle.result();
    return undefined;
  } catch (e) {
    if (!(e instanceof WorkflowFailedError)) throw e;
    const cause = e.cause;
    const type =
      cause instanceof ApplicationFailure
        ? (cause.type ?? 'ApplicationFailure')
        : cause instanceof TerminatedFailure
          ? 'Terminated'
          : cause instanceof TimeoutFailure
            ? 'TimedOut'
            : cause instanceof CancelledFailure
              ? 'Cancelled'
              : (cause?.name ?? 'Failed');
    return { type, message: cause?.message || e.message };
  }
}

/** One line: `failed: InvalidTarget: Refused target …`. */
export function describeFailure(f: IncidentFailure): string {
  return `${f.type === 'Terminated' ? 'terminated' : f.type === 'TimedOut' ? 'timed out' : f.type === 'Cancelled' ? 'cancelled' : 'failed'}: ${f.type}: ${f.message}`;
}
