// A Slack outage longer than one round of a notice's retries, in virtual time
// (the time-skipping server): the notice is retried round after round and
// posted once Slack is back. Before the fix a notice whose retries ran out
// (after six hours then) was given up like a refused one: the room was never
// made and the approval request never posted, though Slack came back. A
// later round is a retry like any attempt after the first: what an earlier
// round may have posted is looked for before posting again.
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { SlackApi } from '../../activities/slack/index.ts';
import { deliveries } from '../../src/sandbox/slack-outage.ts';
import { slackNotifier } from '../../src/slack/notifier.ts';
import { slackWebClient } from '../../src/wiring/clients.ts';
import { timelineQuery } from '../../workflows/engine/messages.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { awaiting, newWorld, startEngineWorker, startIncident, testInput, testPolicy, waitForStatus } from '../support/engine.ts';
import { timeSkippingEnv } from '../support/servers.ts';
import { slackStub, stubToken } from '../support/slack-stub.ts';

const env = await timeSkippingEnv();
const stub = await slackStub();
const { taskQueue } = await startEngineWorker(env.nativeConnection, newWorld(), {
  notifier: slackNotifier(new SlackApi(slackWebClient({ token: stubToken, apiUrl: stub.url })), pino({ level: 'silent' })),
});

const gate = { approvers: ['cli:bob', 'U0BOB'], required: 1, twoPerson: true, timeout: '2d', onTimeout: 'deny' };
const policy = testPolicy({ isolate: gate, cordon: gate });

describe('a Slack outage of seven hours (virtual time)', () => {
  let handle: Awaited<ReturnType<typeof startIncident>>;
  let timeline: TimelineEvent[];
  let callsDuringOutage: number;

  beforeAll(async () => {
    stub.outage({ answers: [503, 429, 502], retryAfterSeconds: 30 });
    handle = await startIncident(env.client, taskQueue, testInput(policy, { requester: 'slack:U0ALICE' }));
    await waitForStatus(handle, awaiting('isolate'));
    // Seven virtual hours: more than the six the notices were once given; about seventy rounds of five minutes, a minute apart.
    for (let h = 0; h < 7; h += 1) await env.sleep('1 hour');
    callsDuringOutage = stub.calls.length;
    stub.recover();
    // The next round starts within the pause between rounds.
    await env.sleep('2 minutes');
    await stub.waitFor('the approval request after the outage', () => stub.accepted('chat.postMessage').find((c) => String(c.args['text']).includes(`(request ${handle.workflowId}#`)), 30_000);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const d = await deliveries(stub, [handle]);
      if (d.timelineEvents.missing.length === 0 && d.approvalRequests.missing.length === 0) break;
      if (Date.now() > deadline) throw new Error(`not delivered: ${JSON.stringify(d)}`);
      await env.sleep('10 seconds');
    }
    timeline = await handle.query(timelineQuery);
  }, 240_000);

  it('was retried throughout: Slack refused every call until it recovered', () => {
    expect(stub.calls.slice(0, callsDuringOutage).every((c) => c.outage === true)).toBe(true);
    // About one call a minute (the backoff ceiling) for seven hours, across rounds.
    expect(callsDuringOutage).toBeGreaterThan(300);
  });

  it('posts the approval request once Slack is back, once, and gives up no notice', async () => {
    const d = await deliveries(stub, [handle]);
    expect(d.approvalRequests).toMatchObject({ meant: 1, accepted: 1, duplicates: 0 });
    expect(timeline.filter((e) => e.type === 'notice.failed')).toEqual([]);
  });

  it('posts every timeline event once in the thread after the outage', async () => {
    const d = await deliveries(stub, [handle]);
    expect(d.timelineEvents.missing).toEqual([]);
    expect(d.timelineBatches.duplicates).toBe(0);
  });

  it('says on the timeline, once, that the notice was delayed and is being retried', () => {
    const delayed = timeline.filter((e) => e.type === 'notice.delayed');
    expect(delayed).toHaveLength(1);
    expect(delayed[0]?.data).toMatchObject({ kind: 'incident-opened', errorType: expect.stringMatching(/^Slack(Unavailable|RateLimited)$/), retryingEvery: '1 minute' });
  });
});

describe('a request Slack posted but answered 503 for, then down past the end of that round of retries', () => {
  let handle: Awaited<ReturnType<typeof startIncident>>;
  const input = testInput(policy, { requester: 'slack:U0ALICE' });
  const isRequest = (a: Record<string, unknown>) => String(a['text']).includes(`(request ${input.incidentId}#`);

  beforeAll(async () => {
    stub.failNext('chat.postMessage', { status: 503, carriedOut: true, when: isRequest });
    handle = await startIncident(env.client, taskQueue, input);
    await stub.waitFor('the request posted and answered 503', () => stub.calls.find((c) => c.carriedOut === true && isRequest(c.args)));
    stub.outage({ answers: [503] });
    // The round runs out five minutes after it began; Slack is back before the next one starts, a minute later.
    await env.sleep('5 minutes');
    await until(async () => (await handle.query(timelineQuery)).some((e) => e.type === 'notice.delayed'));
    stub.recover();
    await env.sleep('2 minutes');
    await until(async () => (await deliveries(stub, [handle])).timelineEvents.missing.length === 0);
  }, 120_000);

  it('is not posted again by the next round: the round looks for it first', () => {
    expect(stub.messages.filter((m) => m.text.includes(`(request ${input.incidentId}#`))).toHaveLength(1);
  });

  it('is recorded once as delayed, and never as failed', async () => {
    const t = await handle.query(timelineQuery);
    expect(t.filter((e) => e.type === 'notice.delayed').map((e) => e.data)).toMatchObject([{ kind: 'approval-requested' }]);
    expect(t.filter((e) => e.type === 'notice.failed')).toEqual([]);
  });
});

/** Polls (real time) until `ok`, for at most 30 s. */
async function until(ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('condition not met within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}
