import { createHash } from 'node:crypto';
import { webApi, type types } from '@slack/bolt';
import { ApplicationFailure } from '@temporalio/common';
import type { NoticeReceipt } from '../notify.ts';
import { slackFailure, toSlackFailure } from './errors.ts';

/** A message as Firebreak posts it: blocks, and the plain text Slack shows in notifications. */
export interface SlackMessage {
  text: string;
  blocks: types.KnownBlock[];
}

/** The incident channel's name: Slack's rules (lower case, digits, `-`, `_`, at most 80), unique per incident id. */
export function channelNameFor(incidentId: string): string {
  const hash = createHash('sha256').update(incidentId).digest('hex').slice(0, 6);
  const slug = incidentId
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
  return `inc-${slug.slice(0, 80 - 'inc-'.length - 1 - hash.length).replace(/[-_]+$/, '')}-${hash}`;
}

/** Slack errors that mean "already so": the desired state is in place. */
const alreadyDone = new Set(['already_in_channel', 'cant_invite_self', 'already_pinned']);

/** Slack errors that say one person cannot be invited (unknown, deactivated, a guest). */
const uninvitable = new Set(['user_not_found', 'cant_invite', 'user_is_restricted', 'user_is_ultra_restricted', 'ura_max_channels', 'user_disabled']);

function platformError(e: unknown): string | undefined {
  if ((e as { code?: unknown } | null)?.code !== webApi.ErrorCode.PlatformError) return undefined;
  const error = (e as { data?: { error?: unknown } }).data?.error;
  return typeof error === 'string' ? error : undefined;
}

/**
 * The Slack side effects of incidents, each idempotent where Slack allows it
 * and each failing with a typed failure (errors.ts). `retry` says the call is
 * a retry of an attempt that may have posted already: the channel's recent
 * messages are searched for the marker first, so a retried post is not doubled.
 */
export class SlackApi {
  constructor(readonly client: webApi.WebClient) {}

