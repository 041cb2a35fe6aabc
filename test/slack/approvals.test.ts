import type { WorkflowHandle } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { channelNameFor } from '../../activities/slack/index.ts';
import { approveActionId, denyActionId, denyModalCallbackId } from '../../src/slack/blocks.ts';
import { statusQuery, timelineQuery } from '../../workflows/engine/messages.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { runFirebreak } from '../support/cli.ts';
import { awaiting, startIncident, testInput, testPolicy, waitForStatus } from '../support/engine.ts';
import { sandbox } from '../support/servers.ts';
import { buttonClick, postToSlackApp, slackHarness, textValue, viewSubmission } from '../support/slack.ts';
import type { StubMessage } from '../support/slack-stub.ts';

const gate = { approvers: ['U0ALICE', 'U0BOB', 'U0CAROL', 'cli:bob'], required: 1, twoPerson: true, timeout: '30m', onTimeout: 'deny' };
const policy = testPolicy({ isolate: gate, cordon: { ...gate, required: 2 } });

let h: Awaited<ReturnType<typeof slackHarness>>;
beforeAll(async () => {
  h = await slackHarness({ policies: [policy] });
});

/** Starts an incident requested by U0ALICE and waits for its approval request for `step` in Slack. */
async function incidentWithRequest(step = 'isolate', targetPolicy = policy) {
  const input = testInput(targetPolicy, { requester: 'slack:U0ALICE' });
  const handle = await startIncident(h.client, h.taskQueue, input);
  await waitForStatus(handle, awaiting(step));
  const message = await requestMessage(handle, step);
  return { handle, message, value: buttonValueOf(message) };
}

function requestMessage(handle: WorkflowHandle, step: string): Promise<StubMessage> {
  return h.stub.waitFor(`the approval request for ${step}`, () =>
    h.stub.messages.find((m) => m.text.includes(`step ${step} (request ${handle.workflowId}#`)),
  );
}

