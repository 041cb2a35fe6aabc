/**
 * What intake does with normalised alerts: route each by the policies'
 * triggers; deliver firing alerts to their incident (signal-with-start) and
 * resolved ones to the open incident's timeline; store what matches no runbook
 * (or resolves no open incident) as unrouted. Nothing accepted is dropped: an
 * alert is either on an incident or in the unrouted store before the sender
 * hears back, and a delivery failure is answered 503 so the sender retries.
 */
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Mode } from '../../workflows/engine/types.ts';
import type { RunbookPolicy } from '../runbooks/schema.ts';
import type { Alert } from './alert.ts';
import type { Delivery } from './deliver.ts';
import { withChildPolicies } from '../incidents.ts';
import { Metrics } from './metrics.ts';
import { incidentInputFor, routeAlert, triggerFor } from './router.ts';
import { JsonLines } from './store.ts';

export type UnroutedReason = 'no-matching-runbook' | 'resolved-without-open-incident';

export interface UnroutedRecord {
  storedAt: string;
  reason: UnroutedReason;
  alert: Alert;
}

/** Every routed alert with its raw payload, kept as evidence of what started or joined an incident. */
export interface ArchivedAlert {
  storedAt: string;
  incidents: string[];
  alert: Alert;
}

export interface IncidentOutcome {
  runbook: string;
  incidentId: string;
  correlationKey: string;
  /** For a firing alert: whether this alert opened the incident (false: it joined the open one). */
  new?: boolean;
  /** For a firing alert: the incident's run (the same for every alert that joined it). */
  runId?: string;
  /** For a resolved alert: whether an open incident recorded it. */
  recorded?: boolean;
  autoContain: string[];
}

export interface AlertOutcome {
  alertId: string;
  source: Alert['source'];
  rule: string;
  status: Alert['status'];
  incidents: IncidentOutcome[];
  unrouted?: UnroutedReason;
}

export function unroutedFile(dataDir: string): string {
  return join(resolve(dataDir), 'intake', 'unrouted.jsonl');
}

export function archiveFile(dataDir: string): string {
  return join(resolve(dataDir), 'intake', 'alerts.jsonl');
}

export interface IntakeServiceOptions {
  delivery: Delivery;
  policies: readonly RunbookPolicy[];
  groups: Record<string, string[]>;
  taskQueue: string;
  dataDir: string;
  log: Logger;
  mode?: Mode;
  metrics?: Metrics;
}

export class IntakeService {
  readonly metrics: Metrics;
  readonly unrouted: JsonLines<UnroutedRecord>;
  readonly archive: JsonLines<ArchivedAlert>;

  constructor(private readonly o: IntakeServiceOptions) {
    this.metrics = o.metrics ?? new Metrics();
    this.unrouted = new JsonLines(unroutedFile(o.dataDir));
    this.archive = new JsonLines(archiveFile(o.dataDir));
  }

  async accept(alerts: readonly Alert[]): Promise<AlertOutcome[]> {
    return Promise.all(alerts.map((a) => this.acceptOne(a)));
  }

  private async acceptOne(alert: Alert): Promise<AlertOutcome> {
    const { metrics, log } = { metrics: this.metrics, log: this.o.log };
    metrics.inc('firebreak_intake_alerts_received_total', { source: alert.source });
    const base = { alertId: alert.id, source: alert.source, rule: alert.rule, status: alert.status };
    const routes = routeAlert(alert, this.o.policies);
    if (routes.length === 0) return { ...base, incidents: [], unrouted: await this.storeUnrouted(alert, 'no-matching-runbook') };

    const incidents: IncidentOutcome[] = [];
    for (const route of routes) {
      const common = { runbook: route.policy.id, incidentId: route.incidentId, correlationKey: route.correlationKey };
      if (alert.status === 'resolved') {
        const recorded = await this.o.delivery.resolve(route.incidentId, triggerFor(alert));
        if (recorded) metrics.inc('firebreak_intake_alerts_resolved_total', { runbook: route.policy.id });
        incidents.push({ ...common, recorded, autoContain: [] });
        continue;
      }
      const input = { ...withChildPolicies(incidentInputFor(alert, route, { groups: this.o.groups, mode: this.o.mode ?? 'live' }), this.o.policies), incidentId: route.incidentId };
      const { started, runId } = await this.o.delivery.open({ workflowType: route.policy.workflow, taskQueue: this.o.taskQueue, input });
      metrics.inc('firebreak_intake_alerts_routed_total', { runbook: route.policy.id });
      metrics.inc(started ? 'firebreak_intake_incidents_started_total' : 'firebreak_intake_alerts_deduplicated_total', { runbook: route.policy.id });
      if (started) log.info({ incidentId: route.incidentId, source: alert.source, rule: alert.rule, autoContain: route.autoContainSteps }, 'incident opened by an alert');
      incidents.push({ ...common, new: started, runId, autoContain: started ? route.autoContainSteps : [] });
    }
    const delivered = incidents.filter((i) => i.recorded !== false).map((i) => i.incidentId);
    if (delivered.length === 0) {
      return { ...base, incidents, unrouted: await this.storeUnrouted(alert, 'resolved-without-open-incident') };
    }
    await this.archive.append({ storedAt: new Date().toISOString(), incidents: delivered, alert });
    return { ...base, incidents };
  }

  private async storeUnrouted(alert: Alert, reason: UnroutedReason): Promise<UnroutedReason> {
    await this.unrouted.append({ storedAt: new Date().toISOString(), reason, alert });
    this.metrics.inc('firebreak_intake_alerts_unrouted_total', { source: alert.source, reason });
    return reason;
  }
}
