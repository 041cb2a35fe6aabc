// Real-format alerts through the HTTP server to incidents of the engine test
// workflow on the dev server: opened, joined, auto-contained, resolved, or
// stored as unrouted.
import type { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UnroutedRecord } from '../../src/intake/service.ts';
import { statusQuery, timelineQuery } from '../../workflows/engine/messages.ts';
import { awaiting, newWorld, startEngineWorker, waitForStatus, type World } from '../support/engine.ts';
import { sandbox, temporalClient, uniqueName } from '../support/servers.ts';
import { fixture, fixtureJson, intakeWithOwnPolicies, postAlert, startTestIntake, testPolicies } from './helpers.ts';

let client: Client;
let taskQueue: string;
let world: World;

beforeAll(async () => {
  client = await temporalClient();
  const connection = await NativeConnection.connect({ address: sandbox().temporalAddress });
  afterAll(() => connection.close());
  world = newWorld();
  ({ taskQueue } = await startEngineWorker(connection, world));
});

/** An intake with policies of their own, so each test's incidents are its own. */
const intake = () => intakeWithOwnPolicies({ client, taskQueue, prefix: 't' });

/** A Falco fixture about a pod of its own, so its correlation key is unused. */
async function falcoAbout(file: string, pod = uniqueName('pod')): Promise<string> {
  const payload = await fixtureJson(file);
  payload.output_fields = { ...(payload.output_fields as object), 'k8s.pod.name': pod };
  delete payload.uuid;
  return JSON.stringify(payload);
}

describe('a Falco alert', () => {
  it('opens an incident of the runbook its rule routes to, and says it is new', async () => {
    const { url, policies } = await intake();
    const r = await postAlert(url, 'falco', await falcoAbout('falco/terminal-shell.json', 'web-1'));
    expect(r.status).toBe(200);
    const [incident] = r.body.alerts?.[0]?.incidents ?? [];
    expect(incident).toMatchObject({ runbook: policies.escape.id, new: true, correlationKey: '-:demo-shop:web-1' });
    expect(incident?.incidentId.startsWith(`${policies.escape.id}.`)).toBe(true);
    const status = await waitForStatus(client.workflow.getHandle(incident!.incidentId), awaiting('isolate'));
    expect(status.trigger).toMatchObject({ source: 'falco', rule: 'Terminal shell in container', severity: 'low' });
    expect(status.targets[0]).toMatchObject({ kind: 'pod', id: 'demo-shop/web-1' });
  });

  it('joins the open incident when it fires again for the same pod, and says it is not new', async () => {
    const { url } = await intake();
    const body = await falcoAbout('falco/terminal-shell.json');
    const first = await postAlert(url, 'falco', body);
    const second = await postAlert(url, 'falco', body);
    const [a, b] = [first.body.alerts?.[0]?.incidents[0], second.body.alerts?.[0]?.incidents[0]];
    expect([a?.new, b?.new]).toEqual([true, false]);
    expect(b?.incidentId).toBe(a?.incidentId);
    expect(b?.runId).toBe(a?.runId);
    const status = await waitForStatus(client.workflow.getHandle(a!.incidentId), (s) => s.counts.alerts === 2);
    expect(status.counts.alerts).toBe(2);
  });

  it('contains without waiting for a human when the policy auto-contains its rule at Critical', async () => {
    const { url } = await intake();
    const r = await postAlert(url, 'falco', await falcoAbout('falco/release-agent-escape.json'));
    const incident = r.body.alerts?.[0]?.incidents[0];
    expect(incident?.autoContain).toEqual(['isolate']);
    const status = await waitForStatus(client.workflow.getHandle(incident!.incidentId), awaiting('cordon'));
    expect(status.steps.find((s) => s.id === 'isolate')).toMatchObject({ status: 'succeeded', settledBy: 'auto-contain' });
    expect(world.of(incident!.incidentId).isolated).toBe(true);
  });

  it('leaves the first gate to a human when no autoContain rule matches', async () => {
    const { url } = await intake();
    const r = await postAlert(url, 'falco', await falcoAbout('falco/terminal-shell.json'));
    const incident = r.body.alerts?.[0]?.incidents[0];
    expect(incident?.autoContain).toEqual([]);
    await waitForStatus(client.workflow.getHandle(incident!.incidentId), awaiting('isolate'));
    expect(world.of(incident!.incidentId).isolated).toBe(false);
  });
});

