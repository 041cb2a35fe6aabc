/** Driving an incident through every gate of its policy, for the dry-run tests. */
import type { WorkflowHandle } from '@temporalio/client';
import { decideUpdate, rollbackUpdate, statusQuery, type IncidentStatus } from '../../workflows/engine/messages.ts';
import { waitForStatus } from '../support/engine.ts';

/** Who starts the incidents: never an approver of their own two-person gates. */
export const requester = 'cli:alice';
const done = new Set(['succeeded', 'failed', 'skipped', 'denied']);
const settled = (s: IncidentStatus) => s.steps.filter((x) => x.id !== 'rollback').every((x) => done.has(x.status));

/**
 * Approves every gate the incident opens, with as many approvers as it needs
 * (never the requester, so two-person gates pass too), until every step has
 * settled; returns the final status.
 */
export async function approveEveryGate(handle: WorkflowHandle): Promise<IncidentStatus> {
  const voted = new Map<string, Set<string>>();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await handle.query(statusQuery);
    if (status.pendingApprovals.length === 0 && settled(status)) return status;
    for (const p of status.pendingApprovals) {
      const already = voted.get(p.step) ?? new Set<string>();
      voted.set(p.step, already);
      const actors = p.approvers.filter((a) => a !== requester && !already.has(a)).slice(0, p.required - p.approvals);
      for (const actor of actors) {
        await handle.executeUpdate(decideUpdate, { args: [{ step: p.step, decision: 'approve', actor, reason: 'dry-run world diff' }] });
        already.add(actor);
      }
    }
    if (Date.now() > deadline) throw new Error(`the incident did not settle; last status: ${JSON.stringify(status, null, 2)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Asks for rollback (bob) and approves its gate (carol), then waits until every undo has run. */
export async function rollBack(handle: WorkflowHandle): Promise<void> {
  await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob', reason: 'dry-run world diff' }] });
  await waitForStatus(handle, (s) => s.phase === 'rolled-back' || s.pendingApprovals.some((p) => p.step === 'rollback'));
  if ((await handle.query(statusQuery)).phase !== 'rolled-back') {
    await handle.executeUpdate(decideUpdate, { args: [{ step: 'rollback', decision: 'approve', actor: 'cli:carol', reason: 'dry-run world diff' }] });
  }
  await waitForStatus(handle, (s) => s.phase === 'rolled-back', 60_000);
}

