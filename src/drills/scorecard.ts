/**
 * Scoring a drill: the director's record and the world's state against the
 * scenario's `expect` and `pass`. Key times come from the same code as a
 * live incident's report (src/timeline/metrics.ts).
 */
import { engineFailure } from '../../domain/failures.ts';
import { workflowCatalog } from '../../workflows/catalog.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { incidentMetrics } from '../timeline/metrics.ts';
import { formatDuration } from '../timeline/render.ts';
import type { DirectorResult, DrillWorld } from './director.ts';
import type { Expectation, Scenario, Threshold, WorldCheck } from './scenario.ts';
import { scorecardSchemaVersion, type ExpectationOutcome, type Scorecard, type ThresholdOutcome } from './scorecard-types.ts';

/** A scorecard duration as people read it (the post-incident report's format); `never` when it did not happen. */
export function formatMs(ms: number | null): string {
  return ms === null ? 'never' : formatDuration(ms);
}

function describeCheck(c: WorldCheck): string {
  const { kind, ...rest } = c;
  return `${kind} ${Object.values(rest).join('/')}`;
}

/** Where a step's work ended: its last action event that left the change in force. */
function stepDoneAt(timeline: readonly TimelineEvent[], step: string): TimelineEvent | undefined {
  return [...timeline].reverse().find((e) => e.step === step && (e.type === 'action.succeeded' || e.type === 'action.already-done' || e.type === 'check.passed'));
}

interface Facts {
  s: Scenario;
  r: DirectorResult;
  world: DrillWorld;
  realCalls: number;
  residue: string[];
  excused: Map<string, string>;
}

function judge(e: Expectation, f: Facts): ExpectationOutcome {
  const { r, s } = f;
  const since = (at: string) => Date.parse(at) - (r.firstAlertMs ?? r.startMs);
  if ('step' in e && 'notRun' in e) {
    const started = r.timeline.find((x) => x.step === e.step && x.type === 'action.started');
    return { text: `${e.step} does not run`, met: started === undefined, detail: started === undefined ? 'no action of the step started' : `it started at +${formatMs(since(started.at))}` };
  }
  if ('step' in e) {
    const done = stepDoneAt(r.timeline, e.step);
    const text = `${e.step} done${e.within === undefined ? '' : ` within ${formatMs(e.within)} of the first alert`}`;
    if (done === undefined) {
      const state = r.status?.steps.find((x) => x.id === e.step)?.status ?? 'unknown step';
      return { text, met: false, detail: `not done (the step is ${state})` };
    }
    const took = since(done.at);
    return { text, met: e.within === undefined || took <= e.within, detail: `done at +${formatMs(took)}` };
  }
  if ('evidenceBeforeFirstChange' in e) {
    const ev = evidenceFacts(r.timeline);
    return { text: 'evidence sealed before the first change', met: ev.sealedBeforeFirstChange, detail: `${ev.sealed} items sealed; first change ${ev.firstChangeAt ?? 'never'}` };
  }
  if ('evidence' in e) {
    const names = r.timeline.flatMap((x) => (x.type === 'evidence.sealed' ? [x.data.name] : []));
    const missing = e.evidence.filter((want) => !names.some((n) => n === want || n.startsWith(want) || n.includes(want)));
    return { text: `evidence sealed: ${e.evidence.join(', ')}`, met: missing.length === 0, detail: missing.length === 0 ? 'all sealed' : `missing: ${missing.join(', ')}` };
  }
  if ('world' in e) {
    const c = f.world.check(e.world);
    const text = `${e.negate ? 'not ' : ''}${describeCheck(e.world)} at the end`;
    return { text, met: e.negate ? !c.ok : c.ok, detail: c.detail };
  }
  if ('escalated' in e) {
    const esc = r.timeline.find((x) => x.type === 'approval.escalated' && x.step === e.escalated);
    return { text: `${e.escalated} escalated`, met: esc !== undefined, detail: esc === undefined ? 'no escalation' : `escalated at +${formatMs(since(esc.at))}` };
  }
  if ('adversaryStoppedBy' in e) {
    const late = r.adversary.filter((a) => a.succeeded && Date.parse(a.at) - r.startMs > e.adversaryStoppedBy);
    return {
      text: `the adversary stopped by +${formatMs(e.adversaryStoppedBy)}`,
      met: late.length === 0,
      detail: late.length === 0 ? 'no success after that' : `${late.length} succeeded after it, first: ${late[0]!.name} at ${late[0]!.at}`,
    };
  }
  if ('noRealCalls' in e) {
    return { text: 'nothing real touched', met: f.realCalls === 0, detail: `${f.realCalls} connection(s) beyond loopback refused` };
  }
  // rollbackRestores
  if (r.rollback === undefined) return { text: 'rollback restores the world', met: false, detail: s.rollback === undefined ? 'the scenario has no rollback' : 'no rollback was requested' };
  const finished = r.timeline.some((x) => x.type === 'rollback.finished');
  const { left, kept } = splitResidue(f.residue, f.excused);
  return {
    text: 'rollback restores the world (except what cannot or may not be undone)',
    met: finished && left.length === 0,
    detail: !finished ? `rollback did not finish (${r.rollback.result})` : left.length === 0 ? `restored${kept.length > 0 ? `; left on purpose: ${kept.join('; ')}` : ''}` : `left behind: ${left.join('; ')}`,
  };
}

