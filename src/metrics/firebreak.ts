/**
 * Firebreak's own Prometheus metrics. Two kinds, which aggregate differently:
 * - what this worker recorded (actions by outcome, notices failed, time to
 *   first containment): counters and a histogram fed by the timeline sink, so
 *   sum them across worker replicas;
 * - the cluster's state (open incidents, pending approvals and their age):
 *   read from Temporal when scraped, the same on every replica, so take max().
 *   Open incidents come from visibility counts, which need no worker; pending
 *   gates need a query to each incident, which only a worker answers, so
 *   each query has a deadline and the scrape a budget, and what was not read
 *   in time is counted, never waited for.
 */
import type { Client } from '@temporalio/client';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { workflowCatalog } from '../../workflows/catalog.ts';
import { timelineQuery } from '../../workflows/engine/messages.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { incidentMetrics } from '../timeline/metrics.ts';

const actionOutcomes = {
  'action.succeeded': 'succeeded',
  'action.already-done': 'already-done',
  'action.target-gone': 'target-gone',
  'action.failed': 'failed',
  'action.skipped': 'skipped',
} as const satisfies Partial<Record<TimelineEvent['type'], string>>;

/** Where a timeline event was recorded: the workflow's id and type (its runbook's workflow name). */
export interface RecordedAt {
  workflowId: string;
  workflowType: string;
}

/** What the cluster-state gauges read: visibility counts, and running incidents' timelines. */
export interface ClusterSource {
  client: Client;
  /** Scrapes within this many ms share one read of Temporal (default 10 s). */
  cacheMs?: number;
  /** At most this many running incidents have their gates read per scrape (default 2,000); the rest count as unread. */
  limit?: number;
  /** How long one incident's timeline query may take (default 2 s): an incident whose worker is gone never answers. */
  queryTimeoutMs?: number;
  /** How long all the gate reads of one scrape may take together (default 5 s, under Prometheus' 10 s scrape timeout). */
  budgetMs?: number;
}

interface ClusterState {
  open: Map<string, number>;
  pending: Map<string, { count: number; oldestSeconds: number }>;
  /** Running incidents whose gates were not read: over the limit, past the budget, or their query failed. */
  unread: number;
}

