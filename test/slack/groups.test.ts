import { describe, expect, it } from 'vitest';
import { SlackApi, slackWebClient } from '../../activities/slack/index.ts';
import { ApproverGroups, usergroupTtlMs } from '../../src/slack/groups.ts';
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
});
