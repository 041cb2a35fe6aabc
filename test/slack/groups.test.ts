import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { SlackApi } from '../../activities/slack/index.ts';
import { slackWebClient } from '../../src/wiring/clients.ts';
import { ApproverGroups, usergroupTtlMs } from '../../src/slack/groups.ts';
import type { IncidentInput } from '../../workflows/engine/types.ts';
import { fixtureJson, postAlert, startTestIntake, testPolicies } from '../intake/helpers.ts';
import { temporalClient, uniqueName } from '../support/servers.ts';
import { slackStub, stubToken } from '../support/slack-stub.ts';

const stub = await slackStub();
const api = new SlackApi(slackWebClient({ token: stubToken, apiUrl: stub.url }));

describe('approver groups', () => {
  it("joins a Slack user group's members to the group's static list", async () => {
    stub.addUsergroup('S0ONCALL', ['U0CAROL', 'U0BOB']);
    const groups = new ApproverGroups({ FIREBREAK_APPROVER_GROUPS: { oncall: ['slack:U0BOB', 'cli:alice'], leads: ['cli:erin'] }, FIREBREAK_SLACK_USERGROUPS: { oncall: 'S0ONCALL' } }, api);
    expect(await groups.resolve()).toEqual({ oncall: ['slack:U0BOB', 'cli:alice', 'slack:U0CAROL'], leads: ['cli:erin'] });
  });

  it('reads a user group again only after a short time', async () => {
    stub.addUsergroup('S0TTL', ['U0DAVE']);
    let now = 1_000_000;
    const groups = new ApproverGroups({ FIREBREAK_APPROVER_GROUPS: {}, FIREBREAK_SLACK_USERGROUPS: { ttl: 'S0TTL' } }, api, () => now);
    const reads = () => stub.callsOf('usergroups.users.list').filter((c) => c.args['usergroup'] === 'S0TTL').length;
    await groups.resolve();
    now += usergroupTtlMs - 1;
    stub.addUsergroup('S0TTL', ['U0DAVE', 'U0ERIN']);
    expect(await groups.resolve()).toEqual({ ttl: ['slack:U0DAVE'] });
    expect(reads()).toBe(1);
    now += 2;
    expect(await groups.resolve()).toEqual({ ttl: ['slack:U0DAVE', 'slack:U0ERIN'] });
    expect(reads()).toBe(2);
  });

  it('fails with a typed failure naming the user group Slack does not know', async () => {
    const groups = new ApproverGroups({ FIREBREAK_APPROVER_GROUPS: {}, FIREBREAK_SLACK_USERGROUPS: { ghosts: 'S0NOPE' } }, api);
    await expect(groups.resolve()).rejects.toMatchObject({ type: 'SlackRequestRejected', message: expect.stringContaining('usergroups.users.list for user group S0NOPE: no_such_subteam') });
  });

  it('falls back to the static lists, saying which user groups are missing, when Slack cannot be read', async () => {
    const groups = new ApproverGroups({ FIREBREAK_APPROVER_GROUPS: { oncall: ['cli:alice'] }, FIREBREAK_SLACK_USERGROUPS: { oncall: 'S0NOPE' } }, api);
    const warnings: string[] = [];
    expect(await groups.resolveOrStatic((m) => warnings.push(m))).toEqual({ oncall: ['cli:alice'] });
    expect(warnings).toEqual([expect.stringMatching(/^could not read the Slack user groups of approver groups oncall; the incident uses their static lists/)]);
  });

  it("pins the Slack user group's members in an incident an alert opens", async () => {
    stub.addUsergroup('S0ALERTS', ['U0FRANK']);
    const groups = new ApproverGroups({ FIREBREAK_APPROVER_GROUPS: { oncall: ['cli:alice'] }, FIREBREAK_SLACK_USERGROUPS: { oncall: 'S0ALERTS' } }, api);
    const client = await temporalClient();
    const policies = testPolicies(uniqueName('g').toLowerCase());
    // No worker: the incident's input is read from its history.
    const { url } = await startTestIntake({ client, taskQueue: uniqueName('no-worker'), policies: policies.all, groups: () => groups.resolveOrStatic(() => undefined) });
    const payload = await fixtureJson('falco/terminal-shell.json');
    payload.output_fields = { ...(payload.output_fields as object), 'k8s.pod.name': uniqueName('pod') };
    const r = await postAlert(url, 'falco', JSON.stringify(payload));
    const incidentId = r.body.alerts?.[0]?.incidents[0]?.incidentId;
    const history = await client.workflow.getHandle(incidentId!).fetchHistory();
    const payloads = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const input = defaultPayloadConverter.fromPayload<IncidentInput>(payloads[0]!);
    expect(input.groups).toEqual({ oncall: ['cli:alice', 'slack:U0FRANK'] });
  });
});
