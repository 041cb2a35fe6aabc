import { beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timelineQuery } from '../../workflows/engine/messages.ts';
import { awaiting, newWorld, startEngineWorker, startIncident, testInput, testPolicy, waitForStatus } from '../support/engine.ts';
import { recordingNotifier } from '../support/notices.ts';
import { timeSkippingEnv } from '../support/servers.ts';

const world = newWorld();
const notifier = recordingNotifier();
let env: TestWorkflowEnvironment;
let taskQueue: string;

beforeAll(async () => {
  env = await timeSkippingEnv();
  ({ taskQueue } = await startEngineWorker(env.nativeConnection, world, { notifier }));
});

const gate = (onTimeout: 'escalate' | 'deny' | 'proceed') =>
  testPolicy({
    isolate: {
      approvers: ['cli:bob'],
      timeout: '30m',
      onTimeout,
      ...(onTimeout === 'escalate' ? { escalateTo: ['#security-leads', 'U0SECLEAD'] } : {}),
    },
  });

describe('approval timeouts (time-skipping server, 30-minute timeouts)', () => {
  it('escalates once at the first deadline, then denies at the second', async () => {
    const handle = await startIncident(env.client, taskQueue, testInput(gate('escalate')));
    await waitForStatus(handle, awaiting('isolate'));

    await env.sleep('31 minutes');
    const escalated = await waitForStatus(handle, (s) => s.pendingApprovals[0]?.escalated === true);
    expect(escalated.pendingApprovals[0]).toMatchObject({ step: 'isolate', escalated: true });
    const escalations = notifier.notices.filter((n) => n.incidentId === handle.workflowId && n.kind === 'escalation');
    expect(escalations).toEqual([expect.objectContaining({ step: 'isolate', to: ['#security-leads', 'slack:U0SECLEAD'] })]);

    await env.sleep('31 minutes');
    const after = await waitForStatus(handle, awaiting('cordon'));
    expect(after.steps.find((s) => s.id === 'isolate')).toMatchObject({ status: 'denied', settledBy: 'timeout-deny' });
    expect(world.of(handle.workflowId).isolated).toBe(false);
    expect(notifier.notices.filter((n) => n.incidentId === handle.workflowId && n.kind === 'escalation')).toHaveLength(1);
    const types = (await handle.query(timelineQuery)).filter((e) => e.step === 'isolate').map((e) => e.type);
    expect(types).toEqual(['approval.requested', 'approval.timed-out', 'approval.escalated', 'approval.timed-out', 'action.skipped']);
  });

  it('proceeds at the deadline when the policy says proceed', async () => {
    const handle = await startIncident(env.client, taskQueue, testInput(gate('proceed')));
    await waitForStatus(handle, awaiting('isolate'));
    await env.sleep('31 minutes');
    const after = await waitForStatus(handle, awaiting('cordon'));
    expect(after.steps.find((s) => s.id === 'isolate')).toMatchObject({ status: 'succeeded', settledBy: 'timeout-proceed' });
    expect(world.of(handle.workflowId).isolated).toBe(true);
  });

  it('denies at the deadline when the policy says deny', async () => {
    const handle = await startIncident(env.client, taskQueue, testInput(gate('deny')));
    await waitForStatus(handle, awaiting('isolate'));
    await env.sleep('31 minutes');
    const after = await waitForStatus(handle, awaiting('cordon'));
    expect(after.steps.find((s) => s.id === 'isolate')).toMatchObject({ status: 'denied', settledBy: 'timeout-deny' });
    expect(world.of(handle.workflowId).isolated).toBe(false);
  });

  it('does not time out early: 29 minutes in, the step still awaits its approvers', async () => {
    const handle = await startIncident(env.client, taskQueue, testInput(gate('deny')));
    await waitForStatus(handle, awaiting('isolate'));
    await env.sleep('29 minutes');
    const status = await waitForStatus(handle, awaiting('isolate'));
    expect(status.steps.find((s) => s.id === 'isolate')?.status).toBe('awaiting-approval');
  });
});