/**
 * Targets whose residue a rollback may leave, and why: the policy keeps the
 * change (rollback.keep), the action has no undo (a deleted password), or
 * the undo was refused as unsafe for now (a session revocation younger than
 * the sessions it cut). Judged per target, as the timeline names them.
 */
function excusedTargets(timeline: readonly TimelineEvent[]): Map<string, string> {
  const why = new Map<string, string[]>();
  const add = (target: string, reason: string) => why.set(target, [...(why.get(target) ?? []), reason]);
  const requested = timeline.find((e) => e.type === 'rollback.requested');
  if (requested === undefined) return new Map();
  const undone = new Set<string>();
  for (const e of timeline) {
    if (e.seq < requested.seq) continue;
    if (e.type === 'rollback.kept' && e.data.target !== undefined) add(e.data.target, `kept by the policy: ${e.data.why}`);
    if (e.type === 'rollback.failed' && e.data.target !== undefined && e.data.errorType === engineFailure.rollbackUnsafe) add(e.data.target, `not safe to undo yet: ${e.data.action}`);
    if (e.type === 'rollback.compensated' || e.type === 'rollback.failed' || e.type === 'rollback.kept') undone.add(`${e.step ?? ''}|${e.data.target ?? ''}`);
  }
  for (const e of timeline) {
    if (e.seq > requested.seq || e.type !== 'action.succeeded' || e.data.target === undefined) continue;
    if (!undone.has(`${e.step ?? ''}|${e.data.target}`)) add(e.data.target, `no undo: ${e.data.action}`);
  }
  return new Map([...why].map(([target, reasons]) => [target, reasons.join('; ')]));
}

/** Residue lines start with their target (`iam-user:ci-deployer: …`). */
function splitResidue(residue: readonly string[], excused: ReadonlyMap<string, string>): { left: string[]; kept: string[] } {
  const left: string[] = [];
  const kept: string[] = [];
  for (const line of residue) {
    const why = [...excused].find(([target]) => line.startsWith(`${target}: `))?.[1];
    if (why === undefined) left.push(line);
    else kept.push(`${line} (${why})`);
  }
  return { left, kept };
}

/**
 * `sealedBeforeFirstChange`: every action started after the evidence it
 * waited for — the items it named (evidence in parts), else the whole
 * evidence step's set.
 */
export function evidenceFacts(timeline: readonly TimelineEvent[]): Scorecard['evidence'] {
  const sealed = timeline.filter((e) => e.type === 'evidence.sealed');
  const firstChange = timeline.find((e) => e.type === 'action.succeeded');
  const evidenceStep = sealed[0]?.step;
  const sealedAt = new Map<string, number>();
  for (const e of sealed) if (e.type === 'evidence.sealed' && !sealedAt.has(e.data.name)) sealedAt.set(e.data.name, e.seq);
  const stepItems = sealed.filter((e) => e.step === evidenceStep).map((e) => (e.type === 'evidence.sealed' ? e.data.name : ''));
  const before =
    sealed.length > 0 &&
    timeline.every((e) => {
      if (e.type !== 'action.started') return true;
      const waited = e.data.evidence;
      const needed = waited !== undefined && 'required' in waited ? waited.required : stepItems;
      return needed.every((name) => (sealedAt.get(name) ?? Infinity) < e.seq);
    });
  return {
    sealed: sealed.length,
    names: sealed.map((e) => (e.type === 'evidence.sealed' ? e.data.name : '')),
    sealedBeforeFirstChange: before,
    firstChangeAt: firstChange?.at ?? null,
  };
}

