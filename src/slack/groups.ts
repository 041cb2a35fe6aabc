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

  /**
   * As `resolve`, but never failing: when Slack cannot be read, the static
   * lists, and `warn` says which user groups are missing from them. Starting
   * an incident must not wait on Slack; its gates stay answerable by the
   * static members and the CLI.
   */
  async resolveOrStatic(warn: (message: string) => void): Promise<Record<string, string[]>> {
    try {
      return await this.resolve();
    } catch (e) {
      const names = Object.keys(this.config.FIREBREAK_SLACK_USERGROUPS).join(', ');
      warn(`could not read the Slack user groups of approver groups ${names}; the incident uses their static lists (FIREBREAK_APPROVER_GROUPS) only: ${e instanceof Error ? e.message : String(e)}`);
      return Object.fromEntries(Object.entries(this.config.FIREBREAK_APPROVER_GROUPS).map(([name, members]) => [name, [...members]]));
    }
  }

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
