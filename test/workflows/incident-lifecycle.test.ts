import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { incidentIdFor } from '../../src/incidents/ids.ts';
import { openIncident } from '../../src/incidents/open.ts';
import {
  closeUpdate,
  decideUpdate,
  rejection,
  rollbackUpdate,
  statusQuery,
  timelineQuery,
  type DecideInput,
  type IncidentStatus,
} from '../../workflows/engine/messages.ts';
import { awaiting, newWorld, engineOnDevServer, startIncident, testInput, testPolicy, waitForStatus } from '../support/engine.ts';
import { temporalClient, uniqueName } from '../support/servers.ts';

const world = newWorld();
let taskQueue: string;
const client = await temporalClient();

beforeAll(async () => {
  taskQueue = await engineOnDevServer(world);
});

const approve = (step: string, actor = 'cli:bob') => ({ args: [{ step, decision: 'approve', actor }] as [DecideInput] });

/** Starts an incident and approves isolate and cordon, leaving it contained and open. */
async function containedIncident(policy = testPolicy(), extra = {}) {
  const handle = await startIncident(client, taskQueue, testInput(policy, extra));
  await waitForStatus(handle, awaiting('isolate'));
  await handle.executeUpdate(decideUpdate, approve('isolate'));
  await waitForStatus(handle, awaiting('cordon'));
  await handle.executeUpdate(decideUpdate, approve('cordon'));
  await waitForStatus(handle, (s) => s.steps.find((x) => x.id === 'cordon')?.status === 'succeeded');
  return handle;
}