  private async call<T>(method: string, where: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      throw toSlackFailure(e, method, where);
    }
  }

  /**
   * The incident's room: its channel (created, or found when a previous
   * attempt created it), the requester and responders invited, and the
   * pinned summary (found by its marker, or posted and pinned).
   */
  async openIncidentRoom(o: { incidentId: string; invite: readonly string[]; summary: SlackMessage; marker: string; drill: boolean }): Promise<NoticeReceipt> {
    const name = channelNameFor(o.incidentId);
    const channel = await this.findOrCreateChannel(name);
    const notInvited: string[] = [];
    for (const user of o.invite) {
      try {
        await this.client.conversations.invite({ channel, users: user });
      } catch (e) {
        const error = platformError(e) ?? '';
        if (alreadyDone.has(error)) continue;
        // One person who cannot be invited must not keep the incident out of Slack: said in the channel instead.
        if (uninvitable.has(error)) notInvited.push(`<@${user}> (${error})`);
        else throw toSlackFailure(e, 'conversations.invite', `#${name} (user ${user})`);
      }
    }
    const pins = await this.call('pins.list', `#${name}`, () => this.client.pins.list({ channel }));
    for (const item of (pins.items ?? []) as { message?: { ts?: string; text?: string } }[]) {
      if (item.message?.ts !== undefined && item.message.text?.includes(o.marker)) return { channel, ts: item.message.ts };
    }
    const posted = await this.post(channel, o.summary, { marker: o.marker, retry: true });
    try {
      await this.client.pins.add({ channel, timestamp: posted.ts });
    } catch (e) {
      if (!alreadyDone.has(platformError(e) ?? '')) throw toSlackFailure(e, 'pins.add', `#${name}`);
    }
    if (notInvited.length > 0) {
      const text = `${o.drill ? '[DRILL] ' : ''}Could not invite ${notInvited.join(', ')}: check these approver ids in the runbook policy and FIREBREAK_APPROVER_GROUPS.`;
      await this.post(channel, { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } }] }, { threadTs: posted.ts });
    }
    return posted;
  }

  private async findOrCreateChannel(name: string): Promise<string> {
    try {
      const created = await this.client.conversations.create({ name, is_private: false });
      if (created.channel?.id !== undefined) return created.channel.id;
    } catch (e) {
      if (platformError(e) !== 'name_taken') throw toSlackFailure(e, 'conversations.create', `#${name}`);
    }
    // Taken: most likely by an earlier attempt for this very incident.
    let cursor: string | undefined;
    do {
      const page = await this.call('conversations.list', `(looking for #${name})`, () =>
        this.client.conversations.list({ types: 'public_channel', exclude_archived: true, limit: 200, ...(cursor ? { cursor } : {}) }),
      );
      const found = page.channels?.find((c) => c.name === name);
      if (found?.id !== undefined) {
        if (found.is_member === false) await this.call('conversations.join', `#${name}`, () => this.client.conversations.join({ channel: found.id! }));
        return found.id;
      }
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor !== undefined);
    throw ApplicationFailure.create({
      type: slackFailure.rejected,
      nonRetryable: true,
      message: `The channel name #${name} is taken by a channel Firebreak cannot use (archived or private). Rename or unarchive it, then reset the incident's notice activity.`,
    });
  }

  /**
   * Posts a message in a channel (or a thread). With `retry`, first looks for
   * a message carrying `marker` among the channel's (or thread's) recent ones
   * and answers with it instead of posting again.
   */
  async post(channel: string, message: SlackMessage, o: { threadTs?: string; marker?: string; retry?: boolean } = {}): Promise<NoticeReceipt> {
    if (o.retry === true && o.marker !== undefined) {
      const found = await this.findPosted(channel, o.marker, o.threadTs);
      if (found !== undefined) return found;
    }
    const where = o.threadTs === undefined ? `in ${channel}` : `in a thread of ${channel}`;
    const r = await this.call('chat.postMessage', where, () =>
      this.client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, unfurl_links: false, unfurl_media: false, ...(o.threadTs ? { thread_ts: o.threadTs } : {}) }),
    );
    return { channel: r.channel ?? channel, ts: r.ts! };
  }

  async update(at: NoticeReceipt, message: SlackMessage): Promise<void> {
    await this.call('chat.update', `message ${at.ts} in ${at.channel}`, () =>
      this.client.chat.update({ channel: at.channel, ts: at.ts, text: message.text, blocks: message.blocks }),
    );
  }

  /** Markers of messages already posted in a thread (to skip on a retried batch). */
  async postedIn(room: NoticeReceipt, markers: readonly string[]): Promise<Set<string>> {
    const r = await this.call('conversations.replies', `thread ${room.ts} in ${room.channel}`, () =>
      this.client.conversations.replies({ channel: room.channel, ts: room.ts, limit: 200 }),
    );
    const texts = (r.messages ?? []).map((m) => m.text ?? '');
    return new Set(markers.filter((m) => texts.some((t) => t.includes(m))));
  }

  private async findPosted(channel: string, marker: string, threadTs?: string): Promise<NoticeReceipt | undefined> {
    const r =
      threadTs === undefined
        ? await this.call('conversations.history', `in ${channel}`, () => this.client.conversations.history({ channel, limit: 50 }))
        : await this.call('conversations.replies', `thread ${threadTs} in ${channel}`, () =>
            this.client.conversations.replies({ channel, ts: threadTs, limit: 200 }),
          );
    const hit = (r.messages ?? []).find((m) => m.text?.includes(marker) && m.ts !== undefined);
    return hit === undefined ? undefined : { channel, ts: hit.ts! };
  }

  /** The members of a Slack user group (S…), as Slack user ids. */
  async usergroupMembers(usergroup: string): Promise<string[]> {
    const r = await this.call('usergroups.users.list', `for user group ${usergroup}`, () => this.client.usergroups.users.list({ usergroup }));
    return r.users ?? [];
  }
}
