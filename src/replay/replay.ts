/**
 * Replays recorded histories against a workflow bundle: the check that a
 * change to runbook code does not break an incident already open (a worker
 * running the new code would fail that incident's next workflow task).
 */
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { timelineSinks } from '../timeline/sinks.ts';
import { workflowsPath as firebreakWorkflows } from '../worker/paths.ts';
import { workflowTypeOf, type RecordedHistory } from './histories.ts';

/** A history the code could not replay. */
export interface ReplayFailure {
  workflowId: string;
  runId: string;
  workflowType: string;
  source: string;
  /** `nondeterminism`: the code now makes other commands than the history recorded; `failed`: replay failed otherwise. */
  kind: 'nondeterminism' | 'failed';
  /** The history event where code and history diverged, when Temporal names it. */
  eventId?: number;
  eventType?: string;
  message: string;
}

export interface ReplayReport {
  replayed: number;
  failures: ReplayFailure[];
}

export interface ReplayOptions {
  /** The workflows module to bundle (default: the worker's, workflows/index.ts). */
  workflowsPath?: string;
  /** A bundle already built (drills' cached bundle); wins over `workflowsPath`. */
  workflowBundle?: { code: string };
  /** Called after each history, with how many are done. */
  onProgress?: (done: number) => void;
}

const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

type HistoryEvent = NonNullable<History['events']>[number];

/** An event's type as Temporal names it in the UI (`ActivityTaskScheduled`), from its attributes. */
function eventTypeName(event: HistoryEvent): string | undefined {
  const attrs = Object.keys(event).find((k) => k.endsWith('EventAttributes') && (event as Record<string, unknown>)[k] != null);
  return attrs === undefined ? undefined : attrs[0]!.toUpperCase() + attrs.slice(1, -'EventAttributes'.length);
}

/**
 * Core's violation message names what differed ("Activity type of scheduled
 * event 'notify' does not match … command 'checkAws'") but no event id. The
 * id is found by replaying prefixes of the history, each ending where a
 * workflow task started (as an open incident's history does): the shortest
 * one that fails holds the diverging workflow task, and in it the event the
 * message describes (else its first command's event). Display only: whether
 * replay failed never depends on the message.
 */
function prefixes(h: RecordedHistory): { workflowId: string; history: History; end: number }[] {
  const events = h.history.events ?? [];
  const out: { workflowId: string; history: History; end: number }[] = [];
  events.forEach((e, i) => {
    if (e.workflowTaskStartedEventAttributes != null) out.push({ workflowId: `${h.workflowId}#${i}`, history: { events: events.slice(0, i + 1) }, end: i });
  });
  out.push({ workflowId: `${h.workflowId}#${events.length - 1}`, history: h.history, end: events.length - 1 });
  return out;
}

function divergentEvent(events: HistoryEvent[], failingEnd: number, previousEnd: number, message: string): HistoryEvent | undefined {
  const task = events.slice(previousEnd + 1, failingEnd + 1);
  const completed = task.findIndex((e) => e.workflowTaskCompletedEventAttributes != null);
  const commands = task.slice(completed + 1);
  const activity = /scheduled event '([^']+)'/.exec(message)?.[1];
  const described = activity === undefined ? undefined : commands.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity);
  return described ?? commands[0] ?? task[completed];
}

async function locateDivergences(bundle: { code: string }, failed: { failure: ReplayFailure; recorded: RecordedHistory }[]): Promise<void> {
  if (failed.length === 0) return;
  const cuts = failed.map(({ recorded }) => prefixes(recorded));
  const failing = new Set<string>();
  for await (const r of Worker.runReplayHistories({ workflowBundle: bundle, sinks: timelineSinks(() => undefined), replayName: 'firebreak-replay-locate' }, cuts.flat())) {
    if (r.error instanceof DeterminismViolationError) failing.add(r.workflowId);
  }
  failed.forEach(({ failure, recorded }, i) => {
    const list = cuts[i]!;
    const first = list.findIndex((c) => failing.has(c.workflowId));
    if (first < 0) return;
    const event = divergentEvent(recorded.history.events ?? [], list[first]!.end, first === 0 ? -1 : list[first - 1]!.end, failure.message);
    if (event?.eventId == null) return;
    failure.eventId = Number(event.eventId);
    const type = eventTypeName(event);
    if (type !== undefined) failure.eventType = type;
  });
}

/**
 * Replays every history against the workflow code, one replay worker for all
 * (the bundle is built once). Never throws for a history that does not replay:
 * it is in the report.
 */
export async function replayHistories(histories: AsyncIterable<RecordedHistory> | Iterable<RecordedHistory>, opts: ReplayOptions = {}): Promise<ReplayReport> {
  // Results come back in the order histories go in: each one's source and events, for the report.
  const fed: RecordedHistory[] = [];
  async function* feed() {
    for await (const h of histories) {
      fed.push(h);
      yield { workflowId: h.workflowId, history: h.history };
    }
  }
  // Bundled here, quietly, as the worker bundles it: the SDK's own bundling logs webpack's progress.
  const workflowBundle = opts.workflowBundle ?? (await bundleWorkflowCode({ workflowsPath: opts.workflowsPath ?? firebreakWorkflows, logger: quiet }));
  const report: ReplayReport = { replayed: 0, failures: [] };
  const replaying = Worker.runReplayHistories({ workflowBundle, sinks: timelineSinks(() => undefined), replayName: 'firebreak-replay' }, feed());
  const nondeterministic: { failure: ReplayFailure; recorded: RecordedHistory }[] = [];
  for await (const result of replaying) {
    const recorded = fed[report.replayed]!;
    report.replayed += 1;
    if (result.error === undefined) {
      opts.onProgress?.(report.replayed);
      continue;
    }
    const failure: ReplayFailure = {
      workflowId: result.workflowId,
      runId: result.runId,
      workflowType: workflowTypeOf(recorded.history),
      source: recorded.source,
      kind: result.error instanceof DeterminismViolationError ? 'nondeterminism' : 'failed',
      // Core's wording, without the SDK's paragraph around it.
      message: /\[TMPRL\d+\][^"]*/.exec(result.error.message)?.[0] ?? result.error.message,
    };
    report.failures.push(failure);
    if (failure.kind === 'nondeterminism') nondeterministic.push({ failure, recorded });
    opts.onProgress?.(report.replayed);
  }
  await locateDivergences(workflowBundle, nondeterministic);
  return report;
}
