/** A notice that someone must act on an incident: approve a step, or take an escalation. */
export interface Notice {
  incidentId: string;
  kind: 'approval-requested' | 'escalation';
  step: string;
  /** Principals (slack:…, cli:…) or Slack channels (#…, C…). */
  to: string[];
  deadline: string;
}

/** Delivers notices: Slack when configured; otherwise the log (the CLI shows pending approvals). */
export interface Notifier {
  send(notice: Notice): Promise<void>;
}

export function createNotifyActivities(deps: { notifier: Notifier }) {
  return {
    async notify(notice: Notice): Promise<void> {
      await deps.notifier.send(notice);
    },
  };
}
