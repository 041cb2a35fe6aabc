import { beforeAll, describe, expect, it } from 'vitest';
import { channelNameFor } from '../../activities/slack/index.ts';
import { incidentIdFor } from '../../src/incidents/ids.ts';
import { approveActionId, incidentModalCallbackId } from '../../src/slack/blocks.ts';
import { statusQuery } from '../../workflows/engine/messages.ts';
import { awaiting, startIncident, testInput, testPolicy, waitForStatus } from '../support/engine.ts';
import { uniqueName } from '../support/servers.ts';
import {
  buttonClick,
  postToSlackApp,
  selectValue,
  slackHarness,
  slackSignature,
  slashCommand,
  textValue,
  viewSubmission,
} from '../support/slack.ts';

const gate = { approvers: ['group:oncall'], required: 1, twoPerson: true, timeout: '30m', onTimeout: 'deny' };
const policy = testPolicy({ isolate: gate, cordon: gate });

let h: Awaited<ReturnType<typeof slackHarness>>;
beforeAll(async () => {
  h = await slackHarness({ policies: [policy], groups: { oncall: ['slack:U0BOB'] }, usergroups: { oncall: 'S0ONCALL' } });
  h.stub.addUsergroup('S0ONCALL', ['U0CAROL', 'U0DAVE']);
});

