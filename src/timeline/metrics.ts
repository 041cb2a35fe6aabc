/**
 * An incident's key times, computed from its timeline alone: the same code
 * for a live incident's post-incident report and a drill's scorecard.
 */
import { rollbackStep } from '../../workflows/engine/lifecycle.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';

export interface GateWait {
  step: string;
  /** When the request went out (ISO), when the gate settled (ISO, absent while open), and the wait in ms. */
  requestedAt: string;
  settledAt: string | null;
  waitMs: number | null;
  /**
   * approve | deny | timeout-deny | timeout-proceed | auto-contain; null while open.
   * rolled-back: a rollback went ahead while it waited, which settles it as denied.
   * An auto-containment rule that lifted the gate before it opened gives an
   * entry with a wait of 0.
   */
  outcome: string | null;
  /** Who settled it (principals of the deciding votes), empty for a timeout. */
  decidedBy: string[];
  escalations: number;
  /** Settled by its deadline (timeout-deny, timeout-proceed); a deadline that escalated counts in `escalations`. */
  timedOut: boolean;
}

export interface IncidentMetrics {
  /** The first alert (or the start, for an incident a person opened), ISO. */
  detectedAt: string | null;
  /** The first human act on the incident (a vote, a rollback, a close), ISO. */
  acknowledgedAt: string | null;
  /** The first containment step (the catalog's `containment`) to finish with a change in force. */
  firstContainedAt: string | null;
  /** The last containment step to finish, once no containment step is still open, failed or denied. */
  fullyContainedAt: string | null;
  closedAt: string | null;
  /** Each of these from detectedAt, in ms. */
  timeToAcknowledge: number | null;
  timeToFirstContainment: number | null;
  timeToFullContainment: number | null;
  gates: GateWait[];
  /** The sum of every gate's wait, ms. */
  waitingOnApprovalMs: number;
}

type Event = TimelineEvent;

/** People act as `slack:U…` or `cli:<operator>`; alerts, policies and the engine act under other names or none. */
function isHuman(actor: string | undefined): boolean {
  return actor !== undefined && /^(slack|cli):/.test(actor);
}

function msBetween(from: string | null, to: string | null): number | null {
  return from === null || to === null ? null : Date.parse(to) - Date.parse(from);
}

/** Every opening of a gate, in request order, settled as its events say (a rollback's supersession comes later). */
function gateWaits(timeline: readonly Event[]): GateWait[] {
  const gates: GateWait[] = [];
  const open = new Map<string, GateWait>();
  const settle = (g: GateWait, at: string, outcome: string) => {
    g.settledAt = at;
    g.waitMs = Date.parse(at) - Date.parse(g.requestedAt);
    g.outcome = outcome;
    open.delete(g.step);
  };
  for (const e of timeline) {
    if (e.step === undefined) continue;
    const g = open.get(e.step);
    switch (e.type) {
      case 'approval.requested': {
        const opened: GateWait = { step: e.step, requestedAt: e.at, settledAt: null, waitMs: null, outcome: null, decidedBy: [], escalations: 0, timedOut: false };
        gates.push(opened);
        open.set(e.step, opened);
        break;
      }
      case 'approval.granted':
        if (g === undefined) break;
        if (e.actor !== undefined && !g.decidedBy.includes(e.actor)) g.decidedBy.push(e.actor);
        if (e.data.approvals >= e.data.required) settle(g, e.at, 'approve');
        break;
      case 'approval.denied':
        if (g === undefined) break;
        // The denial alone decides: approvals cast before it did not.
        g.decidedBy = e.actor === undefined ? [] : [e.actor];
        settle(g, e.at, 'deny');
        break;
      case 'approval.timed-out':
        if (g === undefined || e.data.onTimeout === 'escalate') break;
        g.decidedBy = [];
        g.timedOut = true;
        settle(g, e.at, e.data.onTimeout === 'proceed' ? 'timeout-proceed' : 'timeout-deny');
        break;
      case 'approval.escalated':
        if (g !== undefined) g.escalations += 1;
        break;
      case 'approval.skipped':
        if (g !== undefined) settle(g, e.at, 'auto-contain');
        else {
          // Lifted before it opened: the step passed its gate without waiting at all.
          gates.push({ step: e.step, requestedAt: e.at, settledAt: e.at, waitMs: 0, outcome: 'auto-contain', decidedBy: [], escalations: 0, timedOut: false });
        }
        break;
      default:
        break;
    }
  }
  return gates;
}

const goAhead = new Set(['approve', 'timeout-proceed', 'auto-contain']);
const undoEvents = new Set<Event['type']>(['rollback.compensated', 'rollback.kept', 'rollback.failed', 'rollback.finished']);

/**
 * When a rollback went ahead (the runbook halted), or null: the rollback
 * gate's go-ahead, or, for a rollback with no gate, its request, once undo
 * events show it ran.
 */
