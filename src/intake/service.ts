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
 * A resend of a firing an incident already counts (Alertmanager resends the
 * whole group: same fingerprint and startsAt) is answered `delivery:
 * "resend"` and not delivered again; intake remembers the firings it counted
 * in memory, so after a restart the first resend of each is counted once more.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Mode } from '../../workflows/engine/types.ts';
import type { RunbookPolicy } from '../runbooks/schema.ts';
import type { Alert } from './alert.ts';
import type { Delivery } from './deliver.ts';
import { withChildPolicies } from '../incidents/open.ts';
import { Metrics } from './metrics.ts';
import { Outbox, type OutboxEntry } from './outbox.ts';
import { incidentInputFor, routeAlert, triggerFor, unroutedReasonOf, type Route } from './router.ts';
import { RequestLog } from './store.ts';

export type UnroutedReason =
  | 'no-matching-runbook'
  | 'resolved-without-open-incident'
  | 'runbook-no-longer-matches'
  | 'invalid-name'
  | 'invalid-alert'
  | 'unsupported-finding';

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
   * did not answer in time); `resend` — the incident already counts this
   * firing (Alertmanager resends every alert of a group), so it is not counted again.
   */
  delivery?: 'delivered' | 'queued' | 'resend';
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
  /** With `unrouted: "invalid-name"`, `"invalid-alert"` or `"unsupported-finding"`: what is wrong, and where. */
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
  /** The unrouted store's bound: past it, the oldest records are dropped (default 32 MiB). */
  unroutedMaxBytes?: number;
}

/** The unrouted store keeps its newest records within this many bytes (see JsonLines' maxBytes). */
export const defaultUnroutedMaxBytes = 32 * 1024 * 1024;
/** How many counted firings intake remembers to recognise resends (about 100 bytes each). */
const maxRememberedFirings = 100_000;

/** One alert of a request: where it goes, decided before anything is written. */
interface Plan {
  alert: Alert;
  base: Omit<AlertOutcome, 'incidents'>;
  unrouted?: UnroutedReason;
  /** The incidents it is delivered to (resends left out). */
  routes: Route[];
  /** The incidents that already count this firing. */
  resends: Route[];
  /** Keys of `seen` this request added (released when it is not stored). */
  reserved: string[];
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
  readonly unrouted: RequestLog<Omit<UnroutedRecord, 'storedAt'>>;
  readonly archive: RequestLog<Omit<ArchivedAlert, 'storedAt'>>;
  /** Firings (incident + occurrence) already counted, oldest first: a resend of one is not counted again. */
  private readonly seen = new Set<string>();
  readonly outbox: Outbox;
  /** Incidents Temporal recently confirmed open: id → run and when. Bounded. */
  private readonly openIncidents = new Map<string, { runId: string; confirmedAt: number }>();
  private readonly stopping = new AbortController();
  private started: Promise<void> | undefined;

  private get mode(): Mode {
    return this.o.mode ?? 'live';
  }

