// The workflow's own check of its targets, first thing at the start of every
// runbook workflow: the CLI, Slack and intake check them too, but a workflow
// can be started directly, and a name such as `demo-shop/..` resolves to the
// namespace's URL. Refused, never repaired.
import { ApplicationFailure } from '@temporalio/workflow';
import { engineFailure } from '../../domain/failures.ts';
import { quoteName, targetProblem } from '../../domain/names.ts';
import type { IncidentInput } from './types.ts';

/** The failure type of an incident refused for its targets. */
export const invalidTargetFailure = engineFailure.invalidTarget;

/** Fails the workflow, not retryably, for its targets: a wrong name, or the wrong kind of target for the runbook. */
export function refuseTargets(message: string, details: Record<string, unknown>): never {
  throw ApplicationFailure.create({ type: invalidTargetFailure, nonRetryable: true, message, details: [details] });
}

/** Fails the workflow, not retryably, at the first target whose id or named attribute breaks its system's naming rule. */
export function refuseInvalidTargets(input: Pick<IncidentInput, 'targets'>): void {
  const targets: unknown = input.targets;
  if (!Array.isArray(targets)) refuseTargets('The incident input has no list of targets: expected targets [{"kind": …, "id": …}].', {});
  for (const [i, target] of (targets as unknown[]).entries()) {
    const t = target as { kind?: unknown; id?: unknown; attributes?: unknown };
    const attributes = t.attributes ?? {};
    const wellFormed =
      typeof t.kind === 'string' &&
      typeof t.id === 'string' &&
      typeof attributes === 'object' &&
      attributes !== null &&
      Object.values(attributes).every((v) => typeof v === 'string');
    if (!wellFormed) refuseTargets(`Target ${i + 1} of the incident is not {"kind": string, "id": string, "attributes"?: {string: string}}.`, { index: i });
    const { kind, id } = t as { kind: string; id: string };
    const problem = targetProblem({ kind, id, attributes: attributes as Record<string, string> });
    if (problem !== undefined) {
      refuseTargets(`Refused target ${quoteName(`${kind}:${id}`)}: ${problem}. Nothing was read or changed; start the incident again with the target's real name.`, {
        kind,
        id,
        problem,
      });
    }
  }
}