function haltedAt(timeline: readonly Event[], gates: readonly GateWait[]): string | null {
  const passed = gates.find((g) => g.step === rollbackStep && g.outcome !== null && goAhead.has(g.outcome));
  let ungated: string | null = null;
  let pending: string | null = null;
  for (const e of timeline) {
    if (e.type === 'rollback.requested') pending = e.at;
    else if (e.type === 'approval.requested' && e.step === rollbackStep) pending = null;
    else if (pending !== null && undoEvents.has(e.type)) {
      ungated = pending;
      break;
    }
  }
  const candidates = [passed?.settledAt ?? null, ungated].filter((t): t is string => t !== null);
  return candidates.sort((a, b) => Date.parse(a) - Date.parse(b))[0] ?? null;
}

/** Where one containment step stands, from its events: blocked (failed, denied, stopped), actions in flight, and when it last finished something. */
interface StepStanding {
  blocked: boolean;
  seen: boolean;
  inFlight: number;
  finishedAt: string | null;
}

function standings(timeline: readonly Event[], steps: readonly string[], gates: readonly GateWait[], halt: string | null): Map<string, StepStanding> {
  const out = new Map<string, StepStanding>(steps.map((s) => [s, { blocked: false, seen: false, inFlight: 0, finishedAt: null }]));
  for (const e of timeline) {
    const s = e.step === undefined ? undefined : out.get(e.step);
    if (s === undefined) continue;
    s.seen = true;
    switch (e.type) {
      case 'action.started':
        s.inFlight += 1;
        break;
      case 'action.succeeded':
      case 'action.already-done':
        s.inFlight -= 1;
        s.finishedAt = e.at;
        break;
      case 'action.target-gone':
        // Nothing left to contain there: neither a containment nor a gap.
        s.inFlight -= 1;
        s.finishedAt = e.at;
        break;
      case 'action.failed':
        s.inFlight = Math.max(0, s.inFlight - 1);
        s.blocked = true;
        break;
      case 'check.failed':
        // The proof that the change holds failed: it is not in force.
        s.blocked = true;
        break;
      case 'check.passed':
        s.finishedAt = e.at;
        break;
      case 'action.skipped':
        // A step the rollback stopped before it ran was never contained.
        if (halt !== null && Date.parse(e.at) >= Date.parse(halt)) s.blocked = true;
        else s.finishedAt ??= e.at;
        break;
      default:
        break;
    }
  }
  for (const g of gates) {
    const s = out.get(g.step);
    if (s === undefined) continue;
    const last = gates.filter((x) => x.step === g.step).at(-1);
    if (g === last && (g.outcome === null || !goAhead.has(g.outcome))) s.blocked = true;
  }
  return out;
}

export function incidentMetrics(timeline: readonly TimelineEvent[], o: { containmentSteps: readonly string[] }): IncidentMetrics {
  const opened = timeline.find((e) => e.type === 'incident.opened');
  const detectedAt = timeline.find((e) => e.type === 'alert.received')?.at ?? opened?.at ?? null;
  const acknowledgedAt =
    timeline.find((e) => (e.type === 'approval.granted' || e.type === 'approval.denied' || e.type === 'rollback.requested' || e.type === 'incident.closed') && isHuman(e.actor))?.at ?? null;
  const closedAt = timeline.find((e) => e.type === 'incident.closed')?.at ?? null;

  const gates = gateWaits(timeline);
  const halt = haltedAt(timeline, gates);
  if (halt !== null) {
    // A rollback settles every other open gate as denied, with no event of its own.
    for (const g of gates) {
      if (g.outcome === null && g.step !== rollbackStep && Date.parse(g.requestedAt) <= Date.parse(halt)) {
        g.settledAt = halt;
        g.waitMs = Date.parse(halt) - Date.parse(g.requestedAt);
        g.outcome = 'rolled-back';
      }
    }
  }

  let firstContainedAt: string | null = null;
  let fullyContainedAt: string | null = null;
  // A dry run changes nothing, so nothing was ever contained.
  if (opened?.data.mode !== 'dry-run') {
    firstContainedAt =
      timeline.find((e) => (e.type === 'action.succeeded' || e.type === 'action.already-done') && e.step !== undefined && o.containmentSteps.includes(e.step))?.at ?? null;
    const steps = [...standings(timeline, o.containmentSteps, gates, halt).values()];
    const settled = steps.every((s) => s.seen && !s.blocked && s.inFlight <= 0);
    if (firstContainedAt !== null && settled) {
      fullyContainedAt = steps
        .flatMap((s) => (s.finishedAt === null ? [] : [s.finishedAt]))
        .sort((a, b) => Date.parse(a) - Date.parse(b))
        .at(-1)!;
    }
  }

  return {
    detectedAt,
    acknowledgedAt,
    firstContainedAt,
    fullyContainedAt,
    closedAt,
    timeToAcknowledge: msBetween(detectedAt, acknowledgedAt),
    timeToFirstContainment: msBetween(detectedAt, firstContainedAt),
    timeToFullContainment: msBetween(detectedAt, fullyContainedAt),
    gates,
    waitingOnApprovalMs: gates.reduce((sum, g) => sum + (g.waitMs ?? 0), 0),
  };
}