describe('incident lifecycle', () => {
  it('records evidence before any containment action on the timeline', async () => {
    const handle = await containedIncident();
    const types = (await handle.query(timelineQuery)).map((e) => e.type);
    expect(types.indexOf('evidence.sealed')).toBeGreaterThan(-1);
    expect(types.indexOf('evidence.sealed')).toBeLessThan(types.indexOf('action.started'));
  });

  it('refuses a containment action when no evidence is sealed', async () => {
    const handle = await startIncident(client, taskQueue, testInput(testPolicy({ isolate: 'none' }), { skipEvidence: true }));
    await waitForStatus(handle, awaiting('cordon'));
    expect(world.of(handle.workflowId).isolated).toBe(false);
    const skipped = (await handle.query(timelineQuery)).find((e) => e.type === 'action.skipped' && e.step === 'isolate');
    expect(skipped?.data).toMatchObject({ why: expect.stringContaining('no evidence is sealed yet') });
  });

  it('rolls actions back newest first, recording each result', async () => {
    const handle = await containedIncident();
    const place = world.of(handle.workflowId);
    expect(place).toMatchObject({ isolated: true, cordoned: true });
    await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob', reason: 'false positive' }] });
    const status = await waitForStatus(handle, (s) => s.phase === 'rolled-back');
    expect(status.phase).toBe('rolled-back');
    expect(place.calls.slice(-2)).toEqual(['uncordon', 'unisolate']);
    expect(place).toMatchObject({ isolated: false, cordoned: false });
    const timeline = await handle.query(timelineQuery);
    expect(timeline.filter((e) => e.type.startsWith('rollback.')).map((e) => e.type)).toEqual([
      'rollback.requested',
      'rollback.compensated',
      'rollback.compensated',
      'rollback.finished',
    ]);
  });

  it('keeps the changes of a step the policy lists in rollback.keep, saying so, and undoes the rest', async () => {
    const policy = testPolicy();
    const handle = await containedIncident({ ...policy, rollback: { ...policy.rollback, keep: ['isolate'] } });
    const place = world.of(handle.workflowId);
    await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob', reason: 'contained elsewhere' }] });
    await waitForStatus(handle, (s) => s.phase === 'rolled-back');
    const timeline = await handle.query(timelineQuery);

    expect(place).toMatchObject({ isolated: true, cordoned: false });
    expect(timeline.find((e) => e.type === 'rollback.kept')).toMatchObject({ step: 'isolate', data: { action: 'release pod', why: expect.stringContaining('rollback.keep') } });
    expect(timeline.find((e) => e.type === 'rollback.finished')?.data).toEqual({ compensated: 1, failed: 0 });
  });

  it('rolls back while a later step still awaits approval: that step is settled, skipped, and nothing after it runs', async () => {
    const handle = await startIncident(client, taskQueue, testInput(testPolicy()));
    await waitForStatus(handle, awaiting('isolate'));
    await handle.executeUpdate(decideUpdate, approve('isolate'));
    await waitForStatus(handle, awaiting('cordon'));
    const state = await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob', reason: 'wrong pod' }] });
    expect(state).toMatchObject({ id: 'rollback', status: 'approved' });
    const status = await waitForStatus(handle, (s) => s.phase === 'rolled-back');
    expect(status.pendingApprovals).toEqual([]);
    expect(status.steps.find((s) => s.id === 'cordon')).toMatchObject({ status: 'denied', settledBy: 'rolled-back' });
    const place = world.of(handle.workflowId);
    expect(place.calls).toEqual(['seal:pod.json', 'isolate:live', 'unisolate']);
    expect(place.isolated).toBe(false);
    const skipped = (await handle.query(timelineQuery)).find((e) => e.type === 'action.skipped' && e.step === 'cordon');
    expect(skipped?.data).toMatchObject({ why: 'the incident was rolled back' });
  });

  it('records a failed compensation and still runs the others', async () => {
    const handle = await containedIncident();
    const place = world.of(handle.workflowId);
    place.failUncordon = true;
    await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob' }] });
    await waitForStatus(handle, (s) => s.phase === 'rolled-back');
    expect(place.isolated).toBe(false);
    const timeline = await handle.query(timelineQuery);
    expect(timeline.find((e) => e.type === 'rollback.failed')?.data).toMatchObject({
      action: 'uncordon node',
      errorType: 'NodeNotFound',
      error: 'node n1 is gone',
    });
    expect(timeline.find((e) => e.type === 'rollback.finished')?.data).toEqual({ compensated: 1, failed: 1 });
  });

  it('holds a rollback behind the policy rollback gate until it is approved', async () => {
    const gate = { approvers: ['cli:carol'], timeout: '30m', onTimeout: 'deny' };
    const handle = await containedIncident(testPolicy({ rollback: gate }));
    const state = await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob' }] });
    expect(state).toMatchObject({ id: 'rollback', status: 'awaiting-approval' });
    expect(world.of(handle.workflowId).isolated).toBe(true);
    await handle.executeUpdate(decideUpdate, approve('rollback', 'cli:carol'));
    await waitForStatus(handle, (s) => s.phase === 'rolled-back');
    expect(world.of(handle.workflowId).isolated).toBe(false);
  });

  it('completes the incident when it is closed, after which nothing can roll it back', async () => {
    const handle = await containedIncident();
    const status = await handle.executeUpdate(closeUpdate, { args: [{ actor: 'cli:alice', reason: 'contained, handed to forensics' }] });
    expect(status.phase).toBe('closed');
    expect(((await handle.result()) as IncidentStatus).phase).toBe('closed');
    await expect(handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob' }] })).rejects.toBeInstanceOf(
      WorkflowNotFoundError,
    );
    expect(world.of(handle.workflowId).isolated).toBe(true);
  });

  it('refuses to close or roll back for someone who is neither requester nor approver', async () => {
    const handle = await containedIncident();
    for (const update of [closeUpdate.name, rollbackUpdate.name]) {
      const e: unknown = await handle.executeUpdate(update, { args: [{ actor: 'cli:mallory' }] }).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(((e as WorkflowUpdateFailedError).cause as { type?: string }).type).toBe(rejection.notAnApprover);
    }
    expect((await handle.query(statusQuery)).phase).toBe('open');
  });

  it('lifts the gate of a step that an auto-containment rule selected', async () => {
    const handle = await startIncident(client, taskQueue, testInput(testPolicy(), { autoContainSteps: ['isolate'] }));
    const status = await waitForStatus(handle, awaiting('cordon'));
    expect(status.steps.find((s) => s.id === 'isolate')).toMatchObject({ status: 'succeeded', settledBy: 'auto-contain' });
    expect(world.of(handle.workflowId).isolated).toBe(true);
  });

  it('passes the dry-run mode to every action, which then changes nothing', async () => {
    const handle = await containedIncident(testPolicy(), { mode: 'dry-run' });
    const place = world.of(handle.workflowId);
    expect(place.calls).toEqual(['seal:pod.json', 'isolate:dry-run', 'cordon:dry-run']);
    expect(place).toMatchObject({ isolated: false, cordoned: false });
    expect((await handle.query(statusQuery)).mode).toBe('dry-run');
  });

  it('joins a repeated alert to the open incident: the counter grows and no second workflow starts', async () => {
    const policy = testPolicy();
    const correlationKey = `prod-eu/shop/${uniqueName('web')}`;
    const base = testInput(policy);
    const { incidentId: _unused, ...input } = base;
    const first = await openIncident(client, { workflowType: 'engineTestWorkflow', taskQueue, correlationKey, input });
    const again = { ...input, trigger: { ...input.trigger, alertId: 'falco-2', receivedAt: '2026-11-28T00:00:05.000Z' } };
    const second = await openIncident(client, { workflowType: 'engineTestWorkflow', taskQueue, correlationKey, input: again });
    const third = await openIncident(client, { workflowType: 'engineTestWorkflow', taskQueue, correlationKey, input: { ...again, trigger: { ...again.trigger, alertId: 'falco-3' } } });
    expect(first.incidentId).toBe(incidentIdFor(policy.id, correlationKey));
    expect([second.incidentId, third.incidentId]).toEqual([first.incidentId, first.incidentId]);
    expect([second.runId, third.runId]).toEqual([first.runId, first.runId]);
    const handle = client.workflow.getHandle(first.incidentId);
    const status = await waitForStatus(handle, (s) => s.counts.alerts === 3);
    expect(status.counts.alerts).toBe(3);
    const repeats = (await handle.query(timelineQuery)).filter((e) => e.type === 'alert.repeated');
    expect(repeats.map((e) => (e.data as { count: number }).count)).toEqual([2, 3]);
    const runs = [];
    for await (const w of client.workflow.list({ query: `WorkflowId = '${first.incidentId}'` })) runs.push(w.runId);
    expect(runs).toEqual([first.runId]);
  });
});
