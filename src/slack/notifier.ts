import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Notice, NoticeReceipt, Notifier } from '../../activities/index.ts';
import { slackFailure, type SlackApi } from '../../activities/slack/index.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { approvalMessage, escalationMessage, summaryMessage, timelineMessages } from './blocks.ts';

/** Slack user ids among principals (`slack:U…`); others (cli:…) are not reachable in Slack. */
export function slackUsers(principals: readonly string[]): string[] {
  return [...new Set(principals.flatMap((p) => (/^slack:[UW][A-Z0-9]+$/.test(p) ? [p.slice('slack:'.length)] : [])))];
}

/** True inside a retried activity attempt: an earlier attempt may have posted already. */
function isRetry(): boolean {
  try {
    return Context.current().info.attempt > 1;
  } catch {
    return false;
  }
}

function noRoom(notice: Notice): ApplicationFailure {
  return ApplicationFailure.create({
    type: slackFailure.noRoom,
    nonRetryable: true,
    message: `Incident ${notice.incidentId} has no Slack channel to post its ${notice.kind} in: creating it failed (see the notice.failed event on its timeline for why). Answer its gates from the CLI: firebreak status ${notice.incidentId}.`,
  });
}

/**
 * The notifier used when Slack is configured. The incident gets a channel
 * with its requester and responders invited and a pinned summary; approval
 * requests are posted there with buttons and redrawn with every vote and the
 * outcome; escalations go to the policy's `escalateTo` channels and people
 * (and the incident's channel); the timeline goes to the summary's thread.
 * Failures are typed (activities/slack/errors.ts) so the activity retries
 * what may succeed later and the engine records what will not.
 */
export function slackNotifier(api: SlackApi, log: Logger): Notifier {
  const out = log.child({ component: 'slack-notifier' });
  return {
    async send(n: Notice): Promise<NoticeReceipt | void> {
      const retry = isRetry() || n.redelivery === true;
      switch (n.kind) {
        case 'incident-opened':
          return api.openIncidentRoom({
            incidentId: n.incidentId,
            invite: slackUsers([n.incident.requester, ...n.incident.responders]),
            summary: summaryMessage(n.incident),
            marker: `Firebreak incident ${n.incidentId}`,
            drill: n.incident.drill,
          });
        case 'approval-requested': {
          if (n.room === undefined) throw noRoom(n);
          return api.post(n.room.channel, approvalMessage(n), { marker: `(request ${n.requestId})`, retry });
        }
        case 'approval-updated':
          await api.update(n.message, approvalMessage(n.request, n));
          return;
        case 'escalation': {
          const message = escalationMessage(n);
          const targets = n.to.filter((t) => t.startsWith('#') || /^C[A-Z0-9]+$/.test(t) || /^slack:[UW][A-Z0-9]+$/.test(t));
          const skipped = n.to.filter((t) => !targets.includes(t));
          if (skipped.length > 0) out.info({ incidentId: n.incidentId, skipped }, 'escalation targets outside Slack are not messaged there');
          for (const t of targets) await api.post(t.startsWith('slack:') ? t.slice('slack:'.length) : t, message);
          if (n.room !== undefined) await api.post(n.room.channel, message);
          return;
        }
        case 'timeline': {
          if (n.room === undefined) throw noRoom(n);
          const room = n.room;
          // The engine sends its own timeline events (workflows/engine/timeline.ts).
          const batches = timelineMessages(n.incident, n.events as TimelineEvent[]);
          const done = retry ? await api.postedIn(room, batches.map((b) => b.ids[0]!)) : new Set<string>();
          for (const b of batches) {
            if (!done.has(b.ids[0]!)) await api.post(room.channel, b.message, { threadTs: room.ts });
          }
          return;
        }
      }
    },
  };
}
