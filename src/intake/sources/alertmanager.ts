/**
 * The Alertmanager webhook, version 4: one request per notification of an
 * alert group, carrying every alert of the group, firing and resolved.
 */
import { z } from 'zod';
import { compactEntities, type Severity } from '../alert.ts';
import { contentId, isoTime, timestamp, type SourceAdapter } from './common.ts';

const labels = z.record(z.string(), z.string());

const alertmanagerAlert = z
  .object({
    status: z.enum(['firing', 'resolved']),
    labels: labels.refine((l) => typeof l.alertname === 'string' && l.alertname !== '', { message: 'expected an "alertname" label' }),
    annotations: labels.default({}),
    startsAt: timestamp,
    endsAt: z.string().optional(),
    generatorURL: z.string().optional(),
    fingerprint: z.string().optional(),
  })
  .loose();

export const alertmanagerPayload = z
  .object({
    version: z.literal('4', { error: 'expected "4" (Alertmanager webhook version 4)' }),
    groupKey: z.string().optional(),
    truncatedAlerts: z.number().optional(),
    status: z.enum(['firing', 'resolved']),
    receiver: z.string().optional(),
    groupLabels: labels.default({}),
    commonLabels: labels.default({}),
    commonAnnotations: labels.default({}),
    externalURL: z.string().optional(),
    alerts: z.array(alertmanagerAlert).min(1, 'expected at least one alert'),
  })
  .loose();
export type AlertmanagerPayload = z.output<typeof alertmanagerPayload>;

/** The `severity` label as Prometheus rules usually write it. */
function severityOf(label: string | undefined): Severity {
  switch (label?.toLowerCase()) {
    case 'critical':
    case 'page':
    case 'emergency':
      return 'critical';
    case 'high':
    case 'error':
      return 'high';
    case 'warning':
    case 'warn':
    case 'medium':
      return 'medium';
    case 'low':
      return 'low';
    case undefined:
      return 'medium';
    default:
      return 'info';
  }
}

export const alertmanager: SourceAdapter<AlertmanagerPayload> = {
  source: 'alertmanager',
  schema: alertmanagerPayload,
  normalise(p, receivedAt) {
    const { alerts, ...group } = p;
    return alerts.map((a) => {
      const l = a.labels;
      return {
        source: 'alertmanager' as const,
        // The fingerprint identifies the alert across its firing and resolved notifications.
        id: a.fingerprint ?? contentId(...Object.entries(l).sort().flat()),
        time: isoTime(a.status === 'resolved' && a.endsAt !== undefined && !a.endsAt.startsWith('0001-') ? a.endsAt : a.startsAt),
        receivedAt,
        status: a.status,
        severity: severityOf(l.severity),
        rule: l.alertname ?? '',
        summary: a.annotations.summary ?? a.annotations.description ?? l.alertname ?? '',
        labels: l,
        entities: compactEntities({
          cluster: l.cluster,
          namespace: l.namespace,
          pod: l.pod,
          container: l.container,
          node: l.node,
          image: l.image,
          account: l.account ?? l.account_id,
          region: l.region,
        }),
        raw: { ...group, alert: a },
      };
    });
  },
};
