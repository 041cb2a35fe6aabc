/**
 * A Slack outage, played against real incidents: the Slack Web API stub
 * answers every call 429 (with Retry-After) or 5xx for a window while
 * incidents open and operators answer their gates from the CLI; then Slack
 * recovers and the run waits until everything Firebreak meant to post is in
 * Slack. What Firebreak meant to post is read from each incident's history
 * (the `notify` activities it scheduled), what reached Slack from the stub
 * (calls it accepted), so neither side is taken from Firebreak's word.
 * Used by test/slack/slack-outage.test.ts and scripts/chaos-slack.ts.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Notice } from '../../activities/notify.ts';
import { statusQuery, timelineQuery } from '../../workflows/engine/messages.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import type { StepStatus } from '../../workflows/engine/types.ts';
import { timelineMessages } from '../slack/blocks.ts';
import type { OutageAnswer, SlackStub, StubCall } from './slack-stub.ts';

/** The gated steps of an outage incident, answered in this order. */
export const outageSteps = ['isolate', 'cordon'] as const;

export interface SlackOutageOptions {
  stub: SlackStub;
  client: Client;
  /** Opens the n-th incident: a runbook whose steps `isolate` then `cordon` are gated, approvable by the CLI operator. */
  open: (n: number) => Promise<WorkflowHandle>;
  /** Answers a gate as an operator does: `firebreak approve <incident> <step>`; ok when it exited 0. */
  approve: (incidentId: string, step: string) => Promise<{ ok: boolean; output: string }>;
  /** How long Slack is down. */
  outageMs: number;
  /** Incidents opened while Slack is down (default one per 30 s of outage, at least 2). */
  incidents?: number;
  retryAfterSeconds?: number;
  answers?: readonly OutageAnswer[];
  /** How long to wait, after Slack is back, for everything to be posted (default 3 minutes). */
  recoveryTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface CliDecision {
  incidentId: string;
  step: string;
  ok: boolean;
  /** The command, start to exit. */
  cliMs: number;
  /** From the command's start until the step's action had run (status `succeeded`). */
  effectMs: number;
  /** Made while Slack was down. */
  duringOutage: boolean;
}

export interface Delivery {
  /** Messages Firebreak's notices meant to post (from the incidents' histories). */
  meant: number;
  /** Of those, how many Slack accepted at least once. */
  accepted: number;
  /** Accepted more than once (each extra copy counted). */
  duplicates: number;
  /** Markers of the messages never accepted. */
  missing: string[];
}

export interface SlackOutageReport {
  incidents: string[];
  outageMs: number;
  /** From Slack's recovery until the last message was accepted. */
  caughtUpMs: number;
  /** Web API calls answered by the outage (429 or 5xx). */
  callsRefused: { total: number; rateLimited: number; serverErrors: number };
  /** Calls Slack accepted while it was down (must be 0: the outage was real). */
  acceptedDuringOutage: number;
  /** The highest attempt a pending notice reached during the outage. */
  maxNoticeAttempt: number;
  approvalRequests: Delivery;
  timelineBatches: Delivery;
  /** Timeline events on the incidents, and how many of them reached the thread. */
  timelineEvents: { recorded: number; posted: number; missing: string[] };
  /** `notice.failed` events on the incidents (a notice given up). */
  noticesFailed: number;
  /** `notice.delayed` events on the incidents (a notice that outlasted a round of retries). */
  noticesDelayed: number;
  decisions: CliDecision[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, find: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`Slack outage: ${what} did not happen within ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function stepStatus(handle: WorkflowHandle, step: string): Promise<StepStatus | undefined> {
  return (await handle.query(statusQuery)).steps.find((s) => s.id === step)?.status;
}

/** The notices an incident scheduled, once each (retries of an activity are not new events). */
export async function noticesScheduled(handle: WorkflowHandle): Promise<Notice[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityType?.name !== 'notify') return [];
    const payload = a.input?.payloads?.[0];
    return payload ? [defaultPayloadConverter.fromPayload<Notice>(payload)] : [];
  });
}

const text = (c: StubCall) => (typeof c.args['text'] === 'string' ? c.args['text'] : '');

/** How often Slack accepted each expected message (by its marker). */
function delivery(markers: string[], accepted: StubCall[], carries = (t: string, m: string) => t.includes(m)): Delivery {
  let got = 0;
  let duplicates = 0;
  const missing: string[] = [];
  for (const m of markers) {
    const n = accepted.filter((c) => carries(text(c), m)).length;
    if (n === 0) missing.push(m);
    else got += 1;
    duplicates += Math.max(0, n - 1);
  }
  return { meant: markers.length, accepted: got, duplicates, missing };
}

interface Expected {
  /** Request markers: one per `approval.requested` event on the timelines, and per request notice scheduled. */
  requests: string[];
  /** Thread messages the scheduled timeline notices make: the first event id (their marker) and every id. */
  batches: { marker: string; ids: string[] }[];
  events: TimelineEvent[];
}

/** What every incident meant to post: its timeline (what it says was notified) and the notices its history scheduled. */
async function expected(handles: WorkflowHandle[]): Promise<Expected> {
  const out: Expected = { requests: [], batches: [], events: [] };
  for (const h of handles) {
    const timeline = await h.query(timelineQuery);
    const requests = new Set(timeline.filter((e) => e.type === 'approval.requested').map((e) => e.id));
    for (const n of await noticesScheduled(h)) {
      if (n.kind === 'approval-requested') requests.add((n).requestId);
      if (n.kind === 'timeline') {
        const t = n;
        for (const b of timelineMessages(t.incident, t.events as TimelineEvent[])) out.batches.push({ marker: b.ids[0]!, ids: b.ids });
      }
    }
    out.requests.push(...[...requests].map((id) => `(request ${id})`));
    out.events.push(...timeline);
  }
  return out;
}

function tally(stub: SlackStub, e: Expected) {
  const posts = stub.accepted('chat.postMessage');
  const top = posts.filter((c) => c.args['thread_ts'] === undefined);
  const threaded = posts.filter((c) => c.args['thread_ts'] !== undefined);
  // A batch's text starts with its first event's id.
  const batches = delivery(e.batches.map((b) => b.marker), threaded, (t, m) => t.replace(/^\[DRILL\] /, '').startsWith(`${m} `));
  // An event reached Slack when a batch carrying it was accepted (its text may be truncated, its batch is not).
  const missingBatches = new Set(batches.missing);
  const posted = new Set(e.batches.filter((b) => !missingBatches.has(b.marker)).flatMap((b) => b.ids));
  const missingEvents = e.events.filter((ev) => !posted.has(ev.id)).map((ev) => ev.id);
  return {
    approvalRequests: delivery(e.requests, top),
    timelineBatches: batches,
    timelineEvents: { recorded: e.events.length, posted: e.events.length - missingEvents.length, missing: missingEvents },
  };
}

/** What the incidents meant to post against what Slack accepted, as of now. */
export async function deliveries(stub: SlackStub, handles: WorkflowHandle[]): Promise<ReturnType<typeof tally>> {
  return tally(stub, await expected(handles));
}

/** Runs the outage and answers with its figures; assertions are the caller's. */
export async function runSlackOutage(o: SlackOutageOptions): Promise<SlackOutageReport> {
  const log = o.log ?? (() => undefined);
  const count = o.incidents ?? Math.max(2, Math.floor(o.outageMs / 30_000));
  const handles: WorkflowHandle[] = [];
  const decisions: CliDecision[] = [];
  let down = false;

  const awaitingStep = (h: WorkflowHandle, step: string) =>
    until(`${h.workflowId} awaiting ${step}`, 60_000, async () => ((await stepStatus(h, step)) === 'awaiting-approval' ? true : undefined));

  const decide = async (h: WorkflowHandle, step: string) => {
    await awaitingStep(h, step);
    const t0 = Date.now();
    const r = await o.approve(h.workflowId, step);
    const cliMs = Date.now() - t0;
    if (!r.ok) throw new Error(`Slack outage: firebreak approve ${h.workflowId} ${step} failed: ${r.output}`);
    await until(`${h.workflowId} ${step} done after its approval`, 60_000, async () => ((await stepStatus(h, step)) === 'succeeded' ? true : undefined));
    decisions.push({ incidentId: h.workflowId, step, ok: r.ok, cliMs, effectMs: Date.now() - t0, duringOutage: down });
    log(`approved ${h.workflowId} ${step} from the CLI in ${cliMs} ms (step done after ${Date.now() - t0} ms)${down ? ' during the outage' : ''}`);
  };

  // One incident opens while Slack is up: its room and first request exist before the outage.
  const first = await o.open(0);
  handles.push(first);
  await awaitingStep(first, 'isolate');
  await o.stub.waitFor('the first approval request', () => o.stub.accepted('chat.postMessage').find((c) => text(c).includes(`(request ${first.workflowId}#`)), 30_000);

  o.stub.outage({ ...(o.answers ? { answers: o.answers } : {}), retryAfterSeconds: o.retryAfterSeconds ?? 5 });
  down = true;
  const outageStart = Date.now();
  log(`Slack down for ${Math.round(o.outageMs / 1000)} s; ${count} incidents open during it`);

  // During the outage: the first incident is answered to the end; each new one opens and its first gate is approved,
  // and the previous one's second gate. The last one's second request is left for Slack to post when it is back.
  await decide(first, 'isolate');
  await decide(first, 'cordon');
  const spacing = o.outageMs / (count + 1);
  let maxNoticeAttempt = 0;
  for (let i = 1; i <= count; i += 1) {
    const at = outageStart + spacing * i;
    while (Date.now() < at) {
      maxNoticeAttempt = Math.max(maxNoticeAttempt, await pendingAttempts(handles));
      await sleep(Math.min(2_000, Math.max(0, at - Date.now())));
    }
    const h = await o.open(i);
    handles.push(h);
    await decide(h, 'isolate');
    if (i > 1) await decide(handles[i - 1]!, 'cordon');
  }
  while (Date.now() < outageStart + o.outageMs) {
    maxNoticeAttempt = Math.max(maxNoticeAttempt, await pendingAttempts(handles));
    await sleep(Math.min(2_000, Math.max(0, outageStart + o.outageMs - Date.now())));
  }
  maxNoticeAttempt = Math.max(maxNoticeAttempt, await pendingAttempts(handles));
  o.stub.recover();
  down = false;
  const recoveredAt = Date.now();
  const refused = o.stub.calls.filter((c) => c.outage === true);
  const acceptedDuringOutage = o.stub.calls.filter((c) => c.ok && c.at >= outageStart && c.at < recoveredAt).length;
  log(`Slack back after ${Math.round((recoveredAt - outageStart) / 1000)} s; ${refused.length} calls refused meanwhile`);

  // Caught up when every request and batch meant so far was accepted and every event is in a thread;
  // read again each time, since posting the backlog records nothing new but the feed may still be batching.
  await until('every notice posted after Slack came back', o.recoveryTimeoutMs ?? 180_000, async () => {
    const t = tally(o.stub, await expected(handles));
    const done = t.approvalRequests.missing.length === 0 && t.timelineBatches.missing.length === 0 && t.timelineEvents.missing.length === 0;
    return done ? true : undefined;
  }).catch(async (e: unknown) => {
    const t = tally(o.stub, await expected(handles));
    throw new Error(`${(e as Error).message}: ${JSON.stringify({ requests: t.approvalRequests.missing, batches: t.timelineBatches.missing, events: t.timelineEvents.missing })}`);
  });
  const caughtUpMs = Date.now() - recoveredAt;
  const final = await expected(handles);
  return {
    incidents: handles.map((h) => h.workflowId),
    outageMs: recoveredAt - outageStart,
    caughtUpMs,
    callsRefused: { total: refused.length, rateLimited: refused.filter((c) => c.status === 429).length, serverErrors: refused.filter((c) => c.status >= 500).length },
    acceptedDuringOutage,
    maxNoticeAttempt,
    ...tally(o.stub, final),
    noticesFailed: final.events.filter((e) => e.type === 'notice.failed').length,
    noticesDelayed: final.events.filter((e) => e.type === 'notice.delayed').length,
    decisions,
  };
}

/** The highest attempt among the incidents' pending notify activities. */
async function pendingAttempts(handles: WorkflowHandle[]): Promise<number> {
  let max = 0;
  for (const h of handles) {
    for (const p of (await h.describe()).raw.pendingActivities ?? []) {
      if (p.activityType?.name === 'notify') max = Math.max(max, p.attempt ?? 0);
    }
  }
  return max;
}