function buttonValueOf(m: StubMessage): string {
  const actions = (m.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find((b) => b.type === 'actions');
  const value = actions?.elements?.find((e) => e.action_id === approveActionId)?.value;
  if (value === undefined) throw new Error(`no Approve button on ${JSON.stringify(m.blocks)}`);
  return value;
}

async function click(user: string, m: StubMessage, value: string, actionId = approveActionId, actionTs?: string) {
  return postToSlackApp(h.url, buttonClick({ user, channel: m.channel, messageTs: m.ts, actionId, value, ...(actionTs ? { actionTs } : {}) }));
}

function ephemeralTo(user: string, channel: string) {
  return h.stub.callsOf('chat.postEphemeral').filter((c) => c.args['user'] === user && c.args['channel'] === channel);
}

describe('approvals in Slack', () => {
  it('posts a gated step in the incident channel with what will change, the sealed evidence, who approves, and the deadline', async () => {
    const { handle, message } = await incidentWithRequest();
    const channel = h.stub.channelByName(channelNameFor(handle.workflowId));
    expect(channel?.id).toBe(message.channel);
    expect(channel?.members).toEqual(expect.arrayContaining(['U0ALICE', 'U0BOB', 'U0CAROL']));
    expect(h.stub.pinned(message.channel)).toHaveLength(1);
    const blocks = JSON.stringify(message.blocks);
    expect(blocks).toContain('Approval needed: Engine test');
    expect(blocks).toContain('*Severity* high');
    expect(blocks).toContain('`pod:shop/web-1`');
    expect(blocks).toContain('pod.json `sha256:aaaaaaaaaaaa`');
    expect(blocks).toContain('<@U0BOB>');
    expect(blocks).toContain('1 approval needed (two-person: not <@U0ALICE>');
    expect(blocks).toMatch(/\*Deadline\* <!date\^\d+\^/);
    expect(blocks).toContain(denyActionId);
  });

  it('lets an approver approve with one click: the step runs and the message shows who approved and when', async () => {
    const { handle, message, value } = await incidentWithRequest();
    expect((await click('U0BOB', message, value)).status).toBe(200);
    const status = await waitForStatus(handle, awaiting('cordon'));
    expect(status.steps.find((s) => s.id === 'isolate')).toMatchObject({ status: 'succeeded', approvals: [{ actor: 'slack:U0BOB' }] });
    expect(h.world.of(handle.workflowId).isolated).toBe(true);
    await h.stub.waitFor('the request redrawn as approved', () =>
      h.stub.callsOf('chat.update').find((c) => c.args['ts'] === message.ts && JSON.stringify(c.args['blocks']).includes('*Approved* (1 of 1)')),
    );
    const redrawn = JSON.stringify(h.stub.messages.find((m) => m.ts === message.ts)?.blocks);
    expect(redrawn).toContain('<@U0BOB> at <!date^');
    expect(redrawn).not.toContain(approveActionId);
  });

  it('tells a non-approver, in an ephemeral message, that they are not an approver, and changes nothing', async () => {
    const { handle, message, value } = await incidentWithRequest();
    expect((await click('U0MALLORY', message, value)).status).toBe(200);
    const told = await h.stub.waitFor('the ephemeral refusal', () => ephemeralTo('U0MALLORY', message.channel)[0]);
    expect(told.args['text']).toContain('You are not an approver of step `isolate`');
    const status = await handle.query(statusQuery);
    expect(status.pendingApprovals).toMatchObject([{ step: 'isolate', approvals: 0 }]);
    expect((await handle.query(timelineQuery)).some((e) => e.type === 'approval.granted')).toBe(false);
  });

  it('tells the requester that a two-person step needs another approver, and changes nothing', async () => {
    const { handle, message, value } = await incidentWithRequest();
    await click('U0ALICE', message, value);
    const told = await h.stub.waitFor('the ephemeral refusal', () => ephemeralTo('U0ALICE', message.channel)[0]);
    expect(told.args['text']).toBe(
      'You requested this incident and step `isolate` needs two-person approval: another approver must approve it. Nothing changed.',
    );
    expect((await handle.query(statusQuery)).pendingApprovals).toMatchObject([{ step: 'isolate', approvals: 0 }]);
  });

  it('counts a double click once', async () => {
    const twoNeeded = testPolicy({ isolate: { ...gate, required: 2 } });
    const { handle, message, value } = await incidentWithRequest('isolate', twoNeeded);
    const [a, b] = await Promise.all([click('U0BOB', message, value, approveActionId, '1790000001.000001'), click('U0BOB', message, value, approveActionId, '1790000001.000002')]);
    expect([a.status, b.status]).toEqual([200, 200]);
    await h.stub.waitFor('the request redrawn with one approval', () =>
      h.stub.callsOf('chat.update').find((c) => c.args['ts'] === message.ts && JSON.stringify(c.args['blocks']).includes('(1 of 2)')),
    );
    const timeline = await handle.query(timelineQuery);
    expect(timeline.filter((e) => e.type === 'approval.granted')).toHaveLength(1);
    expect((await handle.query(statusQuery)).pendingApprovals).toMatchObject([{ step: 'isolate', approvals: 1 }]);
    expect(ephemeralTo('U0BOB', message.channel)).toEqual([]);
  });

  it('asks for a reason to deny in a modal, refuses an empty one inline, then denies and shows the reason', async () => {
    const { handle, message, value } = await incidentWithRequest();
    await click('U0CAROL', message, value, denyActionId);
    const opened = await h.stub.waitFor('the deny modal', () =>
      h.stub.callsOf('views.open').find((c) => (c.args['view'] as { callback_id?: string }).callback_id === denyModalCallbackId && String((c.args['view'] as { private_metadata: string }).private_metadata).includes(handle.workflowId)),
    );
    const privateMetadata = (opened.args['view'] as { private_metadata: string }).private_metadata;

    const empty = await postToSlackApp(h.url, viewSubmission({ user: 'U0CAROL', callbackId: denyModalCallbackId, privateMetadata, values: { reason: textValue('  ') } }));
    expect(empty.status).toBe(200);
    expect(JSON.parse(empty.body)).toEqual({ response_action: 'errors', errors: { reason: 'Say why the step must not run (at least 3 characters).' } });
    expect((await handle.query(statusQuery)).pendingApprovals).toHaveLength(1);

    const done = await postToSlackApp(
      h.url,
      viewSubmission({ user: 'U0CAROL', callbackId: denyModalCallbackId, privateMetadata, values: { reason: textValue('it is the <pentest> team') } }),
    );
    expect(done.status).toBe(200);
    await waitForStatus(handle, awaiting('cordon'));
    expect((await handle.query(statusQuery)).steps.find((s) => s.id === 'isolate')).toMatchObject({ status: 'denied', denial: { actor: 'slack:U0CAROL', reason: 'it is the <pentest> team' } });
    await h.stub.waitFor('the request redrawn as denied', () =>
      h.stub.callsOf('chat.update').find((c) => c.args['ts'] === message.ts && JSON.stringify(c.args['blocks']).includes('*Denied* by <@U0CAROL>')),
    );
    expect(JSON.stringify(h.stub.messages.find((m) => m.ts === message.ts)?.blocks)).toContain('it is the &lt;pentest&gt; team');
  });

  it('keeps every gate answerable from the CLI when Slack refuses the app, and records why on the timeline', async () => {
    const input = testInput(policy, { requester: 'slack:U0ALICE' });
    h.stub.failNext('conversations.create', { error: 'invalid_auth', when: (a) => a['name'] === channelNameFor(input.incidentId) });
    const handle = await startIncident(h.client, h.taskQueue, input);
    await waitForStatus(handle, awaiting('isolate'));
    const timeline = await waitForTimeline(handle, (t) => t.filter((e) => e.type === 'notice.failed').length >= 2);
    const [opened, request] = timeline.filter((e) => e.type === 'notice.failed');
    expect(opened?.data).toMatchObject({ kind: 'incident-opened', errorType: 'SlackInvalidAuth', error: expect.stringContaining('Set SLACK_BOT_TOKEN') });
    expect(request).toMatchObject({ step: 'isolate', data: { kind: 'approval-requested', errorType: 'SlackNoIncidentChannel' } });

    const cli = await runFirebreak(['approve', handle.workflowId, 'isolate'], { TEMPORAL_ADDRESS: sandbox().temporalAddress, FIREBREAK_OPERATOR: 'bob' });
    expect(cli.code, cli.stderr).toBe(0);
    await waitForStatus(handle, awaiting('cordon'));
  });
});

async function waitForTimeline(handle: WorkflowHandle, ok: (t: TimelineEvent[]) => boolean): Promise<TimelineEvent[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const t = await handle.query(timelineQuery);
    if (ok(t)) return t;
    if (Date.now() > deadline) throw new Error(`timeline did not reach the expected state: ${JSON.stringify(t.map((e) => e.type))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
