import type { WorkflowHandle } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { channelNameFor } from '../../activities/slack/index.ts';
import type { RunbookPolicy } from '../../src/runbooks/schema.ts';
import { decideUpdate, timelineQuery } from '../../workflows/engine/messages.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import type { IncidentInput } from '../../workflows/engine/types.ts';
import { awaiting, startIncident, testInput, testPolicy, waitForStatus } from '../support/engine.ts';
import { slackHarness } from '../support/slack.ts';
import type { StubMessage } from '../support/slack-stub.ts';

const gate = { approvers: ['U0BOB', 'U0CAROL'], required: 1, twoPerson: true, timeout: '30m', onTimeout: 'deny' };
const policy = testPolicy({ isolate: gate, cordon: gate });

let h: Awaited<ReturnType<typeof slackHarness>>;
beforeAll(async () => {
  h = await slackHarness({ policies: [policy] });
});

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

async function start(p: RunbookPolicy = policy, extra: Partial<IncidentInput> = {}) {
  const input = testInput(p, { requester: 'slack:U0ALICE', ...extra });
  return { input, handle: await startIncident(h.client, h.taskQueue, input) };
}

function roomOf(handle: WorkflowHandle) {
  return h.stub.waitFor('the incident channel with its pinned summary', () => {
    const c = h.stub.channelByName(channelNameFor(handle.workflowId));
    const pinned = c === undefined ? undefined : h.stub.pinned(c.id)[0];
    return c !== undefined && pinned !== undefined ? { channel: c.id, summaryTs: pinned } : undefined;
  });
}

function inChannel(channel: string): StubMessage[] {
  return h.stub.messages.filter((m) => m.channel === channel);
}

