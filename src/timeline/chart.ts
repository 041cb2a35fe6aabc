/**
 * The time chart of an incident or a drill, as inline SVG: x is time from
 * the first alert, one lane per step with its gate (requested, escalated,
 * decided) and its actions, a lane of alerts (a drill's injects), and for a
 * drill the adversary's moves and the fault windows. No script and no
 * external asset, so it renders offline under the reports' CSP; every shape
 * has a text label or a <title>, and shapes (not only colours) tell kinds
 * apart. Used by the drill report and `timeline --format html`.
 */
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { esc } from './html.ts';
import type { IncidentMetrics } from './metrics.ts';
import { describeEvent, formatDuration } from './render.ts';

export interface ChartAdversaryMove {
  /** ISO time of the attempt. */
  at: string;
  name: string;
  /** False: refused, by containment or by the world. */
  succeeded: boolean;
  detail: string;
}

export interface ChartWindow {
  from: string;
  until: string;
  label: string;
}

export interface TimeChartInput {
  events: readonly TimelineEvent[];
  metrics: IncidentMetrics;
  /** The right edge (ISO): a drill's end; the last event when absent. */
  endAt?: string;
  adversary?: readonly ChartAdversaryMove[];
  faults?: readonly ChartWindow[];
}

const width = 960;
const labelWidth = 210;
// Room for the words of markers at the right edge.
const rightPad = 100;
const axisY = 40;
const laneHeight = 34;
const plotWidth = width - labelWidth - rightPad;

/** Tick steps a reader counts in, smallest first. */
const tickSteps = [1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1000);

