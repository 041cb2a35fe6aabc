import { workflowCatalog } from '../../workflows/catalog.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { printable, printableJson } from '../text/terminal.ts';
import { incidentMetrics, type IncidentMetrics } from './metrics.ts';
import { describeFailure } from './outcome.ts';
import type { TimelineReport } from './report.ts';

type Of<T extends TimelineEvent['type']> = Extract<TimelineEvent, { type: T }>;

function ofType<T extends TimelineEvent['type']>(events: readonly TimelineEvent[], type: T): Of<T>[] {
  return events.filter((e): e is Of<T> => e.type === type);
}

/** One line of plain words for an event, used by the Markdown table and CSV. */
/** What an action waited for, as the Markdown report says it: `; after pod.json, …` or `; after all 7 evidence items`. */
function waitedFor(evidence: Of<'action.started'>['data']['evidence']): string {
  if (evidence === undefined) return '';
  return 'required' in evidence ? `; after ${evidence.required.join(', ')}` : `; after all ${evidence.all} evidence items`;
}

export function describeEvent(e: TimelineEvent): string {
  switch (e.type) {
    case 'incident.opened':
      return `Incident opened: runbook ${e.data.runbook} v${e.data.version}, ${e.data.mode}, requested by ${e.data.requester}; targets ${e.data.targets.join(', ')}`;
    case 'alert.received':
      return `Alert from ${e.data.source} (${e.data.severity}): ${e.data.summary}`;
    case 'alert.repeated':
      return `Alert repeated (${e.data.count} so far) from ${e.data.source}: ${e.data.summary}`;
    case 'alert.resolved':
      return `Alert resolved at ${e.data.source}: ${e.data.summary}`;
    case 'evidence.sealed':
      return `Evidence sealed: ${e.data.name} (${e.data.bytes} bytes, sha256 ${e.data.sha256.slice(0, 12)})`;
    case 'approval.requested':
      return `Approval requested from ${e.data.approvers.join(', ')}: ${e.data.required} needed${e.data.twoPerson ? ', two-person' : ''}, by ${e.data.deadline}`;
    case 'approval.granted':
      return `Approved (${e.data.approvals} of ${e.data.required})${e.data.reason ? `: ${e.data.reason}` : ''}`;
    case 'approval.denied':
      return `Denied${e.data.reason ? `: ${e.data.reason}` : ''}`;
    case 'approval.timed-out':
      return `No decision by the deadline; policy: ${e.data.onTimeout}`;
    case 'approval.escalated':
      return `Escalated to ${e.data.to.join(', ')}; new deadline ${e.data.deadline}`;
    case 'approval.skipped':
      return `Gate lifted: ${e.data.why}`;
    case 'action.started':
      return `Started ${e.data.action}${e.data.target ? ` on ${e.data.target}` : ''} (${e.data.mode}${waitedFor(e.data.evidence)})`;
    case 'action.succeeded':
      return `Done: ${e.data.action}${e.data.target ? ` on ${e.data.target}` : ''}: ${e.data.changed}`;
    case 'action.already-done':
      return `Already in place: ${e.data.action}${e.data.target ? ` on ${e.data.target}` : ''}: ${e.data.detail}`;
    case 'action.target-gone':
      return `Target gone: ${e.data.action}${e.data.target ? ` on ${e.data.target}` : ''}: ${e.data.detail}`;
    case 'action.failed':
      return `Failed: ${e.data.action}${e.data.target ? ` on ${e.data.target}` : ''}: ${e.data.errorType}: ${e.data.error}`;
    case 'action.skipped':
      return `Skipped ${e.data.action}: ${e.data.why}`;
    case 'rollback.requested':
      return `Rollback requested${e.data.reason ? `: ${e.data.reason}` : ''}`;
    case 'rollback.compensated':
      return `Rolled back: ${e.data.action}${e.data.target ? ` on ${e.data.target}` : ''}: ${e.data.detail}`;
    case 'rollback.failed':
      return `Rollback failed: ${e.data.action}${e.data.target ? ` on ${e.data.target}` : ''}: ${e.data.errorType}: ${e.data.error}`;
    case 'finding.recorded':
      return `Found (${e.data.what}): ${e.data.detail}`;
    case 'check.passed':
      return `Checked: ${e.data.check}${e.data.target ? ` on ${e.data.target}` : ''}: ${e.data.detail}`;
    case 'check.failed':
      return `Check failed: ${e.data.check}${e.data.target ? ` on ${e.data.target}` : ''}: ${e.data.errorType}: ${e.data.error}`;
    case 'rollback.kept':
      return `Kept on rollback: ${e.data.action}${e.data.target ? ` on ${e.data.target}` : ''}: ${e.data.why}`;
    case 'follow-up.raised':
      return `Follow-up: ${e.data.what}${e.data.target ? ` (${e.data.target})` : ''}: ${e.data.why}`;
    case 'rollback.finished':
      return `Rollback finished: ${e.data.compensated} undone, ${e.data.failed} failed`;
    case 'incident.closed':
      return `Incident closed${e.data.reason ? `: ${e.data.reason}` : ''}`;
    case 'notice.failed':
      return `Could not notify (${e.data.kind}): ${e.data.errorType}: ${e.data.error}`;
    case 'notice.delayed':
      return `Notice delayed (${e.data.kind}): ${e.data.errorType}: ${e.data.error}; retrying every ${e.data.retryingEvery} until delivered`;
  }
}

