/**
 * Evidence in two parts (issue #17): an action that names the evidence it
 * would alter runs once that is sealed, while the rest is still being
 * captured; an action that names none (anything destructive) waits for the
 * full set; an action naming evidence not sealed yet is refused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { timelineQuery } from '../../workflows/engine/messages.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { engineOnDevServer, newWorld, startIncident, testInput, testPolicy, waitForStatus } from '../support/engine.ts';
import { temporalClient } from '../support/servers.ts';

const world = newWorld();
let taskQueue: string;
const client = await temporalClient();

beforeAll(async () => {
  taskQueue = await engineOnDevServer(world);
});

/** Isolate and cordon run without approval; the rest of the evidence (logs.json) does what `rest` says. */
async function inParts(rest: 'seal' | 'hold' | 'fail', isolateRequires = ['pod.json']) {
  const input = testInput(testPolicy({ isolate: 'none', cordon: 'none' }), { inParts: { isolateRequires } });
  const place = world.of(input.incidentId);
  place.rest = rest;
  const handle = await startIncident(client, taskQueue, input);
  return { handle, place };
}

const started = (events: TimelineEvent[], step: string) => events.find((e) => e.type === 'action.started' && e.step === step);
const stepOf = (id: string) => (s: { steps: { id: string; status: string }[] }) => s.steps.find((x) => x.id === id)?.status;

describe('evidence captured in parts', () => {
  it('isolates once the evidence isolation names is sealed, while the rest is still being captured', async () => {
    const { handle, place } = await inParts('hold');
    await waitForStatus(handle, (s) => stepOf('isolate')(s) === 'succeeded');
    const events = await handle.query(timelineQuery);

    expect(place.isolated).toBe(true);
    expect(place.calls).not.toContain('seal:logs.json');
    expect(started(events, 'isolate')?.data).toMatchObject({ evidence: { required: ['pod.json'] } });
    place.rest = 'seal';
  });

  it('holds an action that names no evidence (cordon) until the full set is sealed, then records that it waited for all of it', async () => {
    const { handle, place } = await inParts('hold');
    await waitForStatus(handle, (s) => stepOf('isolate')(s) === 'succeeded');
    // The control: isolation ran; cordon is still held while logs.json is being captured.
    await new Promise((r) => setTimeout(r, 300));
    expect(place.cordoned).toBe(false);
    expect(place.calls).not.toContain('cordon:live');

    place.rest = 'seal';
    await waitForStatus(handle, (s) => stepOf('cordon')(s) === 'succeeded');
    const events = await handle.query(timelineQuery);
    const logsSealed = events.findIndex((e) => e.type === 'evidence.sealed' && e.data.name === 'logs.json');
    const cordonStarted = events.findIndex((e) => e.type === 'action.started' && e.step === 'cordon');
    expect(logsSealed).toBeGreaterThan(-1);
    expect(cordonStarted).toBeGreaterThan(logsSealed);
    expect(events[cordonStarted]?.data).toMatchObject({ evidence: { all: 2 } });
  });

  it('refuses an action whose required evidence is not sealed yet, naming the missing item, and changes nothing', async () => {
    const { handle, place } = await inParts('hold', ['pod.json', 'logs.json']);
    // The test runbook records the refusal (EvidenceNotSealed) as a skip of isolate and goes on to cordon.
    await waitForStatus(handle, (s) => stepOf('cordon')(s) === 'running');
    const events = await handle.query(timelineQuery);

    expect(place.isolated).toBe(false);
    expect(started(events, 'isolate')).toBeUndefined();
    const skipped = events.find((e) => e.type === 'action.skipped' && e.step === 'isolate');
    expect(skipped?.data).toMatchObject({ why: expect.stringMatching(/evidence it requires is not sealed yet \(logs\.json\)/) });
    place.rest = 'seal';
  });

  it('skips every action waiting for the full set when the rest cannot be captured, and records the capture as failed', async () => {
    const { handle, place } = await inParts('fail');
    const status = await waitForStatus(handle, (s) => stepOf('cordon')(s) === 'skipped');
    const events = await handle.query(timelineQuery);

    expect(place.cordoned).toBe(false);
    expect(status.steps.find((s) => s.id === 'collect')?.status).toBe('failed');
    expect(events.find((e) => e.type === 'action.failed' && e.step === 'collect')?.data).toMatchObject({ action: 'seal the rest', errorType: 'KubeUnavailable' });
    expect(events.find((e) => e.type === 'action.skipped' && e.step === 'cordon')?.data).toMatchObject({ why: expect.stringContaining('full evidence set could not be sealed') });
  });
});
