/**
 * The post-incident report as one self-contained HTML page (`timeline
 * --format html`): the Markdown report's sections from the same parts, with
 * the time chart the drill report draws. Inline CSS and SVG, no script,
 * nothing fetched, every string escaped.
 */
import { renderTimeChart } from './chart.ts';
import { esc, htmlList, htmlPage, htmlTable } from './html.ts';
import { approvalWaitTotal, containmentUnknown, drillNotice, gateWaitsTable, isDrillTimeline, keyTimesTable, reportParts } from './render.ts';
import type { TimelineReport } from './report.ts';

function section(heading: string, ...blocks: string[]): string {
  return `<section>\n<h2>${esc(heading)}</h2>\n${blocks.join('\n')}\n</section>`;
}

function para(text: string): string {
  return `<p>${esc(text)}</p>`;
}

/** The post-incident report, as HTML. */
export function renderHtml(r: TimelineReport): string {
  const p = reportParts(r);
  const last = r.events.at(-1)?.at;
  return htmlPage(p.title, [
    ...(isDrillTimeline(r.events) ? [`<p class="drill">${esc(drillNotice)}</p>`] : []),
    `<h1>${esc(p.title)}</h1>`,
    `<dl class="facts">${p.facts.map((f) => `<dt>${esc(f.label)}</dt><dd>${f.code ? `<code>${esc(f.value)}</code>` : esc(f.value)}</dd>`).join('')}</dl>`,
    section('Summary', p.summary === null ? '<p><em>No alert recorded.</em></p>' : para(p.summary), para(p.counts)),
    // The chart ends at the last event: the report's own time is wall time, which a drill's virtual clock may be ahead of.
    section('Time chart', renderTimeChart({ events: r.events, metrics: p.metrics, ...(last === undefined ? {} : { endAt: last }) })),
    section('Key times', htmlTable(keyTimesTable(p.metrics)), ...(p.containment === undefined ? [para(containmentUnknown(r))] : [])),
    section('Waiting on approval', htmlTable(gateWaitsTable(p.metrics)), para(approvalWaitTotal(p.metrics))),
    section('Impact and targets', p.targets.length === 0 ? '<p><em>None recorded.</em></p>' : `<ul>${p.targets.map((t) => `<li><code>${esc(t)}</code></li>`).join('')}</ul>`),
    section('Timeline (UTC)', htmlTable(p.timeline)),
    section('Decisions', htmlTable(p.decisions)),
    section('Actions and results', htmlTable(p.actions)),
    section('Evidence', htmlTable(p.evidence)),
    section('Rollback', p.rollback.length === 0 ? para('Not rolled back.') : htmlList(p.rollback.map((x) => `${x.at}: ${x.what}${x.actor ? ` (${x.actor})` : ''}`))),
    section('Open follow-ups', p.followUps.length === 0 ? para('None.') : htmlList(p.followUps)),
  ]);
}