async function timelineUntil(handle: WorkflowHandle, ok: (t: TimelineEvent[]) => boolean): Promise<TimelineEvent[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const t = await handle.query(timelineQuery);
    if (ok(t)) return t;
    if (Date.now() > deadline) throw new Error(`timeline: ${JSON.stringify(t.map((e) => e.type))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('delivering to Slack', () => {
  it('waits out a 429 for the Retry-After Slack gave, then posts the approval request', async () => {
    const { input, handle } = await start();
    h.stub.failNext('chat.postMessage', {
      status: 429,
      retryAfter: 2,
      when: (a) => text(a['text']).includes(`(request ${input.incidentId}#`),
    });
    await waitForStatus(handle, awaiting('isolate'));
    const posted = await h.stub.waitFor('the approval request', () => h.stub.messages.find((m) => m.text.includes(`(request ${input.incidentId}#`)));
    const attempts = h.stub.callsOf('chat.postMessage').filter((c) => text(c.args['text']).includes(`(request ${input.incidentId}#`));
    expect(attempts.map((a) => a.status)).toEqual([429, 200]);
    // Retry-After (2 s), not the retry policy's first interval (1 s).
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(2000);
    expect(posted.channel).toBe((await roomOf(handle)).channel);
  });

  it('escapes alert text so <!channel>, mentions and links reach Slack as text', async () => {
    const summary = 'Shell in web-1 <!channel> ping <@U0EVIL> see <https://evil.example|the fix> & more';
    const { handle } = await start(policy, {
      trigger: { source: 'falco', severity: 'critical', summary, receivedAt: '2026-11-28T00:00:00.000Z' },
      // A target of kind `other` is free text to Slack; a pod or image named so is refused before any notice (domain/names.ts).
      targets: [{ kind: 'other', id: 'shop/<!here>' }],
    });
    const room = await roomOf(handle);
    await h.stub.waitFor('the approval request', () => inChannel(room.channel).find((m) => m.text.includes('(request ')));
    await h.stub.waitFor('the first timeline batch', () => inChannel(room.channel).find((m) => m.threadTs === room.summaryTs));
    const everything = JSON.stringify(inChannel(room.channel).map((m) => ({ text: m.text, blocks: m.blocks })));
    expect(everything).toContain('&lt;!channel&gt;');
    expect(everything).toContain('shop/&lt;!here&gt;');
    expect(everything).not.toContain('<!channel>');
    expect(everything).not.toContain('<!here>');
    expect(everything).not.toContain('<@U0EVIL>');
    expect(everything).not.toContain('<https://evil.example');
  });

  it('posts the timeline in the thread under the pinned summary, several events per message when they arrive together', async () => {
    const { handle } = await start();
    const room = await roomOf(handle);
    await waitForStatus(handle, awaiting('isolate'));
    await handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate', decision: 'approve', actor: 'slack:U0BOB', reason: 'confirmed' }] });
    const timeline = await timelineUntil(handle, (t) => t.some((e) => e.type === 'approval.requested' && e.step === 'cordon'));
    const thread = await h.stub.waitFor('every event up to the cordon request in the thread', () => {
      const replies = inChannel(room.channel).filter((m) => m.threadTs === room.summaryTs);
      const last = timeline.find((e) => e.type === 'approval.requested' && e.step === 'cordon')!;
      return replies.some((m) => m.text.includes(last.id)) ? replies : undefined;
    });
    const all = thread.map((m) => m.text).join('\n');
    for (const e of timeline.filter((x) => x.seq <= timeline.find((y) => y.type === 'approval.requested' && y.step === 'cordon')!.seq)) {
      expect(all).toContain(e.id);
    }
    expect(all).toContain('Incident opened: runbook engine-test');
    expect(all).toContain('Approved (1 of 1): confirmed');
    // Batched: fewer messages than events, the first carrying the opening events together.
    expect(thread.length).toBeLessThan(timeline.length);
    expect(thread[0]!.text).toContain(`${handle.workflowId}#0001`);
    expect(thread[0]!.text).toContain(`${handle.workflowId}#0002`);
  });

  it('opens the room even when an approver cannot be invited, and says who in its thread', async () => {
    h.stub.forgetUser('U0GONE');
    const { handle } = await start(testPolicy({ isolate: { ...gate, approvers: ['U0BOB', 'U0GONE'] }, cordon: gate }));
    const room = await roomOf(handle);
    const note = await h.stub.waitFor('the note about the failed invite', () =>
      inChannel(room.channel).find((m) => m.threadTs === room.summaryTs && m.text.startsWith('Could not invite')),
    );
    expect(note.text).toContain('<@U0GONE> (user_not_found)');
    expect(h.stub.channelByName(channelNameFor(handle.workflowId))?.members).toEqual(expect.arrayContaining(['U0ALICE', 'U0BOB']));
    await h.stub.waitFor('the approval request', () => inChannel(room.channel).find((m) => m.text.includes('(request ')));
  });

  it('marks every message of a drill as a drill', async () => {
    const { handle } = await start(policy, { trigger: { source: 'drill', severity: 'high', summary: 'tabletop: shell in web-1', receivedAt: '2026-11-28T00:00:00.000Z' } });
    const room = await roomOf(handle);
    await h.stub.waitFor('the approval request', () => inChannel(room.channel).find((m) => m.text.includes('(request ')));
    await h.stub.waitFor('the timeline thread', () => inChannel(room.channel).find((m) => m.threadTs === room.summaryTs));
    const messages = inChannel(room.channel);
    expect(messages.length).toBeGreaterThanOrEqual(3);
    for (const m of messages) {
      expect(m.text.startsWith('[DRILL] ')).toBe(true);
      expect(JSON.stringify(m.blocks)).toContain('DRILL');
    }
  });

  it("sends an escalation to the policy's escalateTo channels and people when a gate times out", async () => {
    const security = h.stub.addChannel('security');
    const escalating = testPolicy({
      isolate: { ...gate, timeout: '2s', onTimeout: 'escalate', escalateTo: ['#security', 'U0DAVE', 'group:leads', 'cli:erin'] },
      cordon: gate,
    });
    const { handle } = await start(escalating, { groups: { leads: ['slack:U0ERIN'] } });
    const toSecurity = await h.stub.waitFor('the escalation in #security', () => inChannel(security).find((m) => m.text.includes('Escalation: Engine test')), 15_000);
    expect(JSON.stringify(toSecurity.blocks)).toContain('got no decision by its deadline');
    // The escalation goes to its targets one after another: wait for each.
    await h.stub.waitFor('the escalation to U0DAVE', () => h.stub.messages.find((m) => m.channel === 'D0DAVE' && m.text.includes('Escalation')));
    await h.stub.waitFor('the escalation to U0ERIN (group:leads)', () => h.stub.messages.find((m) => m.channel === 'D0ERIN' && m.text.includes('Escalation')));
    const room = await roomOf(handle);
    await h.stub.waitFor('the escalation in the incident channel', () => inChannel(room.channel).find((m) => m.threadTs === undefined && m.text.includes('Escalation')));
  });

  it('records an escalation to a channel that does not exist as a failed notice saying what to fix', async () => {
    const broken = testPolicy({ isolate: { ...gate, timeout: '1s', onTimeout: 'escalate', escalateTo: ['#nowhere'] }, cordon: gate });
    const { handle } = await start(broken);
    const timeline = await timelineUntil(handle, (t) => t.some((e) => e.type === 'notice.failed'));
    const failed = timeline.find((e) => e.type === 'notice.failed');
    expect(failed).toMatchObject({ step: 'isolate', data: { kind: 'escalation', errorType: 'SlackChannelNotFound' } });
    expect((failed?.data as { error: string }).error).toContain('escalateTo');
    // Refused for good: tried once, not retried.
    expect(h.stub.callsOf('chat.postMessage').filter((c) => c.args['channel'] === '#nowhere')).toHaveLength(1);
  });

  it('records an escalation to a channel the app is not in as a failed notice telling to invite it', async () => {
    h.stub.addChannel('quiet-room', { botIsMember: false });
    const outside = testPolicy({ isolate: { ...gate, timeout: '1s', onTimeout: 'escalate', escalateTo: ['#quiet-room'] }, cordon: gate });
    const { handle } = await start(outside);
    const timeline = await timelineUntil(handle, (t) => t.some((e) => e.type === 'notice.failed'));
    expect(timeline.find((e) => e.type === 'notice.failed')).toMatchObject({
      data: { kind: 'escalation', errorType: 'SlackNotInChannel', error: expect.stringContaining('/invite @Firebreak') },
    });
  });
});
