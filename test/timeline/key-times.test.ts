import { describe, expect, it } from 'vitest';
import type { IncidentMetrics } from '../../src/timeline/metrics.ts';
import { renderCsv, renderJson, renderMarkdown } from '../../src/timeline/render.ts';
import { timelineSchemaVersion, type TimelineReport } from '../../src/timeline/report.ts';
import { acted, at, ev, opening, requested, timeline, type Draft } from './build.ts';

const incidentId = 'container-escape.prod:shop:web-1';

/** A report as loadTimeline builds it; `workflow` null for one that recorded none (an older JSON file). */
function report(drafts: Draft[], workflow: string | null = 'containerEscape'): TimelineReport {
  return {
    schema: timelineSchemaVersion,
    incidentId,
    ...(workflow === null ? {} : { workflow }),
    source: 'history',
    workflowStatus: 'completed',
    events: timeline(incidentId, ...drafts),
    generatedAt: at(3600),
  };
}

/** Detected at 0, acknowledged at 2m (the vote on isolate-pod after escalation), isolated at 2m01s, cordon denied, closed at 1h. */
const eventful: Draft[] = [
  ...opening(),
  requested(10, 'isolate-pod'),
  ev(70, 'approval.timed-out', { onTimeout: 'escalate' }, { step: 'isolate-pod' }),
  ev(70, 'approval.escalated', { to: ['cli:dave'], deadline: at(970) }, { step: 'isolate-pod' }),
  ev(120, 'approval.granted', { approvals: 1, required: 1, reason: 'reverse shell' }, { step: 'isolate-pod', actor: 'cli:dave' }),
  ...acted(120, 'isolate-pod'),
  ev(125, 'action.skipped', { action: 'take pod out of rotation', why: 'the pod serves no Service' }, { step: 'detach-from-rotation' }),
  requested(130, 'cordon-node'),
  ev(430, 'approval.denied', { reason: 'node hosts the payment DB' }, { step: 'cordon-node', actor: 'slack:U0CAROL' }),
  ev(430, 'action.skipped', { action: 'cordon-node', why: 'the gate was denied' }, { step: 'cordon-node' }),
  ev(3600, 'incident.closed', { reason: 'contained by hand' }, { actor: 'cli:dave' }),
];

function section(md: string, heading: string): string {
  const from = md.indexOf(heading);
  expect(from, `${heading} is in the report`).toBeGreaterThanOrEqual(0);
  const next = md.indexOf('\n## ', from + heading.length);
  return md.slice(from, next === -1 ? undefined : next);
}

describe('the post-incident report’s key times', () => {
  it('lists detected, acknowledged, first contained, fully contained and closed, each with its time since detection', () => {
    const keyTimes = section(renderMarkdown(report(eventful)), '## Key times');
    expect(keyTimes).toContain(`| Detected | ${at(0)} | +0s |`);
    expect(keyTimes).toContain(`| Acknowledged | ${at(120)} | +2m00s |`);
    expect(keyTimes).toContain(`| First contained | ${at(121)} | +2m01s |`);
    expect(keyTimes).toContain(`| Closed | ${at(3600)} | +1h00m |`);
  });

  it('shows "—" for a moment that never happened (a denied containment step: never fully contained)', () => {
    const keyTimes = section(renderMarkdown(report(eventful)), '## Key times');
    expect(keyTimes).toContain('| Fully contained | — | — |');
  });

  it('lists the time waiting on each approval: step, outcome, who, wait and escalations, and the total', () => {
    const keyTimes = section(renderMarkdown(report(eventful)), '## Key times');
    expect(keyTimes).toContain(`| isolate-pod | approve | cli:dave | ${at(10)} | 1m50s | 1 | no |`);
    expect(keyTimes).toContain(`| cordon-node | deny | slack:U0CAROL | ${at(130)} | 5m00s | 0 | no |`);
    expect(keyTimes).toContain('Waiting on approval: 6m50s in all, across 2 gates.');
  });

  it('shows a gate still open as waiting since its request, not counted in the total', () => {
    const keyTimes = section(renderMarkdown(report([...opening(), requested(10, 'isolate-pod')])), '## Key times');
    expect(keyTimes).toContain(`| isolate-pod | open | — | ${at(10)} | still waiting (since ${at(10)}) | 0 | no |`);
    expect(keyTimes).toContain('(1 still open, not counted)');
  });

  it('takes the containment steps from the runbook’s catalog entry: the same events contain a container escape, not a credential compromise', () => {
    const drafts = [...opening(), ...acted(20, 'isolate-pod')];
    expect(section(renderMarkdown(report(drafts, 'containerEscape')), '## Key times')).toContain(`| First contained | ${at(21)} | +21s |`);
    expect(section(renderMarkdown(report(drafts, 'credentialCompromise')), '## Key times')).toContain('| First contained | — | — |');
  });

  it('says the containment times are not known when the workflow is not a runbook in the catalog', () => {
    const keyTimes = section(renderMarkdown(report([...opening(), ...acted(20, 'isolate-pod')], null)), '## Key times');
    expect(keyTimes).toContain('| First contained | — | — |');
    expect(keyTimes).toContain('Containment times are not known: workflow (not recorded) is not a runbook in the catalog');
    expect(section(renderMarkdown(report([...opening(), ...acted(20, 'isolate-pod')], 'engineTestWorkflow')), '## Key times')).toContain('workflow engineTestWorkflow is not a runbook');
  });
});

describe('a drill incident’s report', () => {
  it('Markdown: opens with the drill mark, before the title', () => {
    const md = renderMarkdown(report(opening({ drill: true })));
    expect(md.split('\n')[0]).toBe('**DRILL — simulated, nothing real was touched.**');
    expect(md.indexOf('# Incident report')).toBeGreaterThan(0);
  });

  it('Markdown: a live incident carries no drill mark', () => {
    expect(renderMarkdown(report(opening()))).not.toContain('DRILL');
  });

  it('JSON: carries the drill flag and the key times', () => {
    const drill = JSON.parse(renderJson(report([...opening({ drill: true }), ...acted(20, 'isolate-pod')]))) as TimelineReport & { drill: boolean; metrics: IncidentMetrics };
    const live = JSON.parse(renderJson(report(opening()))) as { drill: boolean };
    expect(drill.drill).toBe(true);
    expect(live.drill).toBe(false);
    expect(drill.metrics).toMatchObject({ detectedAt: at(0), firstContainedAt: at(21), timeToFirstContainment: 21_000 });
  });

  it('CSV: every row carries the drill flag', () => {
    const lines = renderCsv(report(opening({ drill: true }))).trimEnd().split('\r\n');
    expect(lines[0]).toBe('"seq","id","time","type","step","actor","description","data","drill"');
    expect(lines.slice(1).every((l) => l.endsWith(',"true"'))).toBe(true);
    expect(renderCsv(report(opening())).trimEnd().split('\r\n')[1]).toMatch(/,"false"$/);
  });
});
