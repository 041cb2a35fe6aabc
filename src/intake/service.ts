/**
 * What intake does with normalised alerts: route each by the policies'
 * triggers; deliver firing alerts to their incident (signal-with-start) and
 * resolved ones to the open incident's timeline; store what matches no runbook
 * (or resolves no open incident) as unrouted. Nothing accepted is dropped:
 * before the sender hears back, a firing alert is in the outbox (on the disk)
 * and an unrouted one in the unrouted store.
 *
 * The answer to a firing alert says which incident it is on and whether it
 * opened it. The first alert of an incident waits for Temporal's answer (up to
 * a few seconds), so `new` is Temporal's own word. Once intake knows the
 * incident is open — Temporal confirmed it within the last half minute —
 * further alerts for it are answered as soon as they are on the disk
 * (`delivery: "queued"`, `new: false`) and delivered in the background, many
 * per request; an alert storm is acknowledged at disk speed. Alerts Temporal
 * could not take are retried with backoff until it does, across restarts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Mode } from '../../workflows/engine/types.ts';
import type { RunbookPolicy } from '../runbooks/schema.ts';
import type { Alert } from './alert.ts';
import type { Delivery } from './deliver.ts';
import { withChildPolicies } from '../incidents.ts';
import { Metrics } from './metrics.ts';
import { Outbox, type OutboxEntry } from './outbox.ts';
import { incidentInputFor, routeAlert, triggerFor, type Route } from './router.ts';
import { JsonLines } from './store.ts';

export type UnroutedReason = 'no-matching-runbook' | 'resolved-without-open-incident' | 'runbook-no-longer-matches' | 'invalid-name' | 'invalid-alert';

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
  /**
   * For a firing alert: `delivered` — Temporal has it; `queued` — it is on the
   * disk and being delivered (the incident is known to be open, or Temporal
   * did not answer in time).
   */
  delivery?: 'delivered' | 'queued';
  /** For a firing alert: whether this alert opened the incident (false: it joined the open one); absent when not yet known. */
  new?: boolean;
  /** For a firing alert: the incident's run (the same for every alert that joined it); absent when not yet known. */
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
  /** With `unrouted: "invalid-name"` or `"invalid-alert"`: what is wrong, and where. */
  problems?: string[];
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
  /**
   * Approver groups pinned in a new incident's input: fixed lists, or read
   * for each delivery (Slack user groups, cached by the resolver).
   */
  groups: Record<string, string[]> | (() => Promise<Record<string, string[]>>);
  taskQueue: string;
  dataDir: string;
  log: Logger;
  mode?: Mode;
  metrics?: Metrics;
}

/** How long Temporal's word that an incident is open is trusted without asking again. */
const openIncidentTrustMs = 30_000;
/** How long the first alert of an incident waits for Temporal before it is answered as queued. */
const firstDeliveryWaitMs = 5_000;
/**
 * How long an alert already answered as queued waits for others to share its
 * request to Temporal: a storm costs each incident a request per linger.
 */
const queuedLingerMs = 1000;
/** Redelivery backoff: first and longest wait. */
const retryFirstMs = 1_000;
const retryMaxMs = 30_000;

