/**
 * The Slack app in Socket Mode, end to end: the real Bolt app opens its
 * connection through the stub's apps.connections.open with the app-level
 * token, receives clicks, modal submissions and `/incident` as envelopes on
 * the stub's WebSocket, acknowledges each one, and drives the real engine on
 * the dev server — the same behaviour the HTTP tests check, over the socket.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { approveActionId, denyModalCallbackId, incidentModalCallbackId } from '../../src/slack/blocks.ts';
import { statusQuery, timelineQuery } from '../../workflows/engine/messages.ts';
import { awaiting, startIncident, testInput, testPolicy, waitForStatus } from '../support/engine.ts';
import { buttonClickPayload, slackSocketHarness, slashCommandFields, textValue, viewSubmission } from '../support/slack.ts';
import { stubAppToken, type StubMessage } from '../support/slack-stub.ts';

const gate = { approvers: ['U0ALICE', 'U0BOB', 'U0CAROL'], required: 1, twoPerson: true, timeout: '30m', onTimeout: 'deny' };
const policy = testPolicy({ isolate: gate, cordon: { ...gate, required: 2 } });

let h: Awaited<ReturnType<typeof slackSocketHarness>>;
beforeAll(async () => {
  h = await slackSocketHarness({ policies: [policy] });
});

/** Starts an incident requested by U0ALICE and waits for its approval request for `isolate` in Slack. */
async function incidentWithRequest() {
  const handle = await startIncident(h.client, h.taskQueue, testInput(policy, { requester: 'slack:U0ALICE' }));
  await waitForStatus(handle, awaiting('isolate'));
  const message = await h.stub.waitFor('the approval request for isolate', () =>
    h.stub.messages.find((m) => m.text.includes(`step isolate (request ${handle.workflowId}#`)),
  );
  return { handle, message, value: approveValueOf(message) };
}

function approveValueOf(m: StubMessage): string {
  const actions = (m.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find((b) => b.type === 'actions');
  const value = actions?.elements?.find((e) => e.action_id === approveActionId)?.value;
  if (value === undefined) throw new Error(`no Approve button on ${JSON.stringify(m.blocks)}`);
  return value;
}

/** A click on the Approve button, pushed as an `interactive` envelope; returns its envelope id. */
function clickApprove(user: string, m: StubMessage, value: string): string {
  return h.stub.push('interactive', buttonClickPayload({ user, channel: m.channel, messageTs: m.ts, actionId: approveActionId, value }));
}

/** The HTTP tests' form body decoded: the payload Socket Mode carries as JSON. */
function payloadOf(form: string): Record<string, unknown> {
  return JSON.parse(new URLSearchParams(form).get('payload') ?? '{}') as Record<string, unknown>;
}

async function timelineOf(handle: WorkflowHandle) {
  return handle.query(timelineQuery);
}

describe('the Slack app in Socket Mode', () => {
  it('connects with the app-level token and is ready once Slack says hello', () => {
    expect(h.app.mode).toBe('socket');
    expect(h.app.url).toBeUndefined();
    const opens = h.stub.callsOf('apps.connections.open');
    expect(opens).toHaveLength(1);
    expect(opens[0]).toMatchObject({ ok: true, token: stubAppToken });
    expect(h.stub.socketConnections).toBe(1);
    expect(h.stub.openSockets).toBe(1);
  });

  it('acknowledges an approver’s Approve click; the step runs and the message shows who approved', async () => {
    const { handle, message, value } = await incidentWithRequest();
    const envelope = clickApprove('U0BOB', message, value);
    const ack = await h.stub.ackOf(envelope);
    expect(ack.payload ?? {}).toEqual({});
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

  it('acknowledges a non-approver’s click, tells them why in an ephemeral message, and changes nothing', async () => {
    const { handle, message, value } = await incidentWithRequest();
    await h.stub.ackOf(clickApprove('U0MALLORY', message, value));
    const told = await h.stub.waitFor('the ephemeral refusal', () =>
      h.stub.callsOf('chat.postEphemeral').find((c) => c.args['user'] === 'U0MALLORY' && c.args['channel'] === message.channel),
    );
    expect(told.args['text']).toContain('You are not an approver of step `isolate`');
    expect((await handle.query(statusQuery)).pendingApprovals).toMatchObject([{ step: 'isolate', approvals: 0 }]);
    expect((await timelineOf(handle)).some((e) => e.type === 'approval.granted')).toBe(false);
    expect(h.world.of(handle.workflowId).isolated).toBeFalsy();
  });

  it('answers an invalid modal submission in the acknowledgement, with the error under its field', async () => {
    const privateMetadata = JSON.stringify({ i: 'inc-none', s: 'isolate', r: 'inc-none#1', c: 'C00000001' });
    const form = viewSubmission({ user: 'U0CAROL', callbackId: denyModalCallbackId, privateMetadata, values: { reason: textValue(' ') } });
    const ack = await h.stub.ackOf(h.stub.push('interactive', payloadOf(form)));
    expect(ack.payload).toEqual({ response_action: 'errors', errors: { reason: 'Say why the step must not run (at least 3 characters).' } });
  });

  it('opens the incident modal for /incident sent as a slash_commands envelope', async () => {
    const before = h.stub.callsOf('views.open').length;
    const envelope = h.stub.push('slash_commands', slashCommandFields({ user: 'U0ALICE', channel: 'C0SECURITY', text: 'pod:shop/web-1' }));
    await h.stub.ackOf(envelope);
    const opened = await h.stub.waitFor('the /incident modal', () =>
      h.stub.callsOf('views.open').slice(before).find((c) => (c.args['view'] as { callback_id?: string }).callback_id === incidentModalCallbackId),
    );
    const view = JSON.stringify(opened.args['view']);
    expect(view).toContain(`"value":"${policy.id}"`);
    expect(view).toContain('"initial_value":"pod:shop/web-1"');
  });

  it('sent nothing on the socket but acknowledgements of the envelopes it was given', () => {
    expect(h.stub.strayMessages).toEqual([]);
    expect(new Set(h.stub.acks.map((a) => a.envelope_id))).toEqual(new Set(h.stub.envelopes.map((e) => e.envelope_id)));
  });

  it('closes its socket when stopped', async () => {
    await h.app.stop();
    await h.stub.waitFor('the socket closed', () => h.stub.openSockets === 0 || undefined, 5_000);
    expect(h.stub.socketConnections).toBe(1);
  });
});
