/**
 * A drill's after-action report, rendered from its scorecard: the verdict
 * first, then what the run did against the scenario. The key times and gate
 * waits are rendered by the post-incident report's own code, so a drill and
 * a live incident read the same.
 */
import { printable } from '../text/terminal.ts';
import { cell, drillBanner, formatDuration, renderGateWaits, renderKeyTimes, table } from '../timeline/render.ts';
import type { Scorecard, ThresholdOutcome } from './scorecard-types.ts';

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
  return `**${sc.pass ? 'PASS' : 'FAIL'}** — drill ${cell(sc.scenario.name)}: ${cell(why)}; ${plural(sc.missedExpectations, 'expectation')} missed.`;
}

/** The after-action report of a drill run, as Markdown. */
export function renderScorecardMarkdown(sc: Scorecard): string {
  const metAll = sc.expectations.length - sc.missedExpectations;
  const afterAlert = sc.adversary.filter((a) => a.succeeded && a.afterAlert).length;
  const lines = [
    verdict(sc),
    '',
    drillBanner,
    '',
    `# Drill after-action report: ${cell(sc.scenario.title)}`,
    '',
    `- **Scenario:** ${cell(sc.scenario.name)}${sc.scenario.file === undefined ? '' : ` (${cell(sc.scenario.file)})`}`,
    `- **Runbook:** ${cell(sc.scenario.runbook)}`,
    `- **ATT&CK:** ${sc.scenario.attack.length === 0 ? 'none named' : cell(sc.scenario.attack.join(', '))}`,
    `- **World:** ${cell(sc.world)}`,
    `- **Incident:** ${sc.incidentId === '' ? 'none opened' : `\`${cell(sc.incidentId)}\``}`,
    `- **Started:** ${cell(sc.startedAt)} (virtual time, UTC)`,
    `- **Covered:** ${formatDuration(sc.virtualMs)} of virtual time (horizon ${formatDuration(sc.horizonMs)}) in ${formatDuration(sc.wallMs)} of wall time`,
    `- **Schema:** ${cell(sc.schema)}`,
    '',
    '## Thresholds',
    '',
    ...table(
      ['figure', 'threshold', 'value', 'met'],
      sc.thresholds.map((t) => [t.name, t.threshold, figure(t), yesNo(t.met)]),
    ),
    '',
    '## Expectations',
    '',
    `${metAll} met, ${sc.missedExpectations} missed.`,
    '',
    ...table(
      ['expectation', 'met', 'detail'],
      sc.expectations.map((e) => [e.text, e.met ? 'met' : 'MISSED', e.detail]),
    ),
    '',
    '## Key times',
    '',
    ...renderKeyTimes(sc.metrics),
    '',
    '## Gates',
    '',
    ...renderGateWaits(sc.metrics),
    '',
    '## Adversary actions',
    '',
    `${plural(afterAlert, 'action')} succeeded after the first alert (each counts against the run).`,
    '',
    ...table(
      ['time', 'action', 'kind', 'succeeded', 'after alert', 'detail'],
      sc.adversary.map((a) => [a.at, a.name, a.kind, yesNo(a.succeeded), yesNo(a.afterAlert), a.detail]),
    ),
    '',
    '## Evidence',
    '',
    `${plural(sc.evidence.sealed, 'item')} sealed; sealed before the first change: ${yesNo(sc.evidence.sealedBeforeFirstChange)} (first change: ${cell(sc.evidence.firstChangeAt ?? 'none')}).`,
    '',
    ...(sc.evidence.names.length === 0 ? ['_None._'] : sc.evidence.names.map((n) => `- ${cell(n)}`)),
    '',
    '## Rollback',
    '',
    ...(sc.rollback === null
      ? ['No rollback in this drill.']
      : [
          `Requested ${cell(sc.rollback.requestedAt)}; finished: ${yesNo(sc.rollback.finished)}; world restored: ${yesNo(sc.rollback.restored)}.`,
          '',
          ...(sc.rollback.residue.length === 0 ? ['Nothing left behind.'] : ['Left behind:', '', ...sc.rollback.residue.map((r) => `- ${cell(r)}`)]),
        ]),
    '',
    '## Real systems',
    '',
    sc.realCalls === 0
      ? 'Real calls: 0 — nothing beyond loopback was contacted.'
      : `**Real calls: ${sc.realCalls}** — connections beyond loopback were attempted (and refused); a drill must make none.`,
    ...(sc.realCallTargets.length === 0 ? [] : ['', ...sc.realCallTargets.map((t) => `- ${cell(t)}`)]),
    '',
    '## Faults injected',
    '',
    `${plural(sc.faultsInjected, 'fault')} injected.`,
    '',
    '## Notices',
    '',
    `${plural(sc.notices.sent, 'notice')} sent to the simulated Slack; ${sc.notices.markedDrill} marked as a drill${sc.notices.markedDrill === sc.notices.sent ? '' : ` — **${sc.notices.sent - sc.notices.markedDrill} not marked**`}.`,
    '',
  ];
  // Names, summaries and details come from the scenario and the world: attacker-shaped text, no raw control character.
  return printable(lines.join('\n'));
}