/** An offset from the first alert as an axis label: `0`, `+30s`, `+5m`, `+1h30m`, `−2m`. */
export function offsetLabel(ms: number): string {
  if (ms === 0) return '0';
  const sign = ms < 0 ? '−' : '+';
  const s = Math.round(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const parts = [h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : '', rest > 0 || s === 0 ? `${rest}s` : ''];
  return `${sign}${parts.join('') || '0s'}`;
}

interface Lane {
  /** What the lane's label says. */
  label: string;
  /** The step id, for step lanes. */
  step?: string;
  kind: 'alerts' | 'step' | 'adversary' | 'faults';
  shapes: string[];
}

type Terminal = 'action.succeeded' | 'action.already-done' | 'action.target-gone' | 'action.failed';
const terminal = new Set<TimelineEvent['type']>(['action.succeeded', 'action.already-done', 'action.target-gone', 'action.failed']);
const actionWord: Record<Terminal, string> = { 'action.succeeded': 'done', 'action.already-done': 'already done', 'action.target-gone': 'target gone', 'action.failed': 'FAILED' };

/** The time chart as an inline <svg>, wrapped in a <figure> with a caption. */
export function renderTimeChart(input: TimeChartInput): string {
  const { events, metrics } = input;
  const adversary = input.adversary ?? [];
  const faults = input.faults ?? [];
  const origin = Date.parse(metrics.detectedAt ?? events[0]?.at ?? input.endAt ?? new Date(0).toISOString());
  const off = (iso: string) => Date.parse(iso) - origin;
  const offsets = [0, ...events.map((e) => off(e.at)), ...adversary.map((a) => off(a.at)), ...faults.flatMap((f) => [off(f.from), off(f.until)])];
  if (input.endAt !== undefined) offsets.push(off(input.endAt));
  const lo = Math.min(...offsets);
  const hi = Math.max(lo + 1000, ...offsets);
  const end = new Date(origin + hi).toISOString();
  const x = (iso: string) => labelWidth + ((off(iso) - lo) / (hi - lo)) * plotWidth;
  const px = (n: number) => n.toFixed(1);

  const lanes: Lane[] = [];
  const alerts = events.filter((e) => e.type === 'alert.received' || e.type === 'alert.repeated' || e.type === 'alert.resolved');
  lanes.push({
    label: `Alerts (${alerts.length})`,
    kind: 'alerts',
    shapes: alerts.map((e) => marker('inject', x(e.at), `${offsetLabel(off(e.at))}: ${describeEvent(e)}`)),
  });

  const steps = [...new Set(events.flatMap((e) => (e.step === undefined ? [] : [e.step])))];
  for (const step of steps) {
    const shapes: string[] = [];
    for (const g of metrics.gates.filter((w) => w.step === step)) {
      const settled = g.settledAt ?? end;
      const waited = g.waitMs === null ? 'still open' : formatDuration(g.waitMs);
      shapes.push(bar('wait', x(g.requestedAt), x(settled), `gate waited ${waited} (requested ${offsetLabel(off(g.requestedAt))})`));
      shapes.push(marker('requested', x(g.requestedAt), `${offsetLabel(off(g.requestedAt))}: approval requested`));
      if (g.settledAt !== null) {
        const who = g.decidedBy.length > 0 ? ` by ${g.decidedBy.join(', ')}` : '';
        shapes.push(marker('decided', x(g.settledAt), `${offsetLabel(off(g.settledAt))}: ${g.outcome ?? ''}${who} after ${waited}`, g.outcome ?? ''));
      } else shapes.push(label(x(end), 'open', 'end'));
    }
    const started = new Map<string, TimelineEvent>();
    for (const e of events.filter((v) => v.step === step)) {
      const t = `${offsetLabel(off(e.at))}: ${describeEvent(e)}`;
      if (e.type === 'approval.escalated') shapes.push(marker('escalated', x(e.at), t, 'escalated'));
      else if (e.type === 'action.started') started.set(e.data.action, e);
      else if (terminal.has(e.type) && 'action' in e.data) {
        const from = started.get(e.data.action) ?? e;
        started.delete(e.data.action);
        const kind = e.type === 'action.failed' ? 'failed' : 'ran';
        shapes.push(bar(kind, x(from.at), x(e.at), t), marker(kind, x(from.at), t, actionWord[e.type as Terminal]));
      } else if (e.type === 'action.skipped') shapes.push(marker('skipped', x(e.at), t, 'skipped'));
      else if (e.type === 'evidence.sealed') shapes.push(marker('evidence', x(e.at), t));
      else if (!e.type.startsWith('approval.')) shapes.push(marker('event', x(e.at), t));
    }
    // Started and never finished: running until the chart's end.
    for (const e of started.values()) shapes.push(bar('ran', x(e.at), x(end), `${offsetLabel(off(e.at))}: ${describeEvent(e)} (not finished)`), marker('ran', x(e.at), describeEvent(e), 'running'));
    lanes.push({ label: step, step, kind: 'step', shapes });
  }

  if (adversary.length > 0) {
    const ok = adversary.filter((a) => a.succeeded).length;
    lanes.push({
      label: `Adversary: ${ok} succeeded, ${adversary.length - ok} refused`,
      kind: 'adversary',
      shapes: adversary.map((a) =>
        marker(a.succeeded ? 'adversary-succeeded' : 'adversary-refused', x(a.at), `${offsetLabel(off(a.at))}: ${a.name} — ${a.succeeded ? 'succeeded' : 'refused'}: ${a.detail}`),
      ),
    });
  }
  if (faults.length > 0) {
    lanes.push({
      label: `Faults (${faults.length})`,
      kind: 'faults',
      shapes: faults.flatMap((f) => [bar('fault', x(f.from), x(f.until), `${offsetLabel(off(f.from))} to ${offsetLabel(off(f.until))}: ${f.label}`), label(x(f.from), f.label, 'start')]),
    });
  }

  const height = axisY + lanes.length * laneHeight + 48;
  const ticks = axisTicks(lo, hi).map((ms) => {
    const tx = labelWidth + ((ms - lo) / (hi - lo)) * plotWidth;
    return `<g class="tick"><line x1="${px(tx)}" y1="${axisY - 6}" x2="${px(tx)}" y2="${height - 40}"/><text x="${px(tx)}" y="${axisY - 10}">${esc(offsetLabel(ms))}</text></g>`;
  });
  const keyLines = (
    [
      ['first contained', metrics.firstContainedAt],
      ['fully contained', metrics.fullyContainedAt],
    ] as const
  ).flatMap(([name, t], i) =>
    t === null || (name === 'fully contained' && t === metrics.firstContainedAt)
      ? []
      : [`<g class="key-time"><line x1="${px(x(t))}" y1="${axisY}" x2="${px(x(t))}" y2="${height - 40}"/><text x="${px(x(t))}" y="${height - 24 + i * 12}">${esc(`${name} ${offsetLabel(off(t))}`)}</text></g>`],
  );
  const rows = lanes.map((l, i) => {
    const y = axisY + i * laneHeight;
    const data = l.step === undefined ? '' : ` data-step="${esc(l.step)}"`;
    return [
      `<g class="lane ${l.kind}"${data} transform="translate(0 ${y})">`,
      `<rect class="lane-bg" x="0" y="0" width="${width}" height="${laneHeight}"/>`,
      `<text class="lane-label" x="8" y="${laneHeight / 2 + 4}">${esc(l.label)}</text>`,
      ...l.shapes,
      '</g>',
    ].join('');
  });

  const description = describeChart(input, lanes, lo, hi);
  return [
    '<figure class="time-chart">',
    `<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-labelledby="time-chart-title time-chart-desc">`,
    '<title id="time-chart-title">Time chart: what happened when, from the first alert</title>',
    `<desc id="time-chart-desc">${esc(description)}</desc>`,
    // The chart's own style travels with it: any page that embeds it needs nothing else.
    `<style>${style}</style>`,
    `<g class="axis"><text class="axis-label" x="8" y="${axisY - 10}">time from first alert</text>${ticks.join('')}</g>`,
    ...rows,
    ...keyLines,
    '</svg>',
    `<figcaption>${legend}</figcaption>`,
    '</figure>',
  ].join('\n');
}

/** At most about ten ticks, on a step a reader counts in, always including 0. */
function axisTicks(lo: number, hi: number): number[] {
  const step = tickSteps.find((s) => (hi - lo) / s <= 10) ?? tickSteps.at(-1)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) ticks.push(t);
  return ticks;
}