  constructor(private readonly o: IntakeServiceOptions) {
    this.metrics = o.metrics ?? new Metrics();
    this.unrouted = new RequestLog(unroutedFile(o.dataDir), { maxBytes: o.unroutedMaxBytes ?? defaultUnroutedMaxBytes });
    this.archive = new RequestLog(archiveFile(o.dataDir));
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
        const route = routeAlert(entry.alert, this.o.policies, this.mode).find((r) => r.policy.id === entry.runbook);
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

  /**
   * Accepts the alerts of one request. Everything the request stores is
   * written before the answer, each file's part as one line, and shared fields
   * once: a request answered 503 leaves nothing behind (what was written is
   * retracted), and one that can never be stored is refused with
   * RecordTooLargeError before anything is written.
   */
  async accept(alerts: readonly Alert[]): Promise<AlertOutcome[]> {
    await this.start();
    const plans = alerts.map((alert) => this.plan(alert));
    try {
      return await this.store(plans);
    } catch (e) {
      for (const plan of plans) for (const key of plan.reserved) this.seen.delete(key);
      throw e;
    }
  }

  /** What to do with one alert, decided without I/O. */
  private plan(alert: Alert): Plan {
    this.metrics.inc('firebreak_intake_alerts_received_total', { source: alert.source });
    const base = { alertId: alert.id, source: alert.source, rule: alert.rule, status: alert.status };
    // An invalid alert, or a name that breaks its system's rule (alert.problems says which), never reaches a runbook.
    if (alert.problems !== undefined) return { alert, base, unrouted: unroutedReasonOf(alert), routes: [], resends: [], reserved: [] };
    const routes = routeAlert(alert, this.o.policies, this.mode);
    if (routes.length === 0) return { alert, base, unrouted: 'no-matching-runbook', routes, resends: [], reserved: [] };
    if (alert.occurrence === undefined || alert.status === 'resolved') return { alert, base, routes, resends: [], reserved: [] };
    // A resend of a firing the incident already counts is answered, not counted again. Reserved at once, so concurrent resends agree.
    const fresh: Route[] = [];
    const resends: Route[] = [];
    const reserved: string[] = [];
    for (const route of routes) {
      const key = `${route.incidentId}\0${alert.occurrence}`;
      if (this.seen.has(key)) resends.push(route);
      else {
        this.seen.add(key);
        reserved.push(key);
        fresh.push(route);
      }
    }
    if (this.seen.size > maxRememberedFirings) for (const key of [...this.seen].slice(0, this.seen.size - maxRememberedFirings)) this.seen.delete(key);
    return { alert, base, routes: fresh, resends, reserved };
  }

  private async store(plans: Plan[]): Promise<AlertOutcome[]> {
    const storedAt = new Date().toISOString();
    const request = randomUUID();
    // Resolved alerts go to Temporal first: if it cannot be reached, nothing has been written yet.
    const resolved = new Map<Plan, IncidentOutcome[]>();
    for (const plan of plans) {
      if (plan.unrouted !== undefined || plan.alert.status !== 'resolved') continue;
      const incidents = await this.resolveOn(plan.alert, plan.routes);
      resolved.set(plan, incidents);
      if (!incidents.some((i) => i.recorded === true)) plan.unrouted = 'resolved-without-open-incident';
    }
    const unrouted = plans.flatMap((p) => (p.unrouted === undefined ? [] : [{ reason: p.unrouted, alert: p.alert }]));
    const archived = plans.flatMap((p) => {
      if (p.unrouted !== undefined) return [];
      const incidents = p.alert.status === 'resolved' ? resolved.get(p)!.filter((i) => i.recorded === true).map((i) => i.incidentId) : p.routes.map((r) => r.incidentId);
      return incidents.length === 0 ? [] : [{ incidents, alert: p.alert }];
    });
    const firing = plans.flatMap((p) => (p.unrouted === undefined && p.alert.status === 'firing' ? p.routes.map((route) => ({ plan: p, route })) : []));
    // Serialised first: a request too large to store is refused before anything is written.
    const outbox = await this.outbox.prepare(firing.map(({ plan, route }) => ({ runbook: route.policy.id, incidentId: route.incidentId, alert: plan.alert })), storedAt);
    const lines = {
      unrouted: unrouted.length === 0 ? undefined : RequestLog.line(request, storedAt, unrouted),
      archive: archived.length === 0 ? undefined : RequestLog.line(request, storedAt, archived),
    };
    await this.writeAll(request, outbox, lines);
    for (const u of unrouted) this.metrics.inc('firebreak_intake_alerts_unrouted_total', { source: u.alert.source, reason: u.reason });

    const delivering = new Map(firing.map(({ plan, route }, i) => [`${plans.indexOf(plan)}\0${route.incidentId}`, this.acceptFiring(outbox.entries[i]!, route)]));
    return Promise.all(
      plans.map(async (p, index): Promise<AlertOutcome> => {
        if (p.unrouted !== undefined) {
          const incidents = resolved.get(p) ?? [];
          return { ...p.base, incidents, unrouted: p.unrouted, ...(p.alert.problems === undefined ? {} : { problems: p.alert.problems }) };
        }
        if (p.alert.status === 'resolved') return { ...p.base, incidents: resolved.get(p)! };
        const fresh = await Promise.all(p.routes.map((route) => delivering.get(`${index}\0${route.incidentId}`)!));
        return { ...p.base, incidents: [...fresh, ...p.resends.map((route) => this.resent(route))] };
      }),
    );
  }

  /** Writes a request's lines; when one write fails, takes back those that succeeded, then throws. */
  private async writeAll(request: string, outbox: Awaited<ReturnType<Outbox['prepare']>>, lines: { unrouted: string | undefined; archive: string | undefined }): Promise<void> {
    const writes = [
      outbox.entries.length === 0 ? undefined : { write: () => this.outbox.write(outbox), retract: () => this.outbox.retract(outbox.entries) },
      lines.unrouted === undefined ? undefined : { write: () => this.unrouted.write(lines.unrouted!), retract: () => this.unrouted.retract(request) },
      lines.archive === undefined ? undefined : { write: () => this.archive.write(lines.archive!), retract: () => this.archive.retract(request) },
    ].filter((w) => w !== undefined);
    const results = await Promise.allSettled(writes.map((w) => w.write()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed === undefined) return;
    await Promise.allSettled(writes.filter((_, i) => results[i]!.status === 'fulfilled').map((w) => w.retract()));
    throw failed.reason;
  }

  private resent(route: Route): IncidentOutcome {
    const open = this.openIncidents.get(route.incidentId);
    return {
      runbook: route.policy.id,
      incidentId: route.incidentId,
      correlationKey: route.correlationKey,
      delivery: 'resend',
      new: false,
      ...(open === undefined ? {} : { runId: open.runId }),
      autoContain: [],
    };
  }

  private async acceptFiring(entry: OutboxEntry, route: Route): Promise<IncidentOutcome> {
    const common = { runbook: route.policy.id, incidentId: route.incidentId, correlationKey: route.correlationKey };
    const open = this.openIncidents.get(route.incidentId);
    const known = open !== undefined && Date.now() - open.confirmedAt < openIncidentTrustMs;
    const delivering = this.deliver(entry, route, known ? queuedLingerMs : 0);
    if (known) {
      delivering.catch(() => undefined);
      return { ...common, delivery: 'queued', new: false, runId: open.runId, autoContain: route.autoContainSteps };
    }
    const answered = await within(delivering, firstDeliveryWaitMs);
    if (answered === undefined) return { ...common, delivery: 'queued', autoContain: route.autoContainSteps };
    return { ...common, delivery: 'delivered', new: answered.started, runId: answered.runId, autoContain: route.autoContainSteps };
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
        ...withChildPolicies(incidentInputFor(entry.alert, route, { groups, mode: this.mode }), this.o.policies),
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

  private async resolveOn(alert: Alert, routes: Route[]): Promise<IncidentOutcome[]> {
    const incidents: IncidentOutcome[] = [];
    for (const route of routes) {
      const recorded = await this.o.delivery.resolve(route.incidentId, triggerFor(alert));
      if (recorded) this.metrics.inc('firebreak_intake_alerts_resolved_total', { runbook: route.policy.id });
      incidents.push({ runbook: route.policy.id, incidentId: route.incidentId, correlationKey: route.correlationKey, recorded, autoContain: [] });
    }
    return incidents;
  }

  private async storeUnrouted(alert: Alert, reason: UnroutedReason): Promise<UnroutedReason> {
    const storedAt = new Date().toISOString();
    await this.unrouted.write(RequestLog.line(randomUUID(), storedAt, [{ reason, alert }]));
    this.metrics.inc('firebreak_intake_alerts_unrouted_total', { source: alert.source, reason });
    return reason;
  }
}
