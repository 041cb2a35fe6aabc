// Alertmanager groups as a real Alertmanager sends them: the group's fields
// are stored once per request, a request is stored whole or not at all, and a
// resend of a group (every notification and repeat interval) is not counted
// again.
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { normaliseBody } from '../../src/intake/normalise.ts';
import { routeAlert } from '../../src/intake/router.ts';
import { RecordTooLargeError } from '../../src/intake/store.ts';
import { renderMarkdown } from '../../src/timeline/render.ts';
import { timelineSchemaVersion } from '../../src/timeline/report.ts';
import { statusQuery, timelineQuery } from '../../workflows/engine/messages.ts';
import { engineOnDevServer, newWorld, waitForStatus } from '../support/engine.ts';
import { temporalClient, uniqueName } from '../support/servers.ts';
import { intakeWithOwnPolicies, postAlert } from './helpers.ts';

let client: Client;
let taskQueue: string;

beforeAll(async () => {
  client = await temporalClient();
  taskQueue = await engineOnDevServer(newWorld());
});

const intake = () => intakeWithOwnPolicies({ client, taskQueue, prefix: 'g' });

interface AmAlert {
  alertname: string;
  pod: string;
  fingerprint: string;
  startsAt?: string;
}

/** An Alertmanager v4 notification of one group, as Alertmanager 0.2x sends it. */
function group(alerts: AmAlert[], shared: { commonAnnotations?: Record<string, string> } = {}): string {
  return JSON.stringify({
    receiver: 'firebreak',
    status: 'firing',
    alerts: alerts.map((a) => ({
      status: 'firing',
      labels: { alertname: a.alertname, cluster: 'prod-eu', namespace: 'batch', pod: a.pod, severity: 'critical' },
      annotations: { summary: `${a.alertname} on batch/${a.pod}` },
      startsAt: a.startsAt ?? '2026-11-28T14:50:00.000Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.monitoring:9090/graph?g0.expr=security_cryptominer_score+%3E+0.9',
      fingerprint: a.fingerprint,
    })),
    groupLabels: { namespace: 'batch' },
    commonLabels: { cluster: 'prod-eu', namespace: 'batch', severity: 'critical' },
    commonAnnotations: shared.commonAnnotations ?? {},
    externalURL: 'http://alertmanager.monitoring:9093',
    version: '4',
    groupKey: '{}:{namespace="batch"}',
    truncatedAlerts: 0,
  });
}

const miner = 'KubePodCryptominerSuspected';
const fingerprint = (i: number) => i.toString(16).padStart(16, '0');

/** The incident's Markdown report, as `firebreak timeline --format md` renders it from the running incident, and its status. */
async function reportOf(incidentId: string) {
  const handle = client.workflow.getHandle(incidentId);
  const [status, events] = [await handle.query(statusQuery), await handle.query(timelineQuery)];
  return { status, report: renderMarkdown({ schema: timelineSchemaVersion, incidentId, source: 'query', workflowStatus: 'running', status, events, generatedAt: new Date().toISOString() }) };
}

async function bytesIn(dir: string): Promise<number> {
  const files = await readdir(path.join(dir, 'intake'));
  const sizes = await Promise.all(files.map(async (f) => (await stat(path.join(dir, 'intake', f))).size));
  return sizes.reduce((a, b) => a + b, 0);
}

describe('the group\'s fields of an Alertmanager notification', () => {
  it('are stored once per request: a 500 KB group of 100 alerts writes about its own size, not 100 copies', async () => {
    const { url, dataDir, service } = await intake();
    const pod = uniqueName('miner').toLowerCase();
    // Half route to one incident (outbox and archive), half match no runbook (unrouted).
    const alerts = Array.from({ length: 100 }, (_, i) => ({ alertname: i % 2 === 0 ? miner : 'KubePodCrashLooping', pod, fingerprint: fingerprint(i) }));
    const body = group(alerts, { commonAnnotations: { runbook_url: 'https://runbooks.example.com/', description: 'x'.repeat(500_000) } });
    const before = await bytesIn(dataDir);
    const r = await postAlert(url, 'alertmanager', body);
    expect(r.status).toBe(200);
    const written = (await bytesIn(dataDir)) - before;
    // One copy in the unrouted store and one in the archive, plus the alerts themselves.
    expect(written).toBeLessThan(3 * Buffer.byteLength(body));
    const stored = await service.unrouted.list();
    expect(stored).toHaveLength(50);
    expect(stored[49]?.alert.shared).toMatchObject({ receiver: 'firebreak', externalURL: 'http://alertmanager.monitoring:9093', commonAnnotations: { runbook_url: 'https://runbooks.example.com/' } });
  });
});

