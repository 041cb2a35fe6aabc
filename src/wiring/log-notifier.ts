import type { Logger } from 'pino';
import type { Notifier } from '../../activities/index.ts';

/**
 * The notifier used when Slack is not configured: each approval request and
 * escalation is a log record saying who must act and how to answer from the
 * CLI. Other notices (the opening, votes, the timeline) are already in the
 * worker's timeline log and `firebreak timeline`, so they are logged at debug.
 */
export function logNotifier(log: Logger): Notifier {
  const out = log.child({ component: 'notifier' });
  return {
    send(notice) {
      if (notice.kind === 'approval-requested' || notice.kind === 'escalation') {
        const how =
          notice.kind === 'approval-requested'
            ? `answer with: firebreak approve ${notice.incidentId} ${notice.step} (or deny … --reason …)`
            : 'escalated: the step is denied at the deadline unless approved';
        const { incident: _incident, ...brief } = notice;
        out.warn({ notice: brief }, `${notice.kind} for step ${notice.step} of ${notice.incidentId}, to ${notice.to.join(', ')}, by ${notice.deadline}; ${how}`);
      } else {
        out.debug({ incidentId: notice.incidentId, kind: notice.kind }, `${notice.kind} for ${notice.incidentId}`);
      }
      return Promise.resolve();
    },
  };
}
