/**
 * The mode is part of an incident's identity: a live start for a target with
 * an open dry-run incident opens a live incident of its own (containment
 * runs), and the reverse; a second start in the same mode joins the first.
 * Through the real `firebreak start`, on a task queue no worker serves, so
 * nothing runs: the incidents' inputs are read from their histories.
 */
import { fileURLToPath } from 'node:url';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { incidentIdFor } from '../../src/incidents/ids.ts';
import type { IncidentInput } from '../../workflows/engine/types.ts';
import { runFirebreak } from '../support/cli.ts';
import { sandbox, temporalClient, uniqueName } from '../support/servers.ts';

const client = await temporalClient();
const env = {
  FIREBREAK_OPERATOR: 'alice',
  FIREBREAK_RUNBOOKS_DIR: fileURLToPath(new URL('../../runbooks', import.meta.url)),
  TEMPORAL_ADDRESS: sandbox().temporalAddress,
  TEMPORAL_NAMESPACE: sandbox().temporalNamespace,
  FIREBREAK_TASK_QUEUE: uniqueName('no-worker'),
  FIREBREAK_LOG_LEVEL: 'silent',
};
const started = new Set<string>();
afterAll(async () => {
  for (const id of started) await client.workflow.getHandle(id).terminate('test finished');
});

async function start(pod: string, mode: 'live' | 'dry-run'): Promise<{ incidentId: string; runId: string }> {
  const r = await runFirebreak(['start', 'container-escape', '--target', `pod:demo-shop/${pod}`, '--mode', mode, '--json'], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { incidentId: string; runId: string };
  started.add(out.incidentId);
  return out;
}

/** The mode the incident's workflow was started with, and how many starts (alerts) reached it. */
async function incident(id: string): Promise<{ mode: string; alerts: number }> {
  const history = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
  const input = defaultPayloadConverter.fromPayload<IncidentInput>(history[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!);
  return { mode: input.mode, alerts: history.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'alert').length };
}

describe('incident identity includes the mode', () => {
  it('gives a dry-run incident its own id, marked dry-run, and keeps live ids as they were', () => {
    const key = 'prod-eu:demo-shop:storefront-x7k2p';
    // The id every live incident of this key has had since ids were introduced.
    expect(incidentIdFor('container-escape', key)).toBe('container-escape.prod-eu:demo-shop:storefront-x7k2p-d0c04b30');
    expect(incidentIdFor('container-escape', key, 'live')).toBe(incidentIdFor('container-escape', key));
    expect(incidentIdFor('container-escape', key, 'dry-run')).toMatch(/^container-escape\.dry-run\.prod-eu:demo-shop:storefront-x7k2p-[0-9a-f]{8}$/);
    expect(incidentIdFor('container-escape', key, 'dry-run')).not.toBe(incidentIdFor('container-escape', key));
  });

  // Both orders: a live start while a dry run is open must get its own incident (and its containment), and the reverse.
  it.each([
    ['dry-run', 'live'],
    ['live', 'dry-run'],
  ] as const)('opens a second incident when a %s incident for the pod is open and a %s start comes, each in its own mode', async (firstMode, secondMode) => {
    const pod = uniqueName('storefront');
    const first = await start(pod, firstMode);
    const second = await start(pod, secondMode);
    expect(second.incidentId).not.toBe(first.incidentId);
    expect(await incident(first.incidentId)).toEqual({ mode: firstMode, alerts: 1 });
    expect(await incident(second.incidentId)).toEqual({ mode: secondMode, alerts: 1 });
  });

  it('still joins the open incident when started again in the same mode (control)', async () => {
    const pod = uniqueName('storefront');
    const first = await start(pod, 'dry-run');
    const again = await start(pod, 'dry-run');
    expect(again).toEqual(first);
    expect(await incident(first.incidentId)).toEqual({ mode: 'dry-run', alerts: 2 });
  });
});