/** The promise's value, or undefined when it rejects or takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  const timer = new AbortController();
  try {
    return await Promise.race([p.catch(() => undefined), sleep(ms, undefined, { signal: timer.signal })]);
  } finally {
    timer.abort();
  }
}

interface Delivered {
  runId: string;
  started: boolean;
}

export class IntakeService {
  readonly metrics: Metrics;
  readonly unrouted: JsonLines<UnroutedRecord>;
  readonly archive: JsonLines<ArchivedAlert>;
  readonly outbox: Outbox;
  /** Incidents Temporal recently confirmed open: id → run and when. Bounded. */
  private readonly openIncidents = new Map<string, { runId: string; confirmedAt: number }>();
  private readonly stopping = new AbortController();
  private started: Promise<void> | undefined;

  constructor(private readonly o: IntakeServiceOptions) {
    this.metrics = o.metrics ?? new Metrics();
    this.unrouted = new JsonLines(unroutedFile(o.dataDir));
    this.archive = new JsonLines(archiveFile(o.dataDir));
    this.outbox = new Outbox(o.dataDir);
    this.metrics.gauge('firebreak_intake_outbox_pending', () => this.outbox.pending);
  }

  /**
   * Delivers what a previous process accepted and did not deliver (in the
   * background). Call before serving; `accept` calls it too.
   */
  start(): Promise<void> {
    this.started ??= (async () => {
      const pending = await this.outbox.open();
      if (pending.length > 0) this.o.log.warn({ alerts: pending.length }, 'delivering alerts accepted before the last stop');
      for (const entry of pending) {
        const route = routeAlert(entry.alert, this.o.policies).find((r) => r.policy.id === entry.runbook);
        if (route === undefined) {
          await this.storeUnrouted(entry.alert, 'runbook-no-longer-matches');
          await this.outbox.markDelivered(entry.seq);
          continue;
        }
        this.deliver(entry, route).catch(() => undefined);
      }
    })();
    return this.started;
  }

  /**
   * Stops redelivery after giving queued alerts up to `graceMs` to reach
   * Temporal; what is still pending stays in the outbox for the next start.
   */
  async close(graceMs = 5_000): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.outbox.pending > 0 && Date.now() < deadline) await sleep(50);
    if (this.outbox.pending > 0) this.o.log.warn({ alerts: this.outbox.pending }, 'stopping with alerts not yet delivered; the next start delivers them');
    this.stopping.abort();
    await Promise.all([this.outbox.close(), this.unrouted.close(), this.archive.close()]);
  }

  async accept(alerts: readonly Alert[]): Promise<AlertOutcome[]> {
    await this.start();
    return Promise.all(alerts.map((a) => this.acceptOne(a)));
  }

  private async acceptOne(alert: Alert): Promise<AlertOutcome> {
    this.metrics.inc('firebreak_intake_alerts_received_total', { source: alert.source });
    const base = { alertId: alert.id, source: alert.source, rule: alert.rule, status: alert.status };
    // An invalid alert, or a name that breaks its system's rule (alert.problems says which), never reaches a runbook.
    if (alert.problems !== undefined) {
      return { ...base, incidents: [], unrouted: await this.storeUnrouted(alert, alert.invalidAlert ? 'invalid-alert' : 'invalid-name'), problems: alert.problems };
    }
    const routes = routeAlert(alert, this.o.policies);
    if (routes.length === 0) return { ...base, incidents: [], unrouted: await this.storeUnrouted(alert, 'no-matching-runbook') };
    if (alert.status === 'resolved') return this.acceptResolved(alert, base, routes);

    const archived = this.archive.append({ storedAt: new Date().toISOString(), incidents: routes.map((r) => r.incidentId), alert });
    const incidents = await Promise.all(routes.map((route) => this.acceptFiring(alert, route)));
    await archived;
    return { ...base, incidents };
  }

  private async acceptFiring(alert: Alert, route: Route): Promise<IncidentOutcome> {
    const common = { runbook: route.policy.id, incidentId: route.incidentId, correlationKey: route.correlationKey };
    const entry = await this.outbox.add({ runbook: route.policy.id, incidentId: route.incidentId, alert });
    const open = this.openIncidents.get(route.incidentId);
    const known = open !== undefined && Date.now() - open.confirmedAt < openIncidentTrustMs;
    const delivering = this.deliver(entry, route, known ? queuedLingerMs : 0);
    if (known) {
      delivering.catch(() => undefined);
      return { ...common, delivery: 'queued', new: false, runId: open.runId, autoContain: [] };
    }
    const answered = await within(delivering, firstDeliveryWaitMs);
    if (answered === undefined) return { ...common, delivery: 'queued', autoContain: [] };
    return { ...common, delivery: 'delivered', new: answered.started, runId: answered.runId, autoContain: answered.started ? route.autoContainSteps : [] };
  }

  /**
   * Sends one outbox entry to its incident; resolves with the first attempt's
   * answer. A failed attempt is retried in the background until Temporal takes
   * the alert or intake stops.
   */
  private deliver(entry: OutboxEntry, route: Route, lingerMs = 0): Promise<Delivered> {
    const attempt = async (): Promise<Delivered> => {
      const groups = typeof this.o.groups === 'function' ? await this.o.groups() : this.o.groups;
      const input = {
        ...withChildPolicies(incidentInputFor(entry.alert, route, { groups, mode: this.o.mode ?? 'live' }), this.o.policies),
        incidentId: route.incidentId,
      };
      const r = await this.o.delivery.open({ workflowType: route.policy.workflow, taskQueue: this.o.taskQueue, input }, { lingerMs });
      await this.outbox.markDelivered(entry.seq);
      this.delivered(entry, route, r);
      return r;
    };
    const first = attempt();
    first.catch((e: unknown) => {
      this.failed(entry, e);
      void this.retry(entry, attempt);
    });
    return first;
  }

  private async retry(entry: OutboxEntry, attempt: () => Promise<Delivered>): Promise<void> {
    for (let wait = retryFirstMs; ; wait = Math.min(wait * 2, retryMaxMs)) {
      try {
        await sleep(wait, undefined, { signal: this.stopping.signal });
      } catch {
        return; // intake is stopping: the entry stays in the outbox for the next start
      }
      try {
        await attempt();
        return;
      } catch (e) {
        this.failed(entry, e);
      }
    }
  }

  private failed(entry: OutboxEntry, e: unknown): void {
    this.metrics.inc('firebreak_intake_alerts_failed_total', { source: entry.alert.source });
    this.o.log.warn(
      { incidentId: entry.incidentId, alertId: entry.alert.id, err: e instanceof Error ? e.message : String(e) },
      'could not deliver an alert to Temporal; it stays in the outbox and is retried',
    );
  }

  private delivered(entry: OutboxEntry, route: Route, r: Delivered): void {
    const { metrics, log } = { metrics: this.metrics, log: this.o.log };
    const known = this.openIncidents.get(route.incidentId);
    if (r.started && known !== undefined && known.runId !== r.runId) {
      log.warn({ incidentId: route.incidentId, runId: r.runId }, 'the incident had closed; a queued alert opened it again');
    }
    this.openIncidents.delete(route.incidentId);
    this.openIncidents.set(route.incidentId, { runId: r.runId, confirmedAt: Date.now() });
    if (this.openIncidents.size > 10_000) this.openIncidents.delete(this.openIncidents.keys().next().value!);
    metrics.inc('firebreak_intake_alerts_routed_total', { runbook: route.policy.id });
    metrics.inc(r.started ? 'firebreak_intake_incidents_started_total' : 'firebreak_intake_alerts_deduplicated_total', { runbook: route.policy.id });
    if (r.started) {
      log.info({ incidentId: route.incidentId, source: entry.alert.source, rule: entry.alert.rule, autoContain: route.autoContainSteps }, 'incident opened by an alert');
    }
  }

  private async acceptResolved(alert: Alert, base: Omit<AlertOutcome, 'incidents'>, routes: Route[]): Promise<AlertOutcome> {
    const incidents: IncidentOutcome[] = [];
    for (const route of routes) {
      const recorded = await this.o.delivery.resolve(route.incidentId, triggerFor(alert));
      if (recorded) this.metrics.inc('firebreak_intake_alerts_resolved_total', { runbook: route.policy.id });
      incidents.push({ runbook: route.policy.id, incidentId: route.incidentId, correlationKey: route.correlationKey, recorded, autoContain: [] });
    }
    const delivered = incidents.filter((i) => i.recorded === true).map((i) => i.incidentId);
    if (delivered.length === 0) return { ...base, incidents, unrouted: await this.storeUnrouted(alert, 'resolved-without-open-incident') };
    await this.archive.append({ storedAt: new Date().toISOString(), incidents: delivered, alert });
    return { ...base, incidents };
  }

  private async storeUnrouted(alert: Alert, reason: UnroutedReason): Promise<UnroutedReason> {
    await this.unrouted.append({ storedAt: new Date().toISOString(), reason, alert });
    this.metrics.inc('firebreak_intake_alerts_unrouted_total', { source: alert.source, reason });
    return reason;
  }
}