describe('a dry-run intake', () => {
  it('opens a dry-run incident with an id of its own, while a live intake opens the live one for the same alert (control)', async () => {
    const policies = testPolicies(uniqueName('m').toLowerCase());
    const dry = await startTestIntake({ client, taskQueue, policies: policies.all, mode: 'dry-run' });
    const live = await startTestIntake({ client, taskQueue, policies: policies.all });
    const body = await falcoAbout('falco/terminal-shell.json');
    const [d, l] = [(await postAlert(dry.url, 'falco', body)).body.alerts?.[0]?.incidents[0], (await postAlert(live.url, 'falco', body)).body.alerts?.[0]?.incidents[0]];
    expect([d?.new, l?.new]).toEqual([true, true]);
    expect(d?.incidentId).toContain(`${policies.escape.id}.dry-run.`);
    expect(l?.incidentId).not.toContain('dry-run');
    expect((await client.workflow.getHandle(d!.incidentId).query(statusQuery)).mode).toBe('dry-run');
  });
});

describe('GuardDuty findings', () => {
  it('opens a credential-compromise incident for an IAM access-key finding, targeting the key and the role', async () => {
    const { url, policies } = await intake();
    const r = await postAlert(url, 'guardduty', await fixture('guardduty/iam-credential-exfiltration.json'));
    const incident = r.body.alerts?.[0]?.incidents[0];
    expect(incident).toMatchObject({ runbook: policies.credentials.id, new: true, correlationKey: '123456789012:storefront-node-role' });
    const status = await waitForStatus(client.workflow.getHandle(incident!.incidentId), awaiting('isolate'));
    expect(status.targets).toEqual([
      { kind: 'access-key', id: 'ASIAQWERTYUIOPASDFGH', attributes: { account: '123456789012', principal: 'storefront-node-role', region: 'eu-west-1' } },
      { kind: 'role', id: 'storefront-node-role', attributes: { account: '123456789012' } },
    ]);
  });

  it('joins an EKS runtime finding to the incident a Falco alert opened for the same pod and cluster', async () => {
    const { url } = await intake();
    const falco = await fixtureJson('falco/terminal-shell.json');
    falco.output_fields = { ...(falco.output_fields as object), 'k8s.cluster.name': 'prod-eu' };
    const first = await postAlert(url, 'falco', JSON.stringify(falco));
    const second = await postAlert(url, 'guardduty', await fixture('guardduty/eks-runtime-host-mount.json'));
    expect(second.body.alerts?.[0]?.incidents[0]).toMatchObject({ incidentId: first.body.alerts?.[0]?.incidents[0]?.incidentId, new: false });
  });
});

