/**
 * The drill director: runs a scenario's runbook — the real workflow code on a
 * drill task queue of its own, the real activities bound to a simulated
 * world — on Temporal's time-skipping test server, advancing virtual time
 * from one event to the next (an inject, a responder's decision, the
 * adversary's next move, a gate's deadline). Between events it waits, in real
 * time, until the runbook has done everything it can at the present instant:
 * the server does not skip time while a workflow or activity task is
 * outstanding, so activities take no virtual time and a gate's timeout fires
 * exactly when the policy says.
 */
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps, type Notice } from '../../activities/index.ts';
import { drillIdPart, drillTaskQueuePrefix } from '../../domain/drills.ts';
import { decideUpdate, rollbackUpdate, statusQuery, timelineQuery, type IncidentStatus } from '../../workflows/engine/messages.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import type { IncidentInput } from '../../workflows/engine/types.ts';
import { withChildPolicies } from '../incidents/open.ts';
import { temporalDelivery } from '../intake/deliver.ts';
import { normaliseBody } from '../intake/normalise.ts';
import { incidentInputFor, routeAlert } from '../intake/router.ts';
import type { RunbookPolicy } from '../runbooks/index.ts';
import { timelineSinks } from '../timeline/sinks.ts';
import { drillWorkflowBundle } from './bundle.ts';
import { historyReading, moodOf, type HistoryReading } from './reading.ts';
import type { AdversaryAction, Scenario, WorldCheck } from './scenario.ts';
import type { AdversaryOutcome } from './scorecard-types.ts';

/** The simulated world a drill acts on (src/drills/world). */
export interface DrillWorld {
  deps: ActivityDeps;
  setClock(now: () => number): void;
  attempt(action: AdversaryAction): { succeeded: boolean; detail: string };
  check(c: WorldCheck): { ok: boolean; detail: string };
  residue(): string[];
  notices(): Notice[];
  faultsInjected(): number;
  close(): Promise<void>;
}

/** An inject as the director delivers it: the alert's body in its source's format. */
export interface LoadedInject {
  at: number;
  source: Scenario['injects'][number]['source'];
  body: string;
  /** Whether the scenario says intake routes it to the runbook. */
  routes: boolean;
}

export interface DirectorInput {
  scenario: Scenario;
  injects: LoadedInject[];
  policy: RunbookPolicy;
  /** Every policy loaded, for the runbook's children (the container-escape runbook offers credential compromise). */
  policies: readonly RunbookPolicy[];
  world: DrillWorld;
  env: TestWorkflowEnvironment;
  progress?: (line: string) => void;
}

export interface ResponderAct {
  at: number;
  responder: string;
  incidentId: string;
  step: string;
  decision: 'approve' | 'deny';
  /** The engine's answer: accepted, or why the vote was refused. */
  result: string;
}

export interface DirectorResult {
  /** The incident the first routed alert opened (the one scored), and every other incident of the drill. */
  incidentId: string | undefined;
  incidents: string[];
  startMs: number;
  endMs: number;
  firstAlertMs: number | undefined;
  timeline: TimelineEvent[];
  status: IncidentStatus | undefined;
  adversary: AdversaryOutcome[];
  responders: ResponderAct[];
  /** Injects that did not do what the scenario says (route, or be dropped), with why. */
  unrouted: string[];
  rollback: { requestedAt: number; result: string } | undefined;
  /** Events the director handled (injects, decisions, adversary moves, deadlines). */
  events: number;
}

type Planned =
  | { at: number; order: number; kind: 'inject'; inject: LoadedInject; index: number }
  | { at: number; order: number; kind: 'adversary'; name: string; action: AdversaryAction }
  | { at: number; order: number; kind: 'rollback'; by: string; reason: string };

interface Reaction {
  at: number;
  key: string;
  incidentId: string;
  step: string;
  requestId: string;
  responder: string;
  decision: 'approve' | 'deny';
  reason?: string;
}