export class FirebreakMetrics {
  readonly registry = new Registry();
  readonly actions = new Counter({
    name: 'firebreak_actions_total',
    help: 'Runbook actions this worker finished, by runbook workflow, step and outcome (succeeded, already-done, target-gone, failed, skipped).',
    labelNames: ['runbook', 'step', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly noticesFailed = new Counter({
    name: 'firebreak_notices_failed_total',
    help: 'Notices (Slack messages) this worker could not deliver, by runbook, notice kind and error type. The CLI still answers every gate.',
    labelNames: ['runbook', 'kind', 'error_type'] as const,
    registers: [this.registry],
  });
  readonly timeToFirstContainment = new Histogram({
    name: 'firebreak_time_to_first_containment_seconds',
    help: "Seconds from an incident's first alert to its first containment action in force, observed by the worker that recorded that action.",
    labelNames: ['runbook'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 14400],
    registers: [this.registry],
  });
  private readonly pendingChecks = new Set<Promise<void>>();
  private cluster: { at: number; state: Promise<ClusterState> } | undefined;

  /**
   * @param client reads an incident's timeline when one of its containment
   *   actions lands, to tell whether it was the first (another worker may have
   *   recorded the earlier ones).
   */
  constructor(
    private readonly client: Client | undefined,
    cluster?: ClusterSource,
    private readonly onError: (e: unknown, what: string) => void = () => undefined,
  ) {
    if (cluster !== undefined) this.registerCluster(cluster);
  }

  /** Feeds one timeline event, as the worker's timeline sink receives it (never during replay). */
  record(event: TimelineEvent, at: RecordedAt): void {
    const runbook = at.workflowType;
    if (event.type in actionOutcomes) {
      const e = event as Extract<TimelineEvent, { type: keyof typeof actionOutcomes }>;
      this.actions.inc({ runbook, step: e.step ?? 'none', outcome: actionOutcomes[e.type] });
    }
    if (event.type === 'notice.failed') this.noticesFailed.inc({ runbook, kind: event.data.kind, error_type: event.data.errorType });
    const containment = workflowCatalog[at.workflowType]?.containment;
    if ((event.type === 'action.succeeded' || event.type === 'action.already-done') && event.step !== undefined && containment?.includes(event.step) && this.client !== undefined) {
      const check = this.observeIfFirst(event, at, containment).catch((e: unknown) => this.onError(e, `time to first containment of ${at.workflowId}`));
      this.pendingChecks.add(check);
      void check.finally(() => this.pendingChecks.delete(check));
    }
  }

  /** Waits for the containment checks in flight (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.pendingChecks]);
  }

  private async observeIfFirst(event: TimelineEvent, at: RecordedAt, containment: readonly string[]): Promise<void> {
    // The query is answered once the workflow task that recorded the event completes, so the timeline holds it.
    const timeline = await this.client!.workflow.getHandle(at.workflowId).query(timelineQuery);
    const first = timeline.find((e) => (e.type === 'action.succeeded' || e.type === 'action.already-done') && e.step !== undefined && containment.includes(e.step));
    const m = incidentMetrics(timeline, { containmentSteps: containment });
    // Only the event that is the incident's first containment counts, whichever worker recorded it.
    if (first?.id !== event.id || m.timeToFirstContainment === null || isDrill(timeline)) return;
    this.timeToFirstContainment.observe({ runbook: at.workflowType }, m.timeToFirstContainment / 1000);
  }

  private registerCluster(source: ClusterSource): void {
    const read = (): Promise<ClusterState> => {
      const now = Date.now();
      if (this.cluster === undefined || now - this.cluster.at > (source.cacheMs ?? 10_000)) {
        const state = readCluster(source.client, { limit: source.limit ?? 2_000, queryTimeoutMs: source.queryTimeoutMs ?? 2_000, budgetMs: source.budgetMs ?? 5_000 });
        this.cluster = { at: now, state };
        // A failed read is not cached: the next scrape tries again.
        state.catch(() => {
          if (this.cluster?.state === state) this.cluster = undefined;
        });
      }
      return this.cluster.state;
    };
    const registry = this.registry;
    new Gauge({
      name: 'firebreak_open_incidents',
      help: 'Incidents open (their workflow running), by runbook workflow. Counted by Temporal visibility: the same on every replica.',
      labelNames: ['runbook'] as const,
      registers: [registry],
      async collect() {
        const s = await read();
        this.reset();
        for (const [runbook, n] of s.open) this.set({ runbook }, n);
      },
    });
    new Gauge({
      name: 'firebreak_pending_approvals_unread',
      help: 'Running incidents whose gates this scrape could not read (no worker answered in time, or more than the limit): the pending-approval gauges leave them out.',
      registers: [registry],
      async collect() {
        this.set((await read()).unread);
      },
    });
    new Gauge({
      name: 'firebreak_pending_approvals',
      help: 'Approval gates waiting for a decision, by runbook workflow, in the incidents whose gates were read (see firebreak_pending_approvals_unread).',
      labelNames: ['runbook'] as const,
      registers: [registry],
      async collect() {
        const s = await read();
        this.reset();
        for (const [runbook, p] of s.pending) this.set({ runbook }, p.count);
      },
    });
    new Gauge({
      name: 'firebreak_oldest_pending_approval_seconds',
      help: 'How long the oldest gate still waiting for a decision has waited, by runbook workflow.',
      labelNames: ['runbook'] as const,
      registers: [registry],
      async collect() {
        const s = await read();
        this.reset();
        for (const [runbook, p] of s.pending) this.set({ runbook }, p.oldestSeconds);
      },
    });
  }
}

function isDrill(timeline: readonly TimelineEvent[]): boolean {
  const opened = timeline.find((e) => e.type === 'incident.opened');
  return opened?.type === 'incident.opened' && opened.data.drill === true;
}

const running = (type: string) => `ExecutionStatus = "Running" AND WorkflowType = "${type}"`;

async function readCluster(client: Client, o: { limit: number; queryTimeoutMs: number; budgetMs: number }): Promise<ClusterState> {
  const types = Object.keys(workflowCatalog);
  const counts = await Promise.all(types.map(async (t) => [t, (await client.workflow.count(running(t))).count] as const));
  const state: ClusterState = { open: new Map(counts), pending: new Map(types.map((t) => [t, { count: 0, oldestSeconds: 0 }])), unread: 0 };
  const total = counts.reduce((n, [, c]) => n + c, 0);
  const started = Date.now();
  const over = () => Date.now() - started >= o.budgetMs;
  const incidents: { workflowId: string; type: string }[] = [];
  for await (const w of client.workflow.list({ query: `ExecutionStatus = "Running" AND WorkflowType IN (${types.map((t) => `"${t}"`).join(', ')})` })) {
    if (incidents.length >= o.limit || over()) break;
    incidents.push({ workflowId: w.workflowId, type: w.type });
  }
  let read = 0;
  let next = 0;
  // A few queries at a time: each is a workflow task on some worker.
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < incidents.length && !over()) {
        const w = incidents[next++]!;
        const deadline = Math.min(Date.now() + o.queryTimeoutMs, started + o.budgetMs);
        let timeline: TimelineEvent[];
        try {
          timeline = await client.withDeadline(deadline, () => client.workflow.getHandle(w.workflowId).query(timelineQuery));
        } catch {
          // No worker answered in time, or the incident closed since the list: counted as unread.
          continue;
        }
        read += 1;
        const containmentSteps = workflowCatalog[w.type]?.containment ?? [];
        const p = state.pending.get(w.type)!;
        const now = Date.now();
        for (const g of incidentMetrics(timeline, { containmentSteps }).gates) {
          if (g.settledAt !== null) continue;
          p.count += 1;
          p.oldestSeconds = Math.max(p.oldestSeconds, (now - Date.parse(g.requestedAt)) / 1000);
        }
      }
    }),
  );
  state.unread = Math.max(0, total - read);
  return state;
}
