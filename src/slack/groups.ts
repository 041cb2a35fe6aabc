import type { SlackApi } from '../../activities/slack/index.ts';
import type { Config } from '../config/index.ts';

/** How long a Slack user group's membership is trusted before it is read again. */
export const usergroupTtlMs = 60_000;

/**
 * Approver groups for a new incident: FIREBREAK_APPROVER_GROUPS' static lists,
 * joined (under the same name) by the members of the Slack user groups in
 * FIREBREAK_SLACK_USERGROUPS, read with usergroups.users.list and cached for
 * a short time. The incident pins the result in its input, so a vote is judged
 * by who was in the group when the incident opened.
 */
export class ApproverGroups {
  private readonly cache = new Map<string, { members: string[]; until: number }>();

  constructor(
    private readonly config: Pick<Config, 'FIREBREAK_APPROVER_GROUPS' | 'FIREBREAK_SLACK_USERGROUPS'>,
    private readonly api: SlackApi | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  async resolve(): Promise<Record<string, string[]>> {
    const groups: Record<string, string[]> = {};
    for (const [name, members] of Object.entries(this.config.FIREBREAK_APPROVER_GROUPS)) groups[name] = [...members];
    for (const [name, usergroup] of Object.entries(this.config.FIREBREAK_SLACK_USERGROUPS)) {
      const members = (await this.members(usergroup)).map((u) => `slack:${u}`);
      groups[name] = [...new Set([...(groups[name] ?? []), ...members])];
    }
    return groups;
  }

  private async members(usergroup: string): Promise<string[]> {
    const hit = this.cache.get(usergroup);
    if (hit !== undefined && hit.until > this.now()) return hit.members;
    if (this.api === undefined) throw new Error(`FIREBREAK_SLACK_USERGROUPS names ${usergroup}, but Slack is not configured: set SLACK_MODE and its tokens.`);
    const members = await this.api.usergroupMembers(usergroup);
    this.cache.set(usergroup, { members, until: this.now() + usergroupTtlMs });
    return members;
  }
}
