import { WorkflowUpdateFailedError } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { decideUpdate, rejection, statusQuery, timelineQuery } from '../../workflows/engine/messages.ts';
import { awaiting, newWorld, engineOnDevServer, startIncident, testInput, testPolicy, waitForStatus } from '../support/engine.ts';
import { temporalClient } from '../support/servers.ts';

const world = newWorld();
let taskQueue: string;
const client = await temporalClient();

beforeAll(async () => {
  taskQueue = await engineOnDevServer(world);
});

/** Starts an incident and waits until its "isolate" step awaits a decision. */
async function incidentAwaitingIsolate(policy = testPolicy()) {
  const handle = await startIncident(client, taskQueue, testInput(policy));
  await waitForStatus(handle, awaiting('isolate'));
  return handle;
}

/**
 * The update events in the incident's history. A rejected vote must add none;
 * other events (the approval request's notice completing) may land meanwhile.
 */
async function updateEvents(handle: Awaited<ReturnType<typeof incidentAwaitingIsolate>>): Promise<number> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes != null || e.workflowExecutionUpdateCompletedEventAttributes != null).length;
}

async function rejectionOf(p: Promise<unknown>): Promise<{ type: string | undefined; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof WorkflowUpdateFailedError) {
      const cause = e.cause as { type?: string; message: string };
      return { type: cause.type, message: cause.message };
    }
    throw e;
  }
  throw new Error('expected the update to be rejected');
}

