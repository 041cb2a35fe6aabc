/**
 * The Alertmanager webhook, version 4: one request per notification of an
 * alert group, carrying every alert of the group, firing and resolved.
 *
 * Each alert of the group is validated on its own: Alertmanager resends a
 * refused notification forever, so one bad alert refusing the request would
 * keep the group's good ones out too. A bad alert becomes an alert with
 * `problems` (`invalidAlert`), stored as unrouted with them.
 */
import { z } from 'zod';
import { compactEntities, type Alert, type Severity } from '../alert.ts';
import { contentId, formatPath, isoTime, maxListedProblems, str, timestamp, type SourceAdapter } from './common.ts';

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
    // Each checked by itself in normalise (see above).
    alerts: z.array(z.unknown()).min(1, 'expected at least one alert'),
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

/** What can be read of an alert that is not valid, so that it is stored as unrouted with its problems. */
function invalidAlert(value: unknown, index: number, error: z.ZodError, receivedAt: string, group: Record<string, unknown>): Alert {
  const a = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const rawLabels = typeof a.labels === 'object' && a.labels !== null ? (a.labels as Record<string, unknown>) : {};
  const labels = Object.fromEntries(Object.entries(rawLabels).filter((kv): kv is [string, string] => typeof kv[1] === 'string'));
  return {
    source: 'alertmanager',
    id: str(a.fingerprint) ?? contentId(JSON.stringify(value) ?? ''),
    time: receivedAt,
    receivedAt,
    status: a.status === 'resolved' ? 'resolved' : 'firing',
    severity: severityOf(labels.severity),
    rule: labels.alertname ?? '',
    summary: '',
    labels,
    entities: {},
    raw: value,
    shared: group,
    problems: error.issues.slice(0, maxListedProblems).map((i) => `${formatPath(['alerts', index, ...i.path])}: ${i.message}`),
    invalidAlert: true,
  };
}

export const alertmanager: SourceAdapter<AlertmanagerPayload> = {
  source: 'alertmanager',
  schema: alertmanagerPayload,
  normalise(p, receivedAt) {
    const { alerts, ...group } = p;
    return alerts.map((value, index): Alert => {
      const parsed = alertmanagerAlert.safeParse(value);
      if (!parsed.success) return invalidAlert(value, index, parsed.error, receivedAt, group);
      const a = parsed.data;
      const l = a.labels;
      const id = a.fingerprint ?? contentId(...Object.entries(l).sort().flat());
      return {
        source: 'alertmanager' as const,
        // The fingerprint identifies the alert across its firing and resolved notifications.
        id,
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
          principal: l.principal ?? l.user_name,
          accessKey: l.access_key ?? l.access_key_id,
          region: l.region,
        }),
        raw: a,
        shared: group,
        ...(a.status === 'firing' ? { occurrence: `${id}@${isoTime(a.startsAt)}` } : {}),
      };
    });
  },
};