/** The scenario's fixed events in time order; at the same instant alerts come first, the adversary last. */
function plan(s: Scenario, injects: LoadedInject[]): Planned[] {
  const out: Planned[] = injects.map((inject, index) => ({ at: inject.at, order: 0, kind: 'inject', inject, index }));
  for (const a of s.adversary) {
    for (let at = a.at; at <= s.horizon; at += a.every ?? Number.POSITIVE_INFINITY) {
      out.push({ at, order: 2, kind: 'adversary', name: a.name, action: a.action });
      if (a.every === undefined) break;
    }
  }
  if (s.rollback !== undefined) out.push({ at: s.rollback.at, order: 1, kind: 'rollback', by: s.rollback.by, reason: s.rollback.reason });
  return out.sort((a, b) => a.at - b.at || a.order - b.order);
}

/** The drill incident id for an alert's route: never the id of a live incident. */
function drillIncidentId(routeId: string, policy: RunbookPolicy, scenario: string): string {
  return `${policy.id}${drillIdPart}${scenario}.${routeId.slice(policy.id.length + 1)}`;
}

function describeAction(a: AdversaryAction): string {
  const { kind, ...rest } = a;
  return `${kind} ${Object.values(rest).join('/')}`;
}

export async function direct(input: DirectorInput): Promise<DirectorResult> {
  const { scenario: s, env, world, policy } = input;
  const say = input.progress ?? (() => undefined);
  const taskQueue = `${drillTaskQueuePrefix}${s.scenario.name}-${randomUUID().slice(0, 8)}`;
  const client: Client = env.client;
  const delivery = temporalDelivery(client);

  const startMs = await env.currentTimeMs();
  let nowMs = startMs;
  world.setClock(() => nowMs);

  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: await drillWorkflowBundle(),
    activities: createActivities(world.deps),
    sinks: timelineSinks(() => undefined),
    // Nothing to drain: the drill ends when the director says so.
    shutdownGraceTime: '1 second',
  });

  const incidents = new Map<string, WorkflowHandle>();
  let primary: string | undefined;
  let firstAlertMs: number | undefined;
  const adversary: AdversaryOutcome[] = [];
  const responders: ResponderAct[] = [];
  const unrouted: string[] = [];
  let rollback: DirectorResult['rollback'];
  let events = 0;
  const scheduled = new Set<string>();
  let reactions: Reaction[] = [];
  let deadlines: number[] = [];
  const observed = new Map<string, { historyLength: number; shape: string; deadlines: number[] }>();
  /** Incidents whose only news since they were last observed is an alert the director delivered. */
  const quietSignals = new Set<string>();

  const iso = (ms: number) => new Date(ms).toISOString();
  const offset = (ms: number) => `+${Math.round((ms - startMs) / 1000)}s`;

  /** Per incident, its history as last fetched. */
  const histories = new Map<string, HistoryReading>();
  /** Per incident, the history length the previous look's describe reported. */
  const described = new Map<string, number>();

  /**
   * The incident's history, fetched only when describe reports a length other
   * than the last fetch's: a history only grows, so the same length is the same
   * events, and what they say still holds. The time-skipping server returns the
   * whole history whatever the page size or token (and has no reverse read),
   * so a fetch costs the whole history: none while it still grows from one look
   * to the next (undefined: busy).
   */
  async function historyOf(id: string, h: WorkflowHandle, describedLength: number): Promise<HistoryReading | undefined> {
    const known = histories.get(id);
    if (known?.length === describedLength) return known;
    const before = described.get(id);
    described.set(id, describedLength);
    if (before !== describedLength) return undefined;
    const read = historyReading((await h.fetchHistory()).events ?? []);
    histories.set(id, read);
    return read;
  }

  /** One look at the worker and the server; with each running incident's history length. */
  async function look(): Promise<{ mood: 'busy' | 'backoff' | 'calm'; lengths: string }> {
    const st = worker.getStatus();
    if (st.numInFlightWorkflowActivations > 0 || st.numInFlightActivities > 0) return { mood: 'busy', lengths: '' };
    let backoff = false;
    const lengths: string[] = [];
    for (const [id, h] of incidents) {
      // Describe first, the history after: the reading counts only if the history did not move in between.
      const d = await h.describe();
      if (d.status.name !== 'RUNNING') continue;
      const activityAttempts = (d.raw.pendingActivities ?? []).map((a) => a.attempt ?? 1);
      // Work describe shows needs no history to tell.
      if (d.raw.pendingWorkflowTask != null || activityAttempts.some((a) => a <= 1)) return { mood: 'busy', lengths: '' };
      const history = await historyOf(id, h, d.historyLength);
      if (history === undefined) return { mood: 'busy', lengths: '' };
      const mood = moodOf({ describedLength: d.historyLength, activityAttempts, history });
      if (mood === 'busy') return { mood, lengths: '' };
      if (mood === 'backoff') backoff = true;
      lengths.push(`${id}=${history.length}`);
    }
    return { mood: backoff ? 'backoff' : 'calm', lengths: lengths.join(' ') };
  }

  /**
   * Waits until each incident has handled the gate deadlines now past: its
   * status shows none of them still pending. The timer fires on the server a
   * moment after the sleep returns, so the history alone cannot tell "fired
   * and handled" from "not fired yet".
   */
  async function deadlinesHandled(ids: readonly string[]): Promise<void> {
    const until = Date.now() + 60_000;
    for (const id of ids) {
      const h = incidents.get(id);
      if (h === undefined) continue;
      for (;;) {
        if ((await h.describe()).status.name !== 'RUNNING') break;
        const overdue = (await h.query(statusQuery)).pendingApprovals.filter((p) => p.deadline !== undefined && Date.parse(p.deadline) < nowMs);
        if (overdue.length === 0) break;
        if (Date.now() > until) {
          throw new Error(`${id} still waits on ${overdue.map((p) => p.step).join(', ')} past its deadline after 60 s of real time at ${offset(nowMs)}: the gate's timer did not fire (see the worker log)`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }

  /** Skips of virtual time longer than this are confirmed by `stillSettled` first. */
  const longSkipMs = 10 * 60_000;

  /**
   * Whether, 50 ms of real time later, nothing runs and every history is as
   * the last settle read it. Hours of virtual time skipped on a wrong reading
   * let gates time out unobserved, so a long skip is not taken on one reading.
   * (The wrong reading CI hit, describe taken before a workflow task completed
   * and the history after, is refused by `moodOf` itself.)
   */
  async function stillSettled(): Promise<boolean> {
    await new Promise((r) => setTimeout(r, 50));
    const { mood, lengths } = await look();
    return mood !== 'busy' && lengths === settledLengths;
  }

  /** Every running incident's history length when the runbook last settled (`id=length …`). */
  let settledLengths = '';
  const settledLengthsById = () => new Map(settledLengths.split(' ').filter((x) => x !== '').map((x) => [x.slice(0, x.lastIndexOf('=')), Number(x.slice(x.lastIndexOf('=') + 1))]));

  /** Waits, in real time, until nothing runs at this instant: the worker idle, no first-attempt activity pending, no workflow task waiting. */
  async function settle(): Promise<'backoff' | 'calm'> {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const { mood, lengths } = await look();
      if (mood !== 'busy') {
        settledLengths = lengths;
        return mood;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    throw new Error(`the drill's runbook was still busy after 120 s of real time at ${offset(nowMs)}: an activity hangs (see the worker log)`);
  }

  /** Reads every incident's gates: new requests and escalations become responders' reactions, deadlines wake-ups. */
  async function observe(): Promise<void> {
    // The lengths the last settle saw: observe always follows one.
    const lengths = settledLengthsById();
    for (const [id, h] of incidents) {
      const historyLength = lengths.get(id);
      if (historyLength === undefined) {
        observed.delete(id);
        continue;
      }
      // Nothing new in its history (only the adversary or the clock moved): its gates are as last seen.
      const seen = observed.get(id);
      if (seen?.historyLength === historyLength) continue;
      if (seen !== undefined && quietSignals.delete(id)) {
        seen.historyLength = historyLength;
        continue;
      }
      const status = await h.query(statusQuery);
      // Steps and gates as they were (another alert joined, say): nothing for a responder, no new child.
      const shape = JSON.stringify([status.steps.map((x) => x.status), status.pendingApprovals.map((p) => [p.step, p.approvals, p.deadline, p.approvers])]);
      if (seen?.shape === shape) {
        seen.historyLength = historyLength;
        continue;
      }
      const timeline = await h.query(timelineQuery);
      const mine: number[] = [];
      observed.set(id, { historyLength, shape, deadlines: mine });
      for (const p of status.pendingApprovals) {
        if (p.deadline !== undefined) mine.push(Date.parse(p.deadline) + 1);
        const request = [...timeline].reverse().find((e) => e.type === 'approval.requested' && e.step === p.step);
        if (request === undefined) continue;
        const escalation = timeline.find((e) => e.type === 'approval.escalated' && e.step === p.step && e.seq > request.seq);
        for (const r of s.responders) {
          if (r.unreachable) continue;
          const reached = p.approvers.includes(r.id) || (escalation?.type === 'approval.escalated' && escalation.data.to.some((t) => t === r.id || `slack:${t}` === r.id));
          if (!reached) continue;
          const rule = r.decide.find((d) => (d.step === p.step || d.step === '*') && (!d.onEscalation || escalation !== undefined));
          if (rule === undefined) continue;
          const from = rule.onEscalation ? escalation!.at : request.at;
          const key = `${id}|${request.id}|${r.id}|${rule.onEscalation ? 'e' : 'r'}`;
          if (scheduled.has(key)) continue;
          scheduled.add(key);
          reactions.push({
            at: Date.parse(from) + rule.after,
            key,
            incidentId: id,
            step: p.step,
            requestId: request.id,
            responder: r.id,
            decision: rule.decision,
            ...(rule.reason === undefined ? {} : { reason: rule.reason }),
          });
        }
      }
      // Children this incident started join the drill (their gates have responders too).
      for (const e of timeline) {
        if (e.type === 'action.succeeded' && e.data.action.startsWith('start ')) {
          for (const childId of childIdsOf(id, e.data.changed)) {
            if (!incidents.has(childId)) incidents.set(childId, client.workflow.getHandle(childId));
          }
        }
      }
    }
    deadlines = [...observed.values()].flatMap((o) => o.deadlines);
  }

  function childIdsOf(parent: string, changed: string): string[] {
    return (changed.match(/[A-Za-z0-9:._-]+/g) ?? []).filter((w) => w.startsWith(`${parent}.`));
  }

  async function deliver(p: Extract<Planned, { kind: 'inject' }>): Promise<void> {
    const receivedAt = iso(nowMs);
    const what = `inject ${p.index + 1} (${p.inject.source}) at ${offset(nowMs)}`;
    let alerts;
    try {
      alerts = normaliseBody(p.inject.source, p.inject.body, receivedAt);
    } catch (e) {
      if (p.inject.routes) unrouted.push(`${what}: intake refused it: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    for (const alert of alerts) {
      const routes = routeAlert(alert, [policy], 'live');
      if (routes.length === 0) {
        if (p.inject.routes) unrouted.push(`${what}: routed to no runbook (the policy's triggers do not match it)`);
        else say(`${what}: dropped by intake, as the scenario expects`);
        continue;
      }
      if (!p.inject.routes) unrouted.push(`${what}: the scenario says intake drops it, but it routed to ${policy.id}`);
      for (const route of routes) {
        const incidentId = drillIncidentId(route.incidentId, route.policy, s.scenario.name);
        const base = incidentInputFor(alert, route, { groups: s.groups, mode: 'live' });
        const opened: IncidentInput = { ...withChildPolicies({ ...base, policy: route.policy }, input.policies), incidentId, drill: { scenario: s.scenario.name } };
        const r = await delivery.open({ workflowType: route.policy.workflow, taskQueue, input: opened });
        firstAlertMs ??= nowMs;
        const known = incidents.has(incidentId);
        if (!known) incidents.set(incidentId, client.workflow.getHandle(incidentId));
        // Another alert joining an incident whose gates it lifts none of changes nothing a responder sees.
        const unchanged = observed.get(incidentId);
        if (known && !r.started && route.autoContainSteps.length === 0 && unchanged !== undefined && settledLengthsById().get(incidentId) === unchanged.historyLength) {
          quietSignals.add(incidentId);
        }
        primary ??= incidentId;
        if (r.started || !known) say(`${offset(nowMs)} alert (${p.inject.source}) opened drill incident ${incidentId}`);
      }
    }
  }

  async function react(r: Reaction): Promise<void> {
    const h = incidents.get(r.incidentId)!;
    let result = 'accepted';
    try {
      await h.executeUpdate(decideUpdate, {
        args: [{ step: r.step, decision: r.decision, actor: r.responder, requestId: r.requestId, ...(r.reason === undefined ? {} : { reason: r.reason }) }],
      });
    } catch (e) {
      result = `refused: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`;
    }
    responders.push({ at: r.at, responder: r.responder, incidentId: r.incidentId, step: r.step, decision: r.decision, result });
    say(`${offset(nowMs)} ${r.responder} ${r.decision}s ${r.step} (${result})`);
  }

  const planned = plan(s, input.injects);
  let mood: 'backoff' | 'calm' = 'calm';
  const settled = async () => {
    mood = await settle();
  };
  const run = async () => {
    let i = 0;
    // After this, every step that can move the runbook settles it, so each turn starts settled.
    await settled();
    for (;;) {
      await observe();
      reactions = reactions.sort((a, b) => a.at - b.at);
      if (nowMs >= startMs + s.horizon && (planned[i] === undefined || planned[i]!.at + startMs > nowMs) && (reactions[0] === undefined || reactions[0].at > nowMs)) break;
      const candidates = [planned[i] === undefined ? undefined : startMs + planned[i]!.at, reactions[0]?.at, ...deadlines.filter((d) => d > nowMs), mood === 'backoff' ? nowMs + 1000 : undefined]
        .filter((t): t is number => t !== undefined)
        .map((t) => Math.max(t, startMs));
      const next = Math.min(...candidates, startMs + s.horizon);
      if (next > nowMs) {
        // A long skip (a gate could time out in it unobserved) is never taken on a stale reading: the runbook must
        // still be settled a moment later, as last read. Short ones are left alone: a drill makes hundreds.
        if (next - nowMs > longSkipMs && !(await stillSettled())) {
          await settled();
          continue;
        }
        // Gates whose deadline this sleep passes: their timer fires on the server a moment after the sleep returns.
        const due = [...observed].filter(([, o]) => o.deadlines.some((d) => d <= next)).map(([id]) => id);
        await env.sleep(next - nowMs);
        nowMs = Math.max(await env.currentTimeMs(), next);
        await deadlinesHandled(due);
        await settled();
        if (due.length > 0) events += 1;
        // What the sleep brought (a timed-out gate, its escalation) is observed before anything acts on it.
        continue;
      }
      // Everything due now, one at a time, the runbook settling after each.
      while (reactions[0] !== undefined && reactions[0].at <= nowMs) {
        events += 1;
        await react(reactions.shift()!);
        await settled();
      }
      while (planned[i] !== undefined && startMs + planned[i]!.at <= nowMs) {
        const p = planned[i]!;
        i += 1;
        events += 1;
        if (p.kind === 'inject') await deliver(p);
        else if (p.kind === 'adversary') {
          const outcome = world.attempt(p.action);
          adversary.push({
            at: iso(nowMs),
            name: p.name,
            kind: p.action.kind,
            succeeded: outcome.succeeded,
            afterAlert: firstAlertMs !== undefined && nowMs >= firstAlertMs,
            detail: `${describeAction(p.action)}: ${outcome.detail}`,
          });
          say(`${offset(nowMs)} adversary: ${p.name} — ${outcome.succeeded ? 'succeeded' : 'stopped'} (${outcome.detail})`);
          // The adversary moves the world, not the runbook: nothing to settle.
          continue;
        } else if (primary !== undefined) {
          let result = 'accepted';
          try {
            await incidents.get(primary)!.executeUpdate(rollbackUpdate, { args: [{ actor: p.by, reason: p.reason }] });
          } catch (e) {
            result = `refused: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`;
          }
          rollback = { requestedAt: nowMs, result };
          say(`${offset(nowMs)} ${p.by} rolls back (${result})`);
        }
        await settled();
      }
    }
  };

  // Queries need the worker: the final timeline is read before it stops.
  const finish = async (): Promise<DirectorResult> => {
    await run();
    const h = primary === undefined ? undefined : incidents.get(primary);
    const [timeline, status] = h === undefined ? [[], undefined] : await Promise.all([h.query(timelineQuery), h.query(statusQuery)]);
    return { incidentId: primary, incidents: [...incidents.keys()], startMs, endMs: nowMs, firstAlertMs, timeline, status, adversary, responders, unrouted, rollback, events };
  };
  return worker.runUntil(finish());
}
