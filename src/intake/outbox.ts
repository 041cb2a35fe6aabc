/**
 * The intake outbox: every routed firing alert is written here (flushed to the
 * disk) before its sender is answered, and marked delivered once Temporal has
 * it. What an intake process had accepted but not yet delivered when it
 * stopped — crashed, killed, or Temporal unreachable — is delivered by the next
 * one: `open()` returns it. Delivery is at least once: a crash between
 * Temporal's answer and the mark can deliver an alert twice, never zero times.
 *
 *   <data>/intake/outbox.jsonl            accepted alerts, with a sequence number
 *   <data>/intake/outbox-delivered.jsonl  sequence numbers delivered
 *
 * `open()` compacts both files to what is still pending.
 */
import { join, resolve } from 'node:path';
import { withoutShared, type Alert } from './alert.ts';
import { JsonLines, serialise } from './store.ts';

export interface OutboxEntry {
  seq: number;
  storedAt: string;
  /** The runbook the alert was routed to; routed again from the current policies when redelivered. */
  runbook: string;
  incidentId: string;
  alert: Alert;
}

/** The entries one request added, written as one line (all or none). */
interface OutboxLine {
  entries: OutboxEntry[];
}

export class Outbox {
  private readonly entries: JsonLines<OutboxEntry | OutboxLine>;
  private readonly delivered: JsonLines<{ seq: number }>;
  private nextSeq = 1;
  private readonly inFlight = new Set<number>();
  private opened: Promise<OutboxEntry[]> | undefined;

  constructor(dataDir: string) {
    const dir = join(resolve(dataDir), 'intake');
    this.entries = new JsonLines(join(dir, 'outbox.jsonl'), { durable: true });
    this.delivered = new JsonLines(join(dir, 'outbox-delivered.jsonl'));
  }

  /** Reads what was accepted and never delivered, compacts the files to it, and returns it (oldest first). Once. */
  open(): Promise<OutboxEntry[]> {
    this.opened ??= (async () => {
      const done = new Set((await this.delivered.list()).map((d) => d.seq));
      const pending = (await this.entries.list()).flatMap((l) => ('entries' in l ? l.entries : [l])).filter((e) => !done.has(e.seq));
      this.nextSeq = Math.max(0, ...pending.map((e) => e.seq)) + 1;
      await this.entries.replace(pending);
      await this.delivered.replace([]);
      for (const e of pending) this.inFlight.add(e.seq);
      return pending;
    })();
    return this.opened;
  }

  /**
   * The line that stores one request's accepted alerts, and its entries:
   * serialised (or RecordTooLargeError) before anything is written. The raw
   * payload stays out: delivery needs only the normalised alert.
   */
  async prepare(entries: readonly Omit<OutboxEntry, 'seq' | 'storedAt'>[], storedAt: string): Promise<{ line: string; entries: OutboxEntry[] }> {
    await this.open();
    const stored = entries.map((e): OutboxEntry => ({ seq: this.nextSeq++, storedAt, ...e, alert: { ...withoutShared(e.alert), raw: undefined } }));
    return { line: serialise({ entries: stored }), entries: stored };
  }

  /** Writes a prepared line; resolves once it is on the disk. */
  async write(prepared: { line: string; entries: OutboxEntry[] }): Promise<void> {
    for (const e of prepared.entries) this.inFlight.add(e.seq);
    try {
      await this.entries.appendLine(prepared.line);
    } catch (e) {
      for (const entry of prepared.entries) this.inFlight.delete(entry.seq);
      throw e;
    }
  }

  /** Takes back a written line whose request was answered 503: its entries are never delivered. */
  async retract(entries: readonly OutboxEntry[]): Promise<void> {
    await Promise.all(entries.map((e) => this.markDelivered(e.seq)));
  }

  /** Marks an entry delivered: it is not delivered again after a restart. */
  async markDelivered(seq: number): Promise<void> {
    this.inFlight.delete(seq);
    await this.delivered.append({ seq });
  }

  async close(): Promise<void> {
    await this.entries.close();
    await this.delivered.close();
  }

  /** Alerts accepted and not yet delivered. */
  get pending(): number {
    return this.inFlight.size;
  }
}
