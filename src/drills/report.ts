/**
 * A drill's after-action report (`drill run --report md|html`), rendered from its scorecard: the verdict
 * first, then what the run did against the scenario. One document model
 * renders as Markdown and as HTML, so both show the same sections; the key
 * times and gate waits come from the post-incident report's own tables, and the
 * HTML's time chart is the one `timeline --format html` draws, so a drill and a
 * live incident read the same.
 */
import { printable } from '../text/terminal.ts';
import { renderTimeChart } from '../timeline/chart.ts';
import { esc, htmlList, htmlPage, htmlTable } from '../timeline/html.ts';
import { approvalWaitTotal, cell, drillBanner, drillNotice, formatDuration, gateWaitsTable, keyTimesTable, table, type PlainTable } from '../timeline/render.ts';
import type { Scorecard, ThresholdOutcome } from './scorecard-types.ts';

/** Inline text: plain, emphasised, or code. */
type Inline = string | { strong: string } | { code: string };
type Block = { p: Inline[] } | { table: PlainTable } | { list: string[] };
interface Section {
  heading: string;
  blocks: Block[];
}
interface ReportDoc {
  pass: boolean;
  verdict: string;
  title: string;
  facts: [string, Inline[]][];
  sections: Section[];
}

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}

/** Time figures are ms (`timeToFirstContainment`, `…Ms`); the others are counts. */
function figure(t: ThresholdOutcome): string {
  if (t.value === null) return 'never';
  return /^timeTo|Ms$/.test(t.name) ? formatDuration(t.value) : String(t.value);
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function verdict(sc: Scorecard): string {
  const missed = sc.thresholds.filter((t) => !t.met);
  const why =
    missed.length === 0
      ? `all ${plural(sc.thresholds.length, 'threshold')} met`
      : `${missed.length} of ${plural(sc.thresholds.length, 'threshold')} missed (${missed.map((t) => `${t.name}: ${figure(t)}, needs ${t.threshold}`).join('; ')})`;
  return `drill ${sc.scenario.name}: ${why}; ${plural(sc.missedExpectations, 'expectation')} missed.`;
}

function list(items: readonly string[], none = 'None.'): Block {
  return items.length === 0 ? { p: [none] } : { list: [...items] };
}

/** What the report says, in sections, before any format. */
function reportDoc(sc: Scorecard): ReportDoc {
  const met = sc.expectations.length - sc.missedExpectations;
  const afterAlert = sc.adversary.filter((a) => a.succeeded && a.afterAlert).length;
  const unmarked = sc.notices.sent - sc.notices.markedDrill;
  return {
    pass: sc.pass,
    verdict: verdict(sc),
    title: `Drill after-action report: ${sc.scenario.title}`,
    facts: [
      ['Scenario', [`${sc.scenario.name}${sc.scenario.file === undefined ? '' : ` (${sc.scenario.file})`}`]],
      ['Runbook', [sc.scenario.runbook]],
      ['ATT&CK', [sc.scenario.attack.length === 0 ? 'none named' : sc.scenario.attack.join(', ')]],
      ['World', [sc.world]],
      ['Incident', sc.incidentId === '' ? ['none opened'] : [{ code: sc.incidentId }]],
      ['Started', [`${sc.startedAt} (virtual time, UTC)`]],
      ['Covered', [`${formatDuration(sc.virtualMs)} of virtual time (horizon ${formatDuration(sc.horizonMs)}) in ${formatDuration(sc.wallMs)} of wall time`]],
      ['Schema', [sc.schema]],
    ],
    sections: [
      { heading: 'Thresholds', blocks: [{ table: { head: ['figure', 'threshold', 'value', 'met'], rows: sc.thresholds.map((t) => [t.name, t.threshold, figure(t), yesNo(t.met)]) } }] },
      {
        heading: 'Expectations',
        blocks: [{ p: [`${met} met, ${sc.missedExpectations} missed.`] }, { table: { head: ['expectation', 'met', 'detail'], rows: sc.expectations.map((e) => [e.text, e.met ? 'met' : 'MISSED', e.detail]) } }],
      },
      { heading: 'Key times', blocks: [{ table: keyTimesTable(sc.metrics) }] },
      { heading: 'Gates', blocks: [{ table: gateWaitsTable(sc.metrics) }, { p: [approvalWaitTotal(sc.metrics)] }] },
      {
        heading: 'Adversary actions',
        blocks: [
          { p: [`${plural(afterAlert, 'action')} succeeded after the first alert (each counts against the run).`] },
          {
            table: {
              head: ['time', 'action', 'kind', 'succeeded', 'after alert', 'detail'],
              rows: sc.adversary.map((a) => [a.at, a.name, a.kind, yesNo(a.succeeded), yesNo(a.afterAlert), a.detail]),
            },
          },
        ],
      },
      {
        heading: 'Evidence',
        blocks: [
          { p: [`${plural(sc.evidence.sealed, 'item')} sealed; sealed before the first change: ${yesNo(sc.evidence.sealedBeforeFirstChange)} (first change: ${sc.evidence.firstChangeAt ?? 'none'}).`] },
          list(sc.evidence.names, '_None._'),
        ],
      },
      {
        heading: 'Rollback',
        blocks:
          sc.rollback === null
            ? [{ p: ['No rollback in this drill.'] }]
            : [
                { p: [`Requested ${sc.rollback.requestedAt}; finished: ${yesNo(sc.rollback.finished)}; world restored: ${yesNo(sc.rollback.restored)}.`] },
                ...(sc.rollback.residue.length === 0 ? [{ p: ['Nothing left behind that should have been undone.'] }] : [{ p: ['Left behind:'] }, { list: sc.rollback.residue }]),
                // Scorecards written before leftOnPurpose existed lack it.
                ...((sc.rollback.leftOnPurpose ?? []).length === 0 ? [] : [{ p: ['Left on purpose (cannot or may not be undone):'] }, { list: sc.rollback.leftOnPurpose }]),
              ],
      },
      {
        heading: 'Real systems',
        blocks: [
          sc.realCalls === 0
            ? { p: ['Real calls: 0 — nothing beyond loopback was contacted.'] }
            : { p: [{ strong: `Real calls: ${sc.realCalls}` }, ' — connections beyond loopback were attempted (and refused); a drill must make none.'] },
          ...(sc.realCallTargets.length === 0 ? [] : [{ list: sc.realCallTargets }]),
        ],
      },
      { heading: 'Faults injected', blocks: [{ p: [`${plural(sc.faultsInjected, 'fault')} injected.`] }] },
      {
        heading: 'Notices',
        blocks: [
          {
            p: [
              `${plural(sc.notices.sent, 'notice')} sent to the simulated Slack; ${sc.notices.markedDrill} marked as a drill`,
              ...(unmarked === 0 ? [] : [' — ', { strong: `${unmarked} not marked` }]),
              '.',
            ],
          },
        ],
      },
    ],
  };
}

function mdInline(parts: readonly Inline[]): string {
  return parts.map((x) => (typeof x === 'string' ? cell(x) : 'strong' in x ? `**${cell(x.strong)}**` : `\`${cell(x.code)}\``)).join('');
}

function mdBlock(b: Block): string[] {
  if ('p' in b) return [mdInline(b.p)];
  if ('table' in b) return table(b.table.head, b.table.rows);
  return b.list.map((item) => `- ${cell(item)}`);
}

/** The after-action report of a drill run, as Markdown. */
export function renderScorecardMarkdown(sc: Scorecard): string {
  const doc = reportDoc(sc);
  const lines = [
    `**${doc.pass ? 'PASS' : 'FAIL'}** — ${cell(doc.verdict)}`,
    '',
    drillBanner,
    '',
    `# ${cell(doc.title)}`,
    '',
    ...doc.facts.map(([label, value]) => `- **${label}:** ${mdInline(value)}`),
    '',
    ...doc.sections.flatMap((s) => [`## ${s.heading}`, '', ...s.blocks.flatMap((b) => [...mdBlock(b), '']).slice(0, -1), '']),
  ];
  // Names, summaries and details come from the scenario and the world: attacker-shaped text, no raw control character.
  return printable(lines.join('\n'));
}

function htmlInline(parts: readonly Inline[]): string {
  return parts.map((x) => (typeof x === 'string' ? esc(x) : 'strong' in x ? `<strong>${esc(x.strong)}</strong>` : `<code>${esc(x.code)}</code>`)).join('');
}

function htmlBlock(b: Block): string {
  if ('p' in b) return `<p>${htmlInline(b.p)}</p>`;
  if ('list' in b) return htmlList(b.list);
  return htmlTable(b.table, (c) => c === 'MISSED');
}

/** The drill's time chart: its timeline and gates, the adversary's moves, to the end of the virtual time it covered. */
function drillChart(sc: Scorecard): string {
  return renderTimeChart({
    events: sc.timeline,
    metrics: sc.metrics,
    endAt: new Date(Date.parse(sc.startedAt) + sc.virtualMs).toISOString(),
    adversary: sc.adversary,
  });
}

/** The after-action report of a drill run, as one self-contained HTML page: inline CSS and SVG, no script, nothing fetched. */
export function renderScorecardHtml(sc: Scorecard): string {
  const doc = reportDoc(sc);
  return htmlPage(`${doc.pass ? 'PASS' : 'FAIL'} — ${doc.title}`, [
    `<p class="verdict ${doc.pass ? 'pass' : 'fail'}"><strong>${doc.pass ? 'PASS' : 'FAIL'}</strong> — ${esc(doc.verdict)}</p>`,
    `<p class="drill">${esc(drillNotice)}</p>`,
    `<h1>${esc(doc.title)}</h1>`,
    `<dl class="facts">${doc.facts.map(([label, value]) => `<dt>${esc(label)}</dt><dd>${htmlInline(value)}</dd>`).join('')}</dl>`,
    // The chart comes first: the run at a glance, then its figures.
    `<section>\n<h2>Time chart</h2>\n${drillChart(sc)}\n</section>`,
    ...doc.sections.map((s) => `<section>\n<h2>${esc(s.heading)}</h2>\n${s.blocks.map(htmlBlock).join('\n')}\n</section>`),
  ]);
}