describe('approval gate', () => {
  it('rejects a vote on a step the incident does not have, writing nothing to history', async () => {
    const handle = await incidentAwaitingIsolate();
    const r = await rejectionOf(handle.executeUpdate(decideUpdate, { args: [{ step: 'drain', decision: 'approve', actor: 'cli:bob' }] }));
    expect(r.type).toBe(rejection.unknownStep);
    expect(r.message).toContain('no step "drain"');
    expect(await updateEvents(handle)).toBe(0);
  });

  it('control: an accepted vote is written to history as an update', async () => {
    const handle = await incidentAwaitingIsolate();
    await handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate', decision: 'approve', actor: 'cli:bob' }] });
    expect(await updateEvents(handle)).toBeGreaterThan(0);
  });

  it('rejects a vote on a step that is not awaiting a decision', async () => {
    const handle = await incidentAwaitingIsolate();
    const r = await rejectionOf(handle.executeUpdate(decideUpdate, { args: [{ step: 'cordon', decision: 'approve', actor: 'cli:bob' }] }));
    expect(r).toEqual({ type: rejection.notAwaitingDecision, message: 'Step "cordon" is not awaiting a decision (it is not-started).' });
  });

  it('rejects a vote from someone who is not an approver, writing nothing to history', async () => {
    const handle = await incidentAwaitingIsolate();
    const r = await rejectionOf(handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate', decision: 'approve', actor: 'cli:mallory' }] }));
    expect(r).toEqual({ type: rejection.notAnApprover, message: 'cli:mallory is not an approver of step "isolate".' });
    expect(await updateEvents(handle)).toBe(0);
    expect((await handle.query(statusQuery)).pendingApprovals[0]?.approvals).toBe(0);
  });

  it("rejects the requester's own approval of a two-person step", async () => {
    const handle = await incidentAwaitingIsolate();
    const r = await rejectionOf(handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate', decision: 'approve', actor: 'cli:alice' }] }));
    expect(r.type).toBe(rejection.requesterCannotApprove);
    expect(r.message).toContain('two-person');
  });

  it('rejects a second vote by the same approver', async () => {
    const policy = testPolicy({
      isolate: { approvers: ['cli:bob', 'cli:carol'], required: 2, twoPerson: true, timeout: '30m', onTimeout: 'deny' },
    });
    const handle = await incidentAwaitingIsolate(policy);
    await handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate', decision: 'approve', actor: 'cli:bob' }] });
    const r = await rejectionOf(handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate', decision: 'approve', actor: 'cli:bob' }] }));
    expect(r.type).toBe(rejection.alreadyVoted);
  });

  it('lets an approver in a named group vote', async () => {
    const policy = testPolicy({ isolate: { approvers: ['group:oncall'], timeout: '30m', onTimeout: 'deny' } });
    const handle = await startIncident(client, taskQueue, testInput(policy, { groups: { oncall: ['cli:dave'] } }));
    await waitForStatus(handle, awaiting('isolate'));
    const state = await handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate', decision: 'approve', actor: 'cli:dave' }] });
    expect(state.status).toBe('approved');
  });

  it('passes a step once the required number of approvals (2 of 3) is reached', async () => {
    const policy = testPolicy({
      isolate: { approvers: ['cli:bob', 'cli:carol', 'cli:erin'], required: 2, twoPerson: true, timeout: '30m', onTimeout: 'deny' },
    });
    const handle = await incidentAwaitingIsolate(policy);
    const first = await handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate', decision: 'approve', actor: 'cli:bob', reason: 'shell in prod' }] });
    expect(first).toMatchObject({ status: 'awaiting-approval', approvals: [{ actor: 'cli:bob', reason: 'shell in prod' }] });
    const second = await handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate', decision: 'approve', actor: 'cli:carol' }] });
    expect(second).toMatchObject({ status: 'approved', settledBy: 'votes' });
    const status = await waitForStatus(handle, awaiting('cordon'));
    expect(status.steps.find((s) => s.id === 'isolate')?.status).toBe('succeeded');
    const timeline = await handle.query(timelineQuery);
    expect(timeline.filter((e) => e.type === 'approval.granted').map((e) => e.actor)).toEqual(['cli:bob', 'cli:carol']);
    expect(timeline.some((e) => e.type === 'action.succeeded' && e.step === 'isolate')).toBe(true);
  });

  it('settles a step as denied on one deny, even after an approval, and skips its action', async () => {
    const policy = testPolicy({
      isolate: { approvers: ['cli:bob', 'cli:carol'], required: 2, twoPerson: false, timeout: '30m', onTimeout: 'proceed' },
    });
    const handle = await incidentAwaitingIsolate(policy);
    await handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate', decision: 'approve', actor: 'cli:bob' }] });
    const denied = await handle.executeUpdate(decideUpdate, {
      args: [{ step: 'isolate', decision: 'deny', actor: 'cli:carol', reason: 'it is the pentest team' }],
    });
    expect(denied).toMatchObject({ status: 'denied', denial: { actor: 'cli:carol', reason: 'it is the pentest team' } });
    await waitForStatus(handle, awaiting('cordon'));
    expect(world.of(handle.workflowId).calls.filter((c) => c.startsWith('isolate'))).toEqual([]);
    const timeline = await handle.query(timelineQuery);
    expect(timeline.find((e) => e.type === 'action.skipped' && e.step === 'isolate')).toBeDefined();
  });

  it('requires a reason to deny', async () => {
    const handle = await incidentAwaitingIsolate();
    const r = await rejectionOf(handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate', decision: 'deny', actor: 'cli:bob' }] }));
    expect(r.type).toBe(rejection.reasonRequired);
  });

  it('rejects a vote answering another request than the open one (a stale Slack button), and accepts the open one', async () => {
    const handle = await incidentAwaitingIsolate();
    const open = (await handle.query(timelineQuery)).find((e) => e.type === 'approval.requested' && e.step === 'isolate')!.id;
    const stale = await rejectionOf(
      handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate', decision: 'approve', actor: 'cli:bob', requestId: `${handle.workflowId}#0001` }] }),
    );
    expect(stale.type).toBe(rejection.notAwaitingDecision);
    expect(stale.message).toContain('is no longer open');
    const state = await handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate', decision: 'approve', actor: 'cli:bob', requestId: open }] });
    expect(state.status).toBe('approved');
  });
});
