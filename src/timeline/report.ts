/**
 * An incident's timeline as a report: fetched by the `timeline`/`status`
 * queries from a running worker, or rebuilt by replaying the workflow's event
 * history in this process when no worker answers. Rendered as Markdown (the
 * post-incident report), JSON (schema `firebreak.timeline/v1`) or CSV.
 */
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { statusQuery, timelineQuery, type IncidentStatus } from '../../workflows/engine/messages.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { incidentFailure, type IncidentFailure } from './outcome.ts';
import { timelineSinks } from './sinks.ts';

export const timelineSchemaVersion = 'firebreak.timeline/v1';

export interface TimelineReport {
  schema: typeof timelineSchemaVersion;
  incidentId: string;
  /** The runbook's workflow (Temporal's workflow type), whose catalog entry names its containment steps. */
  workflow?: string;
  /** Where the events came from: a live query, or a replay of the event history. */
  source: 'query' | 'history';
  /** Temporal's view of the workflow: running, completed, failed, terminated, … */
  workflowStatus: string;
  /** How the workflow ended, when it failed, was terminated, timed out or was cancelled. */
  failure?: IncidentFailure;
  status?: IncidentStatus;
  events: TimelineEvent[];
  generatedAt: string;
}

export class IncidentNotFoundError extends Error {
  override readonly name = 'IncidentNotFoundError';
}

async function viaQuery(client: Client, handle: WorkflowHandle, timeoutMs: number) {
  return client.connection.withDeadline(Date.now() + timeoutMs, async () => ({
    events: await handle.query(timelineQuery),
    status: await handle.query(statusQuery),
  }));
}

/** Replays an incident's history with the workflow code, collecting the timeline sink's events. */
export async function timelineFromHistory(handle: WorkflowHandle, workflowsPath: string): Promise<TimelineEvent[]> {
  const history = await handle.fetchHistory();
  const events: TimelineEvent[] = [];
  await Worker.runReplayHistory(
    { workflowsPath, sinks: timelineSinks((e) => events.push(e), true), replayName: 'firebreak-timeline' },
    history,
    handle.workflowId,
  );
  return events;
}

/**
 * The incident's timeline. Asks a worker first (queries also work on closed
 * incidents while a worker runs); when none answers within `queryTimeoutMs`,
 * rebuilds it from the event history.
 */
export async function loadTimeline(
  client: Client,
  incidentId: string,
  opts: { workflowsPath: string; queryTimeoutMs?: number; preferHistory?: boolean },
): Promise<TimelineReport> {
  const handle = client.workflow.getHandle(incidentId);
  let description;
  try {
    description = await handle.describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) {
      throw new IncidentNotFoundError(`No incident "${incidentId}" exists: list incidents with \`firebreak list\`.`);
    }
    throw e;
  }
  const failure = await incidentFailure(handle, description.status.name);
  const base = {
    schema: timelineSchemaVersion,
    incidentId,
    workflow: description.type,
    workflowStatus: description.status.name.toLowerCase(),
    ...(failure === undefined ? {} : { failure }),
    generatedAt: new Date().toISOString(),
  } as const;
  if (!opts.preferHistory) {
    try {
      const { events, status } = await viaQuery(client, handle, opts.queryTimeoutMs ?? 5000);
      return { ...base, source: 'query', status, events };
    } catch {
      // No worker answered: rebuild from history below.
    }
  }
  return { ...base, source: 'history', events: await timelineFromHistory(handle, opts.workflowsPath) };
}