describe('requests to the Slack app', () => {
  describe('verification', () => {
    /** An incident awaiting "isolate", its request message, and a click on Approve by an approver. */
    async function pendingClick() {
      const input = testInput(policy, { requester: 'slack:U0ALICE', groups: { oncall: ['slack:U0BOB'] } });
      const handle = await startIncident(h.client, h.taskQueue, input);
      await waitForStatus(handle, awaiting('isolate'));
      const m = await h.stub.waitFor('the approval request', () => h.stub.messages.find((x) => x.text.includes(`(request ${handle.workflowId}#`)));
      const value = (m.blocks as { type: string; elements?: { value: string }[] }[]).find((b) => b.type === 'actions')!.elements![0]!.value;
      return { handle, body: buttonClick({ user: 'U0BOB', channel: m.channel, messageTs: m.ts, actionId: approveActionId, value }) };
    }

    async function expectUnchanged(handle: Awaited<ReturnType<typeof pendingClick>>['handle']) {
      await new Promise((r) => setTimeout(r, 500));
      expect((await handle.query(statusQuery)).pendingApprovals).toMatchObject([{ step: 'isolate', approvals: 0 }]);
    }

    it('refuses an unsigned request with 401 and changes nothing', async () => {
      const { handle, body } = await pendingClick();
      expect((await postToSlackApp(h.url, body, { signature: null })).status).toBe(401);
      await expectUnchanged(handle);
    });

    it('refuses a request with a wrong signature with 401 and changes nothing', async () => {
      const { handle, body } = await pendingClick();
      const now = Math.floor(Date.now() / 1000);
      expect((await postToSlackApp(h.url, body, { signature: slackSignature('not-the-signing-secret', now, body), timestamp: now })).status).toBe(401);
      await expectUnchanged(handle);
    });

    it('refuses a correctly signed request older than five minutes with 401 and changes nothing', async () => {
      const { handle, body } = await pendingClick();
      expect((await postToSlackApp(h.url, body, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 })).status).toBe(401);
      await expectUnchanged(handle);
    });

    it('accepts the same click signed correctly (the control)', async () => {
      const { handle, body } = await pendingClick();
      expect((await postToSlackApp(h.url, body)).status).toBe(200);
      await waitForStatus(handle, awaiting('cordon'));
    });
  });

  describe('/incident', () => {
    const submit = (user: string, fields: { runbook?: string | null; targets?: string | null; severity?: string | null; summary?: string | null }) =>
      postToSlackApp(
        h.url,
        viewSubmission({
          user,
          callbackId: incidentModalCallbackId,
          values: {
            runbook: selectValue(fields.runbook ?? null),
            targets: textValue(fields.targets ?? null),
            severity: selectValue(fields.severity ?? null),
            summary: textValue(fields.summary ?? null),
          },
        }),
      );

    it('opens the modal with the installed runbooks and the targets typed after the command', async () => {
      const r = await postToSlackApp(h.url, slashCommand({ user: 'U0ALICE', channel: 'C0SECURITY', text: 'pod:shop/web-9' }));
      expect(r.status).toBe(200);
      const call = await h.stub.waitFor('views.open', () => h.stub.callsOf('views.open').find((c) => (c.args['view'] as { callback_id?: string }).callback_id === incidentModalCallbackId));
      const view = JSON.stringify(call.args['view']);
      expect(view).toContain('"value":"engine-test"');
      expect(view).toContain('"initial_value":"pod:shop/web-9"');
    });

    it('shows each invalid field its error inline in the modal, and starts nothing', async () => {
      const creates = h.stub.callsOf('conversations.create').length;
      const r = await submit('U0ALICE', { runbook: 'engine-test', targets: 'pod:shop/web-1\nbogus', severity: 'high', summary: '   ' });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual({
        response_action: 'errors',
        errors: {
          targets: expect.stringContaining('Line 2: "bogus": expected kind:id'),
          summary: 'Say what happened.',
        },
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(h.stub.callsOf('conversations.create')).toHaveLength(creates);
    });

    it('shows a target that breaks its naming rule its error inline in the modal, naming the rule, and starts nothing', async () => {
      const creates = h.stub.callsOf('conversations.create').length;
      const r = await submit('U0ALICE', { runbook: 'engine-test', targets: 'pod:shop/..\npod:../../x', severity: 'high', summary: 'shell in web' });
      expect(r.status).toBe(200);
      const answer = JSON.parse(r.body) as { response_action: string; errors: Record<string, string> };
      expect(answer).toEqual({ response_action: 'errors', errors: { targets: expect.any(String) } });
      expect(answer.errors['targets']).toMatch(/^Line 1: "pod:shop\/\.\.": pod name "\.\." is not a valid Kubernetes name: .*\(RFC 1123 subdomain\) Line 2: "pod:\.\.\/\.\.\/x": pod "\.\.\/\.\.\/x": expected namespace\/pod/);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(h.stub.callsOf('conversations.create')).toHaveLength(creates);
      await expect(h.client.workflow.getHandle(incidentIdFor('engine-test', '-:shop:..')).describe()).rejects.toThrow(/not found/i);
    });

    it('starts the incident with the Slack user as requester, creates its channel, invites requester and responders, and pins a summary', async () => {
      const pod = uniqueName('web');
      const r = await submit('U0ALICE', { runbook: 'engine-test', targets: `pod:shop/${pod}`, severity: 'critical', summary: 'Reverse shell from <web> pod' });
      expect(r.status).toBe(200);
      expect(r.body).toBe('');
      const incidentId = incidentIdFor('engine-test', `-:shop:${pod}`);
      const name = channelNameFor(incidentId);
      const channel = await h.stub.waitFor(`channel #${name}`, () => {
        const c = h.stub.channelByName(name);
        return c !== undefined && h.stub.pinned(c.id).length === 1 ? c : undefined;
      });
      // The requester, the static group member and the Slack user group's members.
      expect(channel.members).toEqual(expect.arrayContaining(['U0ALICE', 'U0BOB', 'U0CAROL', 'U0DAVE']));
      const status = await h.client.workflow.getHandle(incidentId).query(statusQuery);
      expect(status).toMatchObject({ requester: 'slack:U0ALICE', trigger: { source: 'slack', severity: 'critical', summary: 'Reverse shell from <web> pod' } });
      const summary = h.stub.messages.find((m) => m.channel === channel.id && m.ts === h.stub.pinned(channel.id)[0]);
      expect(JSON.stringify(summary?.blocks)).toContain('Reverse shell from &lt;web&gt; pod');
    });
  });
});
