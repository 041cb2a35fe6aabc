// Opening an incident: the start input a runbook gets (with its children's
// policies), and signal-with-start on the id the correlation key gives.
import type { Client } from '@temporalio/client';
import { workflowCatalog } from '../../workflows/catalog.ts';
import { alertSignal } from '../../workflows/engine/messages.ts';
import type { IncidentInput, TriggerInfo } from '../../workflows/engine/types.ts';
import type { RunbookPolicy } from '../runbooks/schema.ts';
import { incidentIdFor } from './ids.ts';

/**
 * Adds the policies of the child runbooks the input's workflow may start (its
 * catalog entry's `children`), from the loaded policies, keyed by workflow
 * name: a child incident needs its own policy in its input.
 */
export function withChildPolicies<I extends { policy: RunbookPolicy }>(input: I, policies: readonly RunbookPolicy[]): I & Pick<IncidentInput, 'childPolicies'> {
  const children = Object.hasOwn(workflowCatalog, input.policy.workflow) ? workflowCatalog[input.policy.workflow]!.children : [];
  const childPolicies = Object.fromEntries(
    children.flatMap((workflow) => {
      const child = policies.find((p) => p.workflow === workflow);
      return child === undefined ? [] : [[workflow, child] as const];
    }),
  );
  return Object.keys(childPolicies).length === 0 ? input : { ...input, childPolicies };
}

/**
 * The alert as the open incident receives it (the signal of signal-with-start):
 * with the steps its auto-containment rules name, so that a more severe alert
 * joining an incident lifts those gates for steps not yet decided.
 */
export function signalledAlert(input: Pick<IncidentInput, 'trigger' | 'autoContainSteps'>): TriggerInfo {
  const steps = input.autoContainSteps ?? [];
  return steps.length === 0 ? input.trigger : { ...input.trigger, autoContainSteps: steps };
}

export interface OpenIncident {
  workflowType: string;
  taskQueue: string;
  correlationKey: string;
  input: Omit<IncidentInput, 'incidentId'>;
}

/**
 * Starts the incident for the correlation key, or, when one is open, signals
 * it that the alert fired again (signal-with-start: atomic, never a second
 * incident, never a lost alert).
 */
export async function openIncident(client: Client, o: OpenIncident): Promise<{ incidentId: string; runId: string }> {
  const incidentId = incidentIdFor(o.input.policy.id, o.correlationKey, o.input.mode);
  const handle = await client.workflow.signalWithStart(o.workflowType, {
    workflowId: incidentId,
    taskQueue: o.taskQueue,
    args: [{ ...o.input, incidentId }],
    signal: alertSignal,
    signalArgs: [signalledAlert(o.input)],
  });
  return { incidentId, runId: handle.signaledRunId };
}