function describeChart(input: TimeChartInput, lanes: readonly Lane[], lo: number, hi: number): string {
  const adversary = input.adversary ?? [];
  const ok = adversary.filter((a) => a.succeeded).length;
  return [
    `Time runs left to right from ${offsetLabel(lo)} to ${offsetLabel(hi)}, 0 being the first alert${input.metrics.detectedAt === null ? '' : ` (${input.metrics.detectedAt} UTC)`}.`,
    `Lanes: ${lanes.map((l) => l.label).join('; ')}.`,
    adversary.length === 0 ? '' : `The adversary tried ${adversary.length} times: ${ok} succeeded, ${adversary.length - ok} refused.`,
    input.metrics.firstContainedAt === null ? 'Nothing was contained.' : `First contained at ${offsetLabel(Date.parse(input.metrics.firstContainedAt) - Date.parse(input.metrics.detectedAt ?? input.metrics.firstContainedAt))}.`,
    'Every event is also in the tables below.',
  ]
    .filter((s) => s !== '')
    .join(' ');
}

const shapeOf: Record<string, (cx: number, cy: number) => string> = {
  inject: (cx, cy) => `<path d="M${cx} ${cy - 7}L${cx + 6} ${cy}L${cx} ${cy + 7}L${cx - 6} ${cy}Z"/>`,
  requested: (cx, cy) => `<circle cx="${cx}" cy="${cy}" r="5"/>`,
  escalated: (cx, cy) => `<path d="M${cx} ${cy - 7}L${cx + 7} ${cy + 5}L${cx - 7} ${cy + 5}Z"/>`,
  decided: (cx, cy) => `<path d="M${cx - 6} ${cy - 6}H${cx + 6}V${cy + 6}H${cx - 6}Z"/>`,
  ran: (cx, cy) => `<path d="M${cx - 4} ${cy - 7}L${cx + 6} ${cy}L${cx - 4} ${cy + 7}Z"/>`,
  failed: (cx, cy) => `<path d="M${cx - 5} ${cy - 5}L${cx + 5} ${cy + 5}M${cx + 5} ${cy - 5}L${cx - 5} ${cy + 5}"/>`,
  skipped: (cx, cy) => `<path d="M${cx - 6} ${cy}H${cx + 6}"/>`,
  evidence: (cx, cy) => `<rect x="${cx - 2}" y="${cy - 7}" width="4" height="14"/>`,
  event: (cx, cy) => `<circle cx="${cx}" cy="${cy}" r="3"/>`,
  'adversary-succeeded': (cx, cy) => `<path d="M${cx - 6} ${cy - 6}L${cx + 6} ${cy + 6}M${cx + 6} ${cy - 6}L${cx - 6} ${cy + 6}"/>`,
  'adversary-refused': (cx, cy) => `<circle cx="${cx}" cy="${cy}" r="5"/>`,
};