describe('a notification that cannot be stored whole', () => {
  it('is answered 503 and leaves nothing behind: no unrouted record, no incident, nothing pending; the retry is stored once', async () => {
    const { url, dataDir, service, policies } = await intake();
    const pod = uniqueName('miner').toLowerCase();
    const body = group([
      { alertname: miner, pod, fingerprint: fingerprint(1) },
      { alertname: 'KubePodCrashLooping', pod, fingerprint: fingerprint(2) },
    ]);
    // The archive cannot be written (a directory where its file belongs); the outbox and unrouted store can.
    const archive = path.join(dataDir, 'intake', 'alerts.jsonl');
    await mkdir(archive, { recursive: true });
    const refused = await postAlert(url, 'alertmanager', body);
    expect(refused.status).toBe(503);
    expect(await service.unrouted.list()).toEqual([]);
    expect(service.outbox.pending).toBe(0);
    const [incidentId] = routeAlert(normaliseBody('alertmanager', body, new Date().toISOString())[0]!, policies.all).map((r) => r.incidentId);
    await expect(client.workflow.getHandle(incidentId!).describe()).rejects.toThrow(/not found/i);

    await rm(archive, { recursive: true });
    const retried = await postAlert(url, 'alertmanager', body);
    expect(retried.status).toBe(200);
    expect(retried.body.alerts?.[0]?.incidents[0]).toMatchObject({ incidentId, new: true });
    expect((await service.unrouted.list()).map((s) => s.alert.id)).toEqual([fingerprint(2)]);
  });

  it('is refused as too large, not "retry", when a record can never be stored', async () => {
    const { service } = await intake();
    const [alert] = normaliseBody('alertmanager', group([{ alertname: 'KubePodCrashLooping', pod: 'web-1', fingerprint: fingerprint(3) }]), new Date().toISOString());
    const huge = { ...alert!, summary: 'x'.repeat(17 * 1024 * 1024) };
    await expect(service.accept([huge])).rejects.toBeInstanceOf(RecordTooLargeError);
    expect(await service.unrouted.list()).toEqual([]);
  });
});

describe('an Alertmanager group resent on every notification and repeat interval', () => {
  it('counts each alert once: the same two-alert group posted 19 times makes 2 alerts, and status and the report agree', async () => {
    const { url } = await intake();
    const pod = uniqueName('miner').toLowerCase();
    const body = group([
      { alertname: miner, pod, fingerprint: fingerprint(10) },
      { alertname: miner, pod, fingerprint: fingerprint(11) },
    ]);
    const answers = [];
    for (let i = 0; i < 19; i++) answers.push(await postAlert(url, 'alertmanager', body));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers[18]?.body.alerts?.map((a) => a.incidents[0]?.delivery)).toEqual(['resend', 'resend']);
    const incidentId = answers[0]!.body.alerts![0]!.incidents[0]!.incidentId;
    const handle = client.workflow.getHandle(incidentId);
    const first = await waitForStatus(handle, (s) => s.counts.alerts >= 2);
    await new Promise((r) => setTimeout(r, 1500)); // anything still queued would arrive by now
    const { status, report } = await reportOf(incidentId);
    expect([first.counts.alerts, status.counts.alerts]).toEqual([2, 2]);
    expect(report).toContain('Alerts: 2;');
  });

  it('counts a new firing (a new startsAt) of the same alert again (control)', async () => {
    const { url } = await intake();
    const pod = uniqueName('miner').toLowerCase();
    const first = await postAlert(url, 'alertmanager', group([{ alertname: miner, pod, fingerprint: fingerprint(20) }]));
    await postAlert(url, 'alertmanager', group([{ alertname: miner, pod, fingerprint: fingerprint(20), startsAt: '2026-11-28T16:00:00.000Z' }]));
    const handle = client.workflow.getHandle(first.body.alerts![0]!.incidents[0]!.incidentId);
    expect((await waitForStatus(handle, (s) => s.counts.alerts === 2)).counts.alerts).toBe(2);
  });

  it('gives the report the alert count status shows when several alerts join in one delivery', async () => {
    const { url } = await intake();
    const pod = uniqueName('miner').toLowerCase();
    const r = await postAlert(url, 'alertmanager', group([0, 1, 2, 3].map((i) => ({ alertname: miner, pod, fingerprint: fingerprint(30 + i) }))));
    const incidentId = r.body.alerts![0]!.incidents[0]!.incidentId;
    await waitForStatus(client.workflow.getHandle(incidentId), (s) => s.counts.alerts === 4);
    const { status, report } = await reportOf(incidentId);
    expect(report).toContain(`Alerts: ${status.counts.alerts};`);
  });
});
