// The outbox: an accepted alert is on the disk before its sender is answered,
// reaches its incident even when Temporal is away for a while or intake
// restarts, and once an incident is known to be open, further alerts are
// answered without waiting for Temporal.
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusQuery } from '../../workflows/engine/messages.ts';
import { newWorld, startEngineWorker, waitForStatus } from '../support/engine.ts';
import { sandbox, temporalClient, uniqueName } from '../support/servers.ts';
import { fixtureJson, postAlert, startTestIntake, tempDataDir, testPolicies } from './helpers.ts';

let client: Client;
let taskQueue: string;

beforeAll(async () => {
  client = await temporalClient();
  const connection = await NativeConnection.connect({ address: sandbox().temporalAddress });
  afterAll(() => connection.close());
  ({ taskQueue } = await startEngineWorker(connection, newWorld()));
});

/** A Terminal-shell Falco alert about a pod of its own, so its incident is new. */
async function shellAlert(pod = uniqueName('pod')): Promise<string> {
  const payload = await fixtureJson('falco/terminal-shell.json');
  payload.output_fields = { ...(payload.output_fields as object), 'k8s.pod.name': pod };
  delete payload.uuid;
  return JSON.stringify(payload);
}

/** How many alerts the incident has counted; 0 while it does not exist yet. */
async function alertsCounted(incidentId: string): Promise<number> {
  try {
    return (await client.workflow.getHandle(incidentId).query(statusQuery)).counts.alerts;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return 0;
    throw e;
  }
}

describe('the intake outbox', () => {
  it('answers further alerts for an open incident from the disk, and every one reaches the incident', async () => {
    const policies = testPolicies(uniqueName('t').toLowerCase());
    const { url } = await startTestIntake({ client, taskQueue, policies: policies.all });
    const body = await shellAlert();
    const first = (await postAlert(url, 'falco', body)).body.alerts?.[0]?.incidents[0];
    expect(first).toMatchObject({ delivery: 'delivered', new: true });
    const more = await Promise.all(Array.from({ length: 20 }, () => postAlert(url, 'falco', body)));
    const joined = more.map((r) => r.body.alerts?.[0]?.incidents[0]);
    expect(joined.every((i) => i?.delivery === 'queued' && i.new === false && i.incidentId === first?.incidentId && i.runId === first.runId)).toBe(true);
    const status = await waitForStatus(client.workflow.getHandle(first!.incidentId), (s) => s.counts.alerts >= 21);
    expect(status.counts.alerts).toBe(21);
  });

  it('answers an alert Temporal refused as queued and delivers it on a retry', async () => {
    const policies = testPolicies(uniqueName('t').toLowerCase());
    let refusals = 1;
    const { url, service } = await startTestIntake({
      client,
      taskQueue,
      policies: policies.all,
      delivery: (real) => ({ ...real, open: (o) => (refusals-- > 0 ? Promise.reject(new Error('14 UNAVAILABLE: connection refused')) : real.open(o)) }),
    });
    const r = await postAlert(url, 'falco', await shellAlert());
    const incident = r.body.alerts?.[0]?.incidents[0];
    expect(r.status).toBe(200);
    expect(incident).toMatchObject({ delivery: 'queued' });
    expect(incident?.new).toBeUndefined();
    await expect.poll(() => alertsCounted(incident!.incidentId), { timeout: 15_000 }).toBe(1);
    expect(service.metrics.value('firebreak_intake_alerts_failed_total', { source: 'falco' })).toBe(1);
    expect(service.outbox.pending).toBe(0);
  });

  it('delivers, after a restart, what the previous intake accepted while Temporal was unreachable', async () => {
    const policies = testPolicies(uniqueName('t').toLowerCase());
    const dataDir = await tempDataDir();
    const connection = Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 300 });
    afterAll(() => connection.close());
    const away = await startTestIntake({ client: new Client({ connection }), taskQueue, policies: policies.all, dataDir });
    const r = await postAlert(away.url, 'falco', await shellAlert());
    const incident = r.body.alerts?.[0]?.incidents[0];
    expect(r.status).toBe(200);
    expect(incident).toMatchObject({ delivery: 'queued' });
    expect(await (await fetch(`${away.url}/metrics`)).text()).toContain('firebreak_intake_outbox_pending 1');
    await away.close();
    await away.service.close(0);

    const back = await startTestIntake({ client, taskQueue, policies: policies.all, dataDir });
    await expect.poll(() => alertsCounted(incident!.incidentId), { timeout: 15_000 }).toBe(1);
    const status = await client.workflow.getHandle(incident!.incidentId).query(statusQuery);
    expect(status.trigger).toMatchObject({ source: 'falco', rule: 'Terminal shell in container' });
    await expect.poll(() => back.service.outbox.pending).toBe(0);
  });
});
