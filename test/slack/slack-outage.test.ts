// Issue #16: Slack answering 429 and 5xx for a long while loses no approval
// request and no timeline batch, and the CLI answers gates throughout. The
// outage lasts FIREBREAK_SLACK_OUTAGE_SECONDS (default 75 s: longer than the
// notice backoff's climb to its one-minute ceiling); `npm run chaos:slack`
// runs the full ten minutes.
import { beforeAll, describe, expect, it } from 'vitest';
import { runSlackOutage, type SlackOutageReport } from '../../src/sandbox/slack-outage.ts';
import { runFirebreak } from '../support/cli.ts';
import { startIncident, testInput, testPolicy } from '../support/engine.ts';
import { sandbox } from '../support/servers.ts';
import { slackHarness } from '../support/slack.ts';

const outageSeconds = Number(process.env['FIREBREAK_SLACK_OUTAGE_SECONDS'] ?? '75');
if (!Number.isFinite(outageSeconds) || outageSeconds <= 0) throw new Error(`FIREBREAK_SLACK_OUTAGE_SECONDS must be a positive number of seconds, not ${process.env['FIREBREAK_SLACK_OUTAGE_SECONDS']}`);
const outageMs = outageSeconds * 1000;

const gate = { approvers: ['cli:bob', 'U0BOB'], required: 1, twoPerson: true, timeout: '2h', onTimeout: 'deny' };
const policy = testPolicy({ isolate: gate, cordon: gate });

let report: SlackOutageReport;

beforeAll(async () => {
  const h = await slackHarness({ policies: [policy] });
  const env = { TEMPORAL_ADDRESS: sandbox().temporalAddress, TEMPORAL_NAMESPACE: sandbox().temporalNamespace, FIREBREAK_OPERATOR: 'bob' };
  report = await runSlackOutage({
    stub: h.stub,
    client: h.client,
    outageMs,
    open: () => startIncident(h.client, h.taskQueue, testInput(policy, { requester: 'slack:U0ALICE' })),
    approve: async (incidentId, step) => {
      const r = await runFirebreak(['approve', incidentId, step], env);
      return { ok: r.code === 0, output: `${r.stdout}${r.stderr}` };
    },
  });
  console.log(`Slack outage of ${Math.round(report.outageMs / 1000)} s: ${JSON.stringify({ ...report, decisions: report.decisions.length })}`);
}, outageMs + 300_000);

describe('a Slack outage (429 and 5xx on every call)', () => {
  it('was real: every call during it was refused, none accepted, and notices were retried past the backoff ceiling', () => {
    expect(report.acceptedDuringOutage).toBe(0);
    expect(report.callsRefused.rateLimited).toBeGreaterThan(0);
    expect(report.callsRefused.serverErrors).toBeGreaterThan(0);
    // Attempts 1 s, 2 s, … 32 s apart reach the one-minute ceiling at the 7th.
    expect(report.maxNoticeAttempt).toBeGreaterThanOrEqual(outageMs >= 70_000 ? 7 : 2);
  });

  it('lets the CLI answer every gate while Slack is down, each decision taking effect at once', () => {
    const during = report.decisions.filter((d) => d.duringOutage);
    // Both gates of the incident opened before the outage, then both of every later one but the last, and the last's first.
    expect(during.length).toBe(2 * report.incidents.length - 1);
    expect(during.every((d) => d.ok)).toBe(true);
    // The step ran right after the vote: nothing waited for Slack.
    for (const d of during) expect(d.effectMs - d.cliMs).toBeLessThan(10_000);
  });

  it('posts every approval request once Slack is back, each exactly once', () => {
    expect(report.approvalRequests.missing).toEqual([]);
    expect(report.approvalRequests.accepted).toBe(report.approvalRequests.meant);
    // Two gates per incident.
    expect(report.approvalRequests.meant).toBe(2 * report.incidents.length);
    expect(report.approvalRequests.duplicates).toBe(0);
  });

  it('posts every timeline event in the thread once Slack is back, no batch lost or doubled', () => {
    expect(report.timelineEvents.missing).toEqual([]);
    expect(report.timelineEvents.posted).toBe(report.timelineEvents.recorded);
    expect(report.timelineBatches.missing).toEqual([]);
    expect(report.timelineBatches.accepted).toBe(report.timelineBatches.meant);
    expect(report.timelineBatches.duplicates).toBe(0);
  });

  it('gives up no notice: nothing recorded as notice.failed', () => {
    expect(report.noticesFailed).toBe(0);
  });
});
