/** Intake counters in the Prometheus text exposition format (version 0.0.4). */

type Labels = Record<string, string>;

const help = {
  firebreak_intake_alerts_received_total: 'Alerts accepted, by source (one request may carry several).',
  firebreak_intake_requests_rejected_total: 'Requests refused, by source and reason (unauthorized, too-large, unsupported-media-type, invalid).',
  firebreak_intake_alerts_routed_total: 'Alerts delivered to an incident, by runbook.',
  firebreak_intake_incidents_started_total: 'Incidents opened by an alert, by runbook.',
  firebreak_intake_alerts_deduplicated_total: 'Alerts that joined an open incident instead of opening one, by runbook.',
  firebreak_intake_alerts_resolved_total: 'Resolved alerts recorded on an open incident, by runbook.',
  firebreak_intake_alerts_unrouted_total: 'Alerts stored as unrouted, by source and reason.',
  firebreak_intake_alerts_failed_total: 'Delivery attempts to Temporal that failed, by source (the alert stays in the outbox and is retried).',
} as const;

const gaugeHelp = {
  firebreak_intake_outbox_pending: 'Alerts accepted (on the disk) and not yet delivered to Temporal.',
} as const;
export type GaugeName = keyof typeof gaugeHelp;
export type MetricName = keyof typeof help;

function escape(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export class Metrics {
  private readonly counters = new Map<MetricName, Map<string, { labels: Labels; value: number }>>();
  private readonly gauges = new Map<GaugeName, () => number>();

  /** A gauge read when the metrics are rendered. */
  gauge(name: GaugeName, read: () => number): void {
    this.gauges.set(name, read);
  }

  inc(name: MetricName, labels: Labels = {}, by = 1): void {
    let series = this.counters.get(name);
    if (series === undefined) {
      series = new Map<string, { labels: Labels; value: number }>();
      this.counters.set(name, series);
    }
    const key = JSON.stringify(Object.entries(labels).sort());
    const entry = series.get(key);
    if (entry === undefined) series.set(key, { labels, value: by });
    else entry.value += by;
  }

  value(name: MetricName, labels: Labels = {}): number {
    return this.counters.get(name)?.get(JSON.stringify(Object.entries(labels).sort()))?.value ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const name of Object.keys(help) as MetricName[]) {
      lines.push(`# HELP ${name} ${help[name]}`, `# TYPE ${name} counter`);
      for (const { labels, value } of this.counters.get(name)?.values() ?? []) {
        const l = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`).join(',');
        lines.push(`${name}${l === '' ? '' : `{${l}}`} ${value}`);
      }
    }
    for (const [name, read] of this.gauges) lines.push(`# HELP ${name} ${gaugeHelp[name]}`, `# TYPE ${name} gauge`, `${name} ${read()}`);
    return `${lines.join('\n')}\n`;
  }
}