/** Where a marker's word goes: markers that often share a moment (escalated, then decided and run) put theirs on different sides. */
const wordAt: Record<string, { dx: number; dy: number; anchor: 'start' | 'end' }> = {
  escalated: { dx: -8, dy: -6, anchor: 'end' },
  decided: { dx: 8, dy: 14, anchor: 'start' },
  ran: { dx: 8, dy: -6, anchor: 'start' },
  failed: { dx: 8, dy: -6, anchor: 'start' },
};

/** A marker: its shape, a <title> a screen reader or a hover reads, and an optional visible word. */
function marker(kind: string, cx: number, title: string, word?: string): string {
  const cy = laneHeight / 2;
  const r = (n: number) => Math.round(n * 10) / 10;
  const shape = shapeOf[kind]!(r(cx), cy);
  const at = wordAt[kind] ?? { dx: 8, dy: -6, anchor: 'start' };
  const text = word === undefined || word === '' ? '' : `<text class="mark-label" x="${r(cx + at.dx)}" y="${cy + at.dy}" text-anchor="${at.anchor}">${esc(word)}</text>`;
  return `<g class="marker ${kind}"><title>${esc(title)}</title>${shape}${text}</g>`;
}

function bar(kind: string, x1: number, x2: number, title: string): string {
  const w = Math.max(2, x2 - x1);
  return `<rect class="bar ${kind}" x="${x1.toFixed(1)}" y="${laneHeight / 2 - 4}" width="${w.toFixed(1)}" height="8"><title>${esc(title)}</title></rect>`;
}

function label(lx: number, text: string, anchor: 'start' | 'end'): string {
  return `<text class="mark-label" x="${lx.toFixed(1)}" y="${laneHeight - 3}" text-anchor="${anchor}">${esc(text)}</text>`;
}

/** What each shape means, in words beside it: the chart never relies on colour alone. */
const legend = [
  ['◆', 'alert (inject)'],
  ['●', 'approval requested'],
  ['▲', 'escalated'],
  ['■', 'decided'],
  ['▶', 'action ran (bar: how long)'],
  ['✕', 'action failed / adversary move succeeded'],
  ['○', 'adversary move refused'],
  ['▬', 'waiting on approval (thin bar), fault window (hatched lane)'],
]
  .map(([s, t]) => `<span class="legend-item"><span aria-hidden="true">${s}</span> ${t}</span>`)
  .join(' ');

const style = `
figure.time-chart { margin: 1rem 0; }
figure.time-chart svg { font: 11px system-ui, sans-serif; background: #fff; }
.time-chart .lane-bg { fill: #fafbfc; stroke: #e4e8ec; }
.time-chart .lane-label { font-weight: 600; fill: #1d232a; }
.time-chart .tick line { stroke: #e4e8ec; }
.time-chart .tick text { text-anchor: middle; fill: #57606a; }
.time-chart .axis-label { fill: #57606a; }
.time-chart .mark-label { fill: #1d232a; font-size: 10px; }
.time-chart .key-time line { stroke: #1f8a3b; stroke-dasharray: 4 3; }
.time-chart .key-time text { fill: #1f8a3b; text-anchor: middle; font-weight: 600; }
.time-chart .bar.wait { fill: #f2c94c; }
.time-chart .bar.ran { fill: #2f80ed; }
.time-chart .bar.failed { fill: #c62828; }
.time-chart .bar.fault { fill: #c62828; fill-opacity: .25; stroke: #c62828; stroke-dasharray: 3 2; }
.time-chart .marker.inject { fill: #7a4b00; }
.time-chart .marker.requested { fill: #f2994a; }
.time-chart .marker.escalated { fill: #eb5757; }
.time-chart .marker.decided { fill: #1f8a3b; }
.time-chart .marker.ran { fill: #2f80ed; }
.time-chart .marker.failed path, .time-chart .marker.adversary-succeeded path { stroke: #c62828; stroke-width: 2.5; }
.time-chart .marker.skipped path { stroke: #57606a; stroke-width: 2; }
.time-chart .marker.evidence { fill: #6f42c1; }
.time-chart .marker.event { fill: #57606a; }
.time-chart .marker.adversary-refused { fill: none; stroke: #57606a; stroke-width: 1.5; }
figure.time-chart figcaption { font-size: 13px; color: #57606a; }
.legend-item { margin-right: 1rem; white-space: nowrap; }
`;