/** Escapes text for a Markdown table cell (or one line of a list): alert text and names are attacker-chosen. */
export function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').replace(/</g, '&lt;');
}

/** A Markdown table, every cell escaped; `_None._` when there are no rows. */
export function table(head: string[], rows: string[][]): string[] {
  if (rows.length === 0) return ['_None._'];
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

/** The number of alerts `status` shows: each repeat event carries the count so far (one event may stand for a batch). */
function alertCount(r: TimelineReport): number {
  return r.status?.counts.alerts ?? ofType(r.events, 'alert.repeated').at(-1)?.data.count ?? 1;
}

/** A drill's incident: its opening says so. */
export function isDrillTimeline(events: readonly TimelineEvent[]): boolean {
  return ofType(events, 'incident.opened')[0]?.data.drill === true;
}

/** How every report of a drill incident says so. */
export const drillNotice = 'DRILL — simulated, nothing real was touched.';
export const drillBanner = `**${drillNotice}**`;

/** The report's runbook containment steps, from the catalog entry of its workflow; undefined when the workflow is not a known runbook. */
function containmentOf(r: TimelineReport): readonly string[] | undefined {
  return r.workflow === undefined ? undefined : workflowCatalog[r.workflow]?.containment;
}

/** The incident's key times and gate waits, with its runbook's containment steps. */
export function reportMetrics(r: TimelineReport): IncidentMetrics {
  return incidentMetrics(r.events, { containmentSteps: containmentOf(r) ?? [] });
}

/** A duration as a person reads it: `0s`, `850ms`, `42s`, `4m10s`, `2h05m`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const total = Math.round(ms / 1000);
  if (total < 60) return `${total}s`;
  const m = Math.floor(total / 60);
  if (m < 60) return `${m}m${String(total % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const never = '—';

/** A table's heading and rows, plain text: rendered as Markdown here and as HTML by the drill report. */
export interface PlainTable {
  head: string[];
  rows: string[][];
}

/** The key times: each moment, when (UTC), and how long after detection; "—" for what never happened. */
export function keyTimesTable(m: IncidentMetrics): PlainTable {
  const since = (t: string | null) => (t === null || m.detectedAt === null ? never : `+${formatDuration(Date.parse(t) - Date.parse(m.detectedAt))}`);
  const moments: [string, string | null][] = [
    ['Detected', m.detectedAt],
    ['Acknowledged', m.acknowledgedAt],
    ['First contained', m.firstContainedAt],
    ['Fully contained', m.fullyContainedAt],
    ['Closed', m.closedAt],
  ];
  return { head: ['moment', 'time (UTC)', 'since detection'], rows: moments.map(([name, t]) => [name, t ?? never, since(t)]) };
}

/** Each approval gate's wait: step, outcome, who decided, when asked, the wait, escalations, timed out. */
export function gateWaitsTable(m: IncidentMetrics): PlainTable {
  return {
    head: ['step', 'outcome', 'who', 'requested', 'wait', 'escalations', 'timed out'],
    rows: m.gates.map((g) => [
      g.step,
      g.outcome ?? 'open',
      g.decidedBy.length > 0 ? g.decidedBy.join(', ') : g.outcome === null ? never : 'policy',
      g.requestedAt,
      g.waitMs === null ? `still waiting (since ${g.requestedAt})` : formatDuration(g.waitMs),
      String(g.escalations),
      g.timedOut ? 'yes' : 'no',
    ]),
  };
}

/** The total time waiting on approval, in words. */
export function approvalWaitTotal(m: IncidentMetrics): string {
  const open = m.gates.filter((g) => g.outcome === null).length;
  return `Waiting on approval: ${formatDuration(m.waitingOnApprovalMs)} in all, across ${m.gates.length} gate${m.gates.length === 1 ? '' : 's'}${open > 0 ? ` (${open} still open, not counted)` : ''}.`;
}

/** The key times as a Markdown table. */
export function renderKeyTimes(m: IncidentMetrics): string[] {
  const t = keyTimesTable(m);
  return table(t.head, t.rows);
}

/** Each approval gate's wait as a Markdown table, then the total. */
export function renderGateWaits(m: IncidentMetrics): string[] {
  const t = gateWaitsTable(m);
  return [...table(t.head, t.rows), '', approvalWaitTotal(m)];
}

/** What the post-incident report says, before any format: Markdown here, HTML in render-html.ts. */
export interface ReportParts {
  metrics: IncidentMetrics;
  /** The runbook's containment steps; undefined when its workflow is not in the catalog. */
  containment: readonly string[] | undefined;
  title: string;
  /** Label and plain value; `code` marks an identifier. */
  facts: { label: string; value: string; code?: boolean }[];
  summary: string | null;
  counts: string;
  targets: string[];
  timeline: PlainTable;
  decisions: PlainTable;
  actions: PlainTable;
  evidence: PlainTable;
  /** Each rollback event: when, what, who. */
  rollback: { at: string; what: string; actor?: string }[];
  followUps: string[];
}

export function reportParts(r: TimelineReport): ReportParts {
  const ev = r.events;
  const containment = containmentOf(r);
  const opened = ofType(ev, 'incident.opened')[0];
  const alert = ofType(ev, 'alert.received')[0];
  const closed = ofType(ev, 'incident.closed')[0];
  const decisions = ev.filter((e) => e.type === 'approval.granted' || e.type === 'approval.denied' || e.type === 'approval.timed-out' || e.type === 'approval.skipped');
  const actions = ev.filter((e) => e.type.startsWith('action.') && e.type !== 'action.started');
  const followUps: string[] = [];
  for (const p of r.status?.pendingApprovals ?? []) {
    followUps.push(`Step ${p.step} awaits approval (${p.approvals} of ${p.required}) from ${p.approvers.join(', ')}${p.deadline ? ` by ${p.deadline}` : ''}.`);
  }
  for (const f of ofType(ev, 'action.failed')) followUps.push(`Action failed and needs a hand: ${describeEvent(f)}.`);
  for (const g of ofType(ev, 'action.target-gone')) followUps.push(`Find out who or what removed it: ${describeEvent(g)}.`);
  for (const f of ofType(ev, 'rollback.failed')) followUps.push(`Undo by hand: ${describeEvent(f)}.`);
  for (const f of ofType(ev, 'check.failed')) followUps.push(`Find out why this does not hold: ${describeEvent(f)}.`);
  for (const f of ofType(ev, 'follow-up.raised')) followUps.push(`${f.data.what}${f.data.target ? ` (${f.data.target})` : ''}: ${f.data.why}.`);
  if (r.failure !== undefined) followUps.push(`The incident's workflow ${describeFailure(r.failure)}; nothing more runs in it.`);
  else if (closed === undefined) followUps.push('The incident is still open: close it when containment is confirmed (`firebreak close`).');
  return {
    metrics: reportMetrics(r),
    containment,
    title: `Incident report: ${r.status?.runbook.title ?? opened?.data.runbook ?? r.incidentId}`,
    facts: [
      { label: 'Incident', value: r.incidentId, code: true },
      { label: 'Runbook', value: opened ? `${opened.data.runbook} v${opened.data.version}` : 'unknown' },
      { label: 'Mode', value: opened?.data.mode ?? 'unknown' },
      { label: 'Requested by', value: opened?.data.requester ?? 'unknown' },
      { label: 'Opened', value: `${opened?.at ?? 'unknown'} (UTC)` },
      { label: 'State', value: `${r.failure ? describeFailure(r.failure) : closed ? `closed ${closed.at}` : (r.status?.phase ?? 'open')} (workflow ${r.workflowStatus})` },
      { label: 'Report built from', value: `${r.source === 'query' ? 'the running incident' : 'the incident’s event history (no worker answered)'}, ${r.generatedAt}` },
    ],
    summary: alert ? `${alert.data.severity.toUpperCase()} alert from ${alert.data.source}: ${alert.data.summary}` : null,
    counts: `Alerts: ${alertCount(r)}; evidence items: ${ofType(ev, 'evidence.sealed').length}; actions: ${ofType(ev, 'action.started').length} (${ofType(ev, 'action.failed').length} failed).`,
    targets: opened?.data.targets ?? [],
    timeline: { head: ['#', 'time', 'step', 'who', 'event'], rows: ev.map((e) => [String(e.seq), e.at, e.step ?? '', e.actor ?? '', describeEvent(e)]) },
    decisions: { head: ['time', 'step', 'who', 'decision', 'why'], rows: decisions.map((e) => [e.at, e.step ?? '', e.actor ?? 'policy', e.type.replace('approval.', ''), describeEvent(e)]) },
    actions: { head: ['time', 'step', 'result'], rows: actions.map((e) => [e.at, e.step ?? '', describeEvent(e)]) },
    evidence: { head: ['name', 'sha256', 'bytes', 'sealed', 'location'], rows: ofType(ev, 'evidence.sealed').map((e) => [e.data.name, e.data.sha256, String(e.data.bytes), e.at, e.data.uri]) },
    rollback: ev.filter((e) => e.type.startsWith('rollback.')).map((e) => ({ at: e.at, what: describeEvent(e), ...(e.actor ? { actor: e.actor } : {}) })),
    followUps,
  };
}

/** Why a report has no containment times, when its workflow is not a runbook. */
export function containmentUnknown(r: TimelineReport): string {
  return `Containment times are not known: workflow ${r.workflow ?? '(not recorded)'} is not a runbook in the catalog, so its containment steps are not known.`;
}

/** The post-incident report. */
export function renderMarkdown(r: TimelineReport): string {
  const p = reportParts(r);
  const md = (t: PlainTable) => table(t.head, t.rows);
  const lines = [
    ...(isDrillTimeline(r.events) ? [drillBanner, ''] : []),
    `# ${p.title}`,
    '',
    ...p.facts.map((f) => `- **${f.label}:** ${f.code ? `\`${f.value}\`` : f.label === 'State' ? cell(f.value) : f.value}`),
    '',
    '## Summary',
    '',
    p.summary === null ? '_No alert recorded._' : cell(p.summary),
    p.counts,
    '',
    '## Key times',
    '',
    ...renderKeyTimes(p.metrics),
    ...(p.containment === undefined ? ['', cell(containmentUnknown(r))] : []),
    '',
    '### Waiting on approval',
    '',
    ...renderGateWaits(p.metrics),
    '',
    '## Impact and targets',
    '',
    ...(p.targets.length ? p.targets.map((t) => `- \`${t}\``) : ['_None recorded._']),
    '',
    '## Timeline (UTC)',
    '',
    ...md(p.timeline),
    '',
    '## Decisions',
    '',
    ...md(p.decisions),
    '',
    '## Actions and results',
    '',
    ...md(p.actions),
    '',
    '## Evidence',
    '',
    ...md(p.evidence),
    '',
    '## Rollback',
    '',
    ...(p.rollback.length === 0 ? ['Not rolled back.'] : p.rollback.map((x) => `- ${x.at}: ${cell(x.what)}${x.actor ? ` (${x.actor})` : ''}`)),
    '',
    '## Open follow-ups',
    '',
    ...(p.followUps.length === 0 ? ['None.'] : p.followUps.map((f) => `- ${cell(f)}`)),
    '',
  ];
  // Alert text is attacker-chosen: the report, read in a terminal or a viewer, carries no raw control character.
  return printable(lines.join('\n'));
}

/** JSON: the report itself with its drill flag and key times, schema `firebreak.timeline/v1`, documented in docs/timeline-json.md. */
export function renderJson(r: TimelineReport): string {
  return `${printableJson({ ...r, drill: isDrillTimeline(r.events), metrics: reportMetrics(r) })}\n`;
}

function csvField(v: string): string {
  // Quote always; double inner quotes; neutralise spreadsheet formulas.
  const safe = printable(/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
  return `"${safe.replace(/"/g, '""')}"`;
}

/** CSV: one row per event: seq, id, time, type, step, actor, description, data (JSON), drill (the incident is a drill: true/false). */
export function renderCsv(r: TimelineReport): string {
  const drill = String(isDrillTimeline(r.events));
  const rows = [['seq', 'id', 'time', 'type', 'step', 'actor', 'description', 'data', 'drill']];
  for (const e of r.events) {
    rows.push([String(e.seq), e.id, e.at, e.type, e.step ?? '', e.actor ?? '', describeEvent(e), JSON.stringify(e.data), drill]);
  }
  return `${rows.map((row) => row.map(csvField).join(',')).join('\r\n')}\r\n`;
}
