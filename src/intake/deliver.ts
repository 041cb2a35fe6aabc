/**
 * Delivering routed alerts to Temporal: signal-with-start on the incident id
 * of the runbook and correlation key, and the `alertResolved` signal.
 *
 * Whether a request opened the incident is the server's own answer: the
 * SignalWithStartWorkflowExecution response has a `started` flag, set only for
 * the one call that created the run. The SDK's `signalWithStart` drops it, so
 * the request is made on the workflow service directly, with the client's
 * payload converter. (The alternatives are racy: comparing start times cannot
 * tell which of two concurrent calls started the run, and the status query's
 * alert counter may already include other alerts — and needs a worker.)
 *
 * Alert storms are batched per incident: while one request for an incident
 * is in flight, the alerts that arrive for it queue, and the next request
 * carries them all (`alerts` signal). An alert whose sender waits goes at once;
 * alerts already acknowledged (on the disk, see ./service.ts) may `linger` a
 * moment so that more join the same request — a storm of a few alerts a second
 * per incident then costs the incident one request, and one workflow task, per
 * linger instead of one per alert.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { toPayloads } from '@temporalio/common';
import { alertResolvedSignal, alertsSignal } from '../../workflows/engine/messages.ts';
import { signalledAlert } from '../incidents/open.ts';
import type { IncidentInput, TriggerInfo } from '../../workflows/engine/types.ts';

export interface Delivery {
  /**
   * Starts the incident, or signals the open one that the alert fired again.
   * `lingerMs`: the caller is not waiting, so the alert may wait that long for
   * others to share its request.
   */
  open: (o: { workflowType: string; taskQueue: string; input: IncidentInput }, opts?: { lingerMs?: number }) => Promise<{ runId: string; started: boolean }>;
  /** Records a resolved alert on the open incident; false when no incident with that id is open. */
  resolve: (incidentId: string, trigger: TriggerInfo) => Promise<boolean>;
  /** Rejects when Temporal cannot be reached. */
  ping: () => Promise<void>;
}

export function temporalDelivery(client: Client): Delivery {
  const { loadedDataConverter: converter, namespace, identity } = client.options;
  if (converter.payloadCodecs.length > 0) {
    throw new Error('Intake does not support payload codecs: it encodes signal-with-start requests with the payload converter only.');
  }
  type Opening = { workflowType: string; taskQueue: string; input: IncidentInput };
  interface Waiter {
    o: Opening;
    lingerMs: number;
    resolve: (r: { runId: string; started: boolean }) => void;
    reject: (e: unknown) => void;
  }
  interface Queue {
    waiters: Waiter[];
    /** Ends a linger early: someone is waiting for an answer. */
    wake?: () => void;
  }
  /** Alerts waiting for the incident's next request, per incident id. */
  const queues = new Map<string, Queue>();

  async function send(batch: Waiter[]): Promise<void> {
    const first = batch[0]!.o;
    try {
      const response = await client.workflowService.signalWithStartWorkflowExecution({
        namespace,
        identity,
        requestId: randomUUID(),
        workflowId: first.input.incidentId,
        workflowType: { name: first.workflowType },
        taskQueue: { name: first.taskQueue },
        input: { payloads: toPayloads(converter.payloadConverter, first.input) ?? [] },
        signalName: alertsSignal.name,
        signalInput: { payloads: toPayloads(converter.payloadConverter, batch.map((w) => signalledAlert(w.o.input))) ?? [] },
      });
      // Only the first alert of the request that created the run opened the incident.
      batch.forEach((w, i) => w.resolve({ runId: response.runId, started: response.started && i === 0 }));
    } catch (e) {
      for (const w of batch) w.reject(e);
    }
  }

  async function drain(incidentId: string): Promise<void> {
    const queue = queues.get(incidentId)!;
    for (;;) {
      const linger = Math.min(...queue.waiters.map((w) => w.lingerMs));
      if (linger > 0 && queue.waiters.length > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, linger);
          queue.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        queue.wake = undefined;
      }
      const batch = queue.waiters;
      if (batch.length === 0) {
        queues.delete(incidentId);
        return;
      }
      queue.waiters = [];
      await send(batch);
    }
  }

  return {
    open(o, opts = {}) {
      return new Promise((resolve, reject) => {
        const waiter = { o, lingerMs: opts.lingerMs ?? 0, resolve, reject };
        const queue = queues.get(o.input.incidentId);
        if (queue !== undefined) {
          queue.waiters.push(waiter);
          if (waiter.lingerMs === 0) queue.wake?.();
          return;
        }
        queues.set(o.input.incidentId, { waiters: [waiter] });
        void drain(o.input.incidentId);
      });
    },
    async resolve(incidentId, trigger) {
      try {
        await client.workflow.getHandle(incidentId).signal(alertResolvedSignal, trigger);
        return true;
      } catch (e) {
        if (e instanceof WorkflowNotFoundError) return false;
        throw e;
      }
    },
    async ping() {
      await client.connection.withDeadline(Date.now() + 2000, () => client.workflowService.getSystemInfo({}));
    },
  };
}