function compare(value: number | null, t: Threshold): boolean {
  if (value === null) return false;
  switch (t.op) {
    case '<':
      return value < t.value;
    case '<=':
      return value <= t.value;
    case '>':
      return value > t.value;
    case '>=':
      return value >= t.value;
    default:
      return value === t.value;
  }
}

export function score(o: {
  scenario: Scenario;
  /** The runbook's workflow (its policy's `workflow`), whose catalog entry names the containment steps. */
  workflow: string;
  file?: string;
  result: DirectorResult;
  world: DrillWorld;
  realCalls: { count: number; targets: string[] };
  wallMs: number;
}): Scorecard {
  const { scenario: s, result: r, world } = o;
  const containment = workflowCatalog[o.workflow]?.containment ?? [];
  const metrics = incidentMetrics(r.timeline, { containmentSteps: containment });
  const residue = r.rollback === undefined ? [] : world.residue();
  const excused = excusedTargets(r.timeline);
  const facts: Facts = { s, r, world, realCalls: o.realCalls.count, residue, excused };
  const split = splitResidue(residue, excused);
  const expectations: ExpectationOutcome[] = [
    ...r.unrouted.map((u) => ({ text: 'every inject routes as the scenario says', met: false, detail: u })),
    ...(r.incidentId === undefined ? [{ text: 'an inject opens the incident', met: false, detail: 'no inject routed to the runbook' }] : []),
    ...s.expect.map((e) => judge(e, facts)),
  ];
  const missed = expectations.filter((e) => !e.met).length;
  const adversaryAfter = r.adversary.filter((a) => a.afterAlert && a.succeeded).length;
  const figures: Record<string, number | null> = {
    timeToFirstContainment: metrics.timeToFirstContainment,
    timeToFullContainment: metrics.timeToFullContainment,
    adversaryActionsAfterAlert: adversaryAfter,
    missedExpectations: missed,
    realCalls: o.realCalls.count,
  };
  const thresholds: ThresholdOutcome[] = Object.entries(s.pass).flatMap(([name, t]) =>
    t === undefined ? [] : [{ name, threshold: t.text, value: figures[name] ?? null, met: compare(figures[name] ?? null, t) }],
  );
  const notices = world.notices();
  return {
    schema: scorecardSchemaVersion,
    drill: true,
    scenario: { name: s.scenario.name, title: s.scenario.title, runbook: s.scenario.runbook, attack: s.scenario.attack, ...(o.file === undefined ? {} : { file: o.file }) },
    world: 'simulated',
    incidentId: r.incidentId ?? '',
    startedAt: new Date(r.startMs).toISOString(),
    horizonMs: s.horizon,
    virtualMs: r.endMs - r.startMs,
    wallMs: o.wallMs,
    events: r.events,
    timeToFirstContainment: metrics.timeToFirstContainment,
    timeToFullContainment: metrics.timeToFullContainment,
    adversaryActionsAfterAlert: adversaryAfter,
    adversary: r.adversary,
    metrics,
    evidence: evidenceFacts(r.timeline),
    rollback:
      r.rollback === undefined
        ? null
        : {
            requestedAt: new Date(r.rollback.requestedAt).toISOString(),
            finished: r.timeline.some((e) => e.type === 'rollback.finished'),
            restored: r.timeline.some((e) => e.type === 'rollback.finished') && split.left.length === 0,
            residue: split.left,
            leftOnPurpose: split.kept,
          },
    realCalls: o.realCalls.count,
    realCallTargets: o.realCalls.targets,
    faultsInjected: world.faultsInjected(),
    notices: { sent: notices.length, markedDrill: notices.filter((n) => n.incident.drill).length },
    expectations,
    missedExpectations: missed,
    thresholds,
    pass: thresholds.every((t) => t.met),
    timeline: r.timeline,
  };
}
