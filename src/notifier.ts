import type { Logger } from 'pino';
import type { Notifier } from '../activities/index.ts';

/**
 * The notifier used when Slack is not configured: each notice is a log record
 * saying who must act and how to answer from the CLI.
 */
export function logNotifier(log: Logger): Notifier {
  const out = log.child({ component: 'notifier' });
  return {
    send(notice) {
      const how =
        notice.kind === 'approval-requested'
          ? `answer with: firebreak approve ${notice.incidentId} ${notice.step} (or deny … --reason …)`
          : 'escalated: the step is denied at the deadline unless approved';
      out.warn({ notice }, `${notice.kind} for step ${notice.step} of ${notice.incidentId}, to ${notice.to.join(', ')}, by ${notice.deadline}; ${how}`);
      return Promise.resolve();
    },
  };
}