describe('Alertmanager', () => {
  it('records a resolved alert on the open incident\'s timeline', async () => {
    const { url } = await intake();
    const firing = await postAlert(url, 'alertmanager', await fixture('alertmanager/firing.json'));
    const incidentId = firing.body.alerts?.[0]?.incidents[0]?.incidentId;
    const resolved = await postAlert(url, 'alertmanager', await fixture('alertmanager/resolved.json'));
    expect(resolved.body.alerts?.[0]?.incidents[0]).toMatchObject({ incidentId, recorded: true });
    const handle = client.workflow.getHandle(incidentId!);
    await waitForStatus(handle, (s) => s.counts.events > 0);
    const deadline = Date.now() + 10_000;
    let events = await handle.query(timelineQuery);
    while (!events.some((e) => e.type === 'alert.resolved') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      events = await handle.query(timelineQuery);
    }
    expect(events.find((e) => e.type === 'alert.resolved')?.data).toMatchObject({ source: 'alertmanager', alertId: '7b2e6f1c9d0a3e45' });
  });

  it('stores an alert of the group that matches no runbook as unrouted, and lists it', async () => {
    const { url, service } = await intake();
    const r = await postAlert(url, 'alertmanager', await fixture('alertmanager/firing.json'));
    expect(r.body.alerts?.[1]).toMatchObject({ alertId: 'c41d2a8e7f603b19', unrouted: 'no-matching-runbook', incidents: [] });
    const stored: UnroutedRecord[] = await service.unrouted.list();
    expect(stored.map((s) => [s.alert.id, s.reason])).toEqual([['c41d2a8e7f603b19', 'no-matching-runbook']]);
    expect(stored[0]?.alert).toMatchObject({ raw: { fingerprint: 'c41d2a8e7f603b19' }, shared: { receiver: 'firebreak', groupLabels: { cluster: 'prod-eu' } } });
  });

  it('accepts a group with one alert lacking alertname: 200, the valid alerts open incidents, the bad one is unrouted with its reason', async () => {
    const { url, service, policies } = await intake();
    const r = await postAlert(url, 'alertmanager', await fixture('alertmanager/group-with-invalid-alert.json'));
    expect(r.status).toBe(200);
    const [first, bad, third] = r.body.alerts ?? [];
    expect(first?.incidents[0]).toMatchObject({ runbook: policies.miner.id, new: true, correlationKey: 'prod-eu:batch:report-worker-5c9f7-qz8lm' });
    expect(third?.incidents[0]).toMatchObject({ runbook: policies.miner.id, new: true, correlationKey: 'prod-eu:batch:report-worker-5c9f7-m8n3v' });
    expect(bad).toMatchObject({ alertId: 'e09a7c3b5d1f2468', unrouted: 'invalid-alert', incidents: [], problems: ['alerts[1].labels: expected an "alertname" label'] });
    const stored = await service.unrouted.list();
    expect(stored.map((s) => [s.alert.id, s.reason, s.alert.problems])).toEqual([['e09a7c3b5d1f2468', 'invalid-alert', ['alerts[1].labels: expected an "alertname" label']]]);
  });

  it('still refuses a notification that is not Alertmanager\'s webhook at all (control): 400, nothing stored', async () => {
    const { url, service } = await intake();
    const payload = await fixtureJson('alertmanager/group-with-invalid-alert.json');
    delete payload.version;
    const r = await postAlert(url, 'alertmanager', JSON.stringify(payload));
    expect(r.status).toBe(400);
    expect(r.body.problems?.map((p) => p.path)).toEqual(['version']);
    expect(await service.unrouted.list()).toEqual([]);
  });

  it('stores a resolved alert with no open incident as unrouted instead of dropping it', async () => {
    const { url, service } = await intake();
    const r = await postAlert(url, 'alertmanager', await fixture('alertmanager/resolved.json'));
    expect(r.body.alerts?.[0]).toMatchObject({ unrouted: 'resolved-without-open-incident' });
    expect((await service.unrouted.list()).map((s) => s.reason)).toEqual(['resolved-without-open-incident']);
  });
});

describe('a generic alert', () => {
  it('opens an incident of the runbook its rule routes to', async () => {
    const { url, policies } = await intake();
    const r = await postAlert(url, 'generic', await fixture('generic/leaked-key.json'));
    expect(r.body.alerts?.[0]?.incidents[0]).toMatchObject({ runbook: policies.credentials.id, new: true, correlationKey: '123456789012:demo-ci-deployer' });
  });
});

describe('an alert storm', () => {
  it('turns 1,000 concurrent duplicates of one alert into exactly one incident whose counter reads 1,000', async () => {
    const { url, service } = await intake();
    const body = await falcoAbout('falco/terminal-shell.json');
    const results: Awaited<ReturnType<typeof postAlert>>[] = [];
    let next = 0;
    // 50 requests in flight at a time, on loopback.
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < 1000) {
          next += 1;
          results.push(await postAlert(url, 'falco', body));
        }
      }),
    );
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    const incidents = results.map((r) => r.body.alerts?.[0]?.incidents[0]);
    expect(new Set(incidents.map((i) => `${i?.incidentId} ${i?.runId}`)).size).toBe(1);
    expect(incidents.filter((i) => i?.new === true)).toHaveLength(1);
    const handle = client.workflow.getHandle(incidents[0]!.incidentId);
    const status = await waitForStatus(handle, (s) => s.counts.alerts >= 1000, 60_000);
    expect(status.counts.alerts).toBe(1000);
    expect(service.metrics.value('firebreak_intake_alerts_deduplicated_total', { runbook: incidents[0]!.runbook })).toBe(999);
    expect((await handle.query(statusQuery)).counts.alerts).toBe(1000);
  });
});
