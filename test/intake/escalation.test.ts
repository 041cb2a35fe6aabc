// Severity escalation inside an open incident, end to end through intake: a
// Notice shell alert opens the incident and waits for a human; the Critical
// escape on the same pod a minute later lifts the gates its autoContain rule
// names, for steps not yet decided, and the timeline says which alert did.
import type { Client } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { decideUpdate, timelineQuery } from '../../workflows/engine/messages.ts';
import { awaiting, engineOnDevServer, newWorld, waitForStatus, type World } from '../support/engine.ts';
import { temporalClient, uniqueName } from '../support/servers.ts';
import { fixtureJson, intakeWithOwnPolicies, postAlert, releaseAgentRule } from './helpers.ts';

let client: Client;
let taskQueue: string;
let world: World;

beforeAll(async () => {
  client = await temporalClient();
  world = newWorld();
  taskQueue = await engineOnDevServer(world);
});

const intake = () => intakeWithOwnPolicies({ client, taskQueue, prefix: 'e' });

/** A Falco fixture about the given pod, with its own alert id. */
async function falcoAbout(file: string, pod: string): Promise<string> {
  const payload = await fixtureJson(file);
  payload.output_fields = { ...(payload.output_fields as object), 'k8s.pod.name': pod };
  delete payload.uuid;
  return JSON.stringify(payload);
}

const incidentOf = (r: Awaited<ReturnType<typeof postAlert>>) => r.body.alerts?.[0]?.incidents[0];

describe('a more severe alert joining an open incident', () => {
  it('lifts the gate of a step waiting for approval, recorded as lifted by that alert', async () => {
    const { url } = await intake();
    const pod = uniqueName('pod');
    const opened = incidentOf(await postAlert(url, 'falco', await falcoAbout('falco/terminal-shell.json', pod)));
    expect(opened).toMatchObject({ new: true, autoContain: [] });
    const handle = client.workflow.getHandle(opened!.incidentId);
    await waitForStatus(handle, awaiting('isolate'));
    expect(world.of(opened!.incidentId).isolated).toBe(false);

    const escape = incidentOf(await postAlert(url, 'falco', await falcoAbout('falco/release-agent-escape.json', pod)));
    expect(escape).toMatchObject({ incidentId: opened!.incidentId, new: false, autoContain: ['isolate'] });

    const status = await waitForStatus(handle, awaiting('cordon'));
    expect(status.steps.find((s) => s.id === 'isolate')).toMatchObject({ status: 'succeeded', settledBy: 'auto-contain' });
    expect(status.counts.alerts).toBe(2);
    expect(world.of(opened!.incidentId).isolated).toBe(true);
    const lifted = (await handle.query(timelineQuery)).find((e) => e.type === 'approval.skipped' && e.step === 'isolate');
    expect(lifted?.data).toMatchObject({ why: expect.stringContaining(`a later alert of the incident: falco "${releaseAgentRule}" (critical)`) });
  });

  it('lifts nothing for a step already decided: a denied isolation stays denied', async () => {
    const { url } = await intake();
    const pod = uniqueName('pod');
    const opened = incidentOf(await postAlert(url, 'falco', await falcoAbout('falco/terminal-shell.json', pod)));
    const handle = client.workflow.getHandle(opened!.incidentId);
    await waitForStatus(handle, awaiting('isolate'));
    await handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate', decision: 'deny', actor: 'cli:bob', reason: 'known admin session' }] });
    await waitForStatus(handle, awaiting('cordon'));

    await postAlert(url, 'falco', await falcoAbout('falco/release-agent-escape.json', pod));
    const status = await waitForStatus(handle, (s) => s.counts.alerts === 2);
    expect(status.steps.find((s) => s.id === 'isolate')).toMatchObject({ status: 'denied', settledBy: 'votes' });
    expect(status.steps.find((s) => s.id === 'cordon')).toMatchObject({ status: 'awaiting-approval' });
    expect(world.of(opened!.incidentId).isolated).toBe(false);
  });

  it('control: a repeat of the same Notice alert lifts nothing', async () => {
    const { url } = await intake();
    const pod = uniqueName('pod');
    const opened = incidentOf(await postAlert(url, 'falco', await falcoAbout('falco/terminal-shell.json', pod)));
    const handle = client.workflow.getHandle(opened!.incidentId);
    await waitForStatus(handle, awaiting('isolate'));
    await postAlert(url, 'falco', await falcoAbout('falco/terminal-shell.json', pod));
    const status = await waitForStatus(handle, (s) => s.counts.alerts === 2);
    expect(status.steps.find((s) => s.id === 'isolate')).toMatchObject({ status: 'awaiting-approval' });
    expect(world.of(opened!.incidentId).isolated).toBe(false);
  });
});
