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
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { toPayloads } from '@temporalio/common';
import { alertResolvedSignal, alertSignal } from '../../workflows/engine/messages.ts';
import type { IncidentInput, TriggerInfo } from '../../workflows/engine/types.ts';

export interface Delivery {
  /** Starts the incident, or signals the open one that the alert fired again. */
  open: (o: { workflowType: string; taskQueue: string; input: IncidentInput }) => Promise<{ runId: string; started: boolean }>;
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
  return {
    async open({ workflowType, taskQueue, input }) {
      const response = await client.workflowService.signalWithStartWorkflowExecution({
        namespace,
        identity,
        requestId: randomUUID(),
        workflowId: input.incidentId,
        workflowType: { name: workflowType },
        taskQueue: { name: taskQueue },
        input: { payloads: toPayloads(converter.payloadConverter, input) ?? [] },
        signalName: alertSignal.name,
        signalInput: { payloads: toPayloads(converter.payloadConverter, input.trigger) ?? [] },
      });
      return { runId: response.runId, started: response.started };
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
