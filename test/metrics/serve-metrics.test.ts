/**
 * Prometheus /metrics of the real `firebreak serve` (worker role) after a
 * container-escape incident on the real kube-apiserver: isolation auto-contains,
 * the node's cordon waits for approval. The scrape must show the SDK's own
 * metrics and Firebreak's: actions by outcome, time to first containment,
 * open incidents and pending approvals with their age. The namespace is the
 * file's own, so the gauges count exactly this file's incidents: the scored
 * one, and one that no worker serves, whose gates cannot be read.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/net/ports.ts';
import { awaiting, waitForStatus } from '../support/engine.ts';
import { sandboxWorkerEnv, spawnServe } from '../support/serve.ts';
import { sandbox, temporalClient, testNamespace, uniqueName } from '../support/servers.ts';
import { falcoEvent, fromFalco, policy, seedWorkload, startEscape } from '../kubernetes/support.ts';

const shared = await temporalClient();
const namespace = uniqueName('metrics-ns');
await shared.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
const client = new Client({ connection: shared.connection, namespace });

/** The samples of a Prometheus text exposition: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

function sample(all: Map<string, number>, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const [key, value] of all) {
    const brace = key.indexOf('{');
    const n = brace === -1 ? key : key.slice(0, brace);
    if (n === name && want.every((w) => key.includes(w))) return value;
  }
  return undefined;
}

let scratch: string;
let serve: ReturnType<typeof spawnServe>;
let metricsUrl: string;
let scraped: Map<string, number>;
let text: string;
let scrapeMs: number;

beforeAll(async () => {
  const info = sandbox();
  const taskQueue = uniqueName('metrics');
  scratch = await mkdtemp(path.join(tmpdir(), 'firebreak-metrics-'));
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  serve = spawnServe({
    TEMPORAL_ADDRESS: info.temporalAddress,
    TEMPORAL_NAMESPACE: namespace,
    FIREBREAK_TASK_QUEUE: taskQueue,
    FIREBREAK_ROLES: 'worker',
    FIREBREAK_METRICS_PORT: String(port),
    FIREBREAK_DATA_DIR: path.join(scratch, 'data'),
    FIREBREAK_EVIDENCE_DIR: path.join(scratch, 'evidence'),
    ...sandboxWorkerEnv({ kubeconfigPath: info.kubeconfigPath, awsEndpoint: info.motoEndpoint }),
  });
  await serve.log('"worker started"', (l) => l.msg === 'worker started', 90_000);

  // An incident on a task queue no worker polls: its timeline query never answers.
  await client.workflow.start('containerEscape', { taskQueue: uniqueName('no-worker'), workflowId: uniqueName('orphan'), args: [] });

  const w = await seedWorkload(await testNamespace('metrics'));
  const p = await policy({ 'cordon-node': { approvers: ['cli:alice'], required: 1, timeout: '1h', onTimeout: 'deny' } });
  const handle = await startEscape(client, taskQueue, fromFalco(p, falcoEvent(w, w.pods[0])));
  await waitForStatus(handle, awaiting('cordon-node'), 60_000);
  // The first-containment histogram is fed by a timeline read after the action lands: scrape until it shows (bounded).
  const deadline = Date.now() + 20_000;
  for (;;) {
    const began = performance.now();
    text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(30_000) })).text();
    scrapeMs ??= performance.now() - began;
    scraped = samples(text);
    if ((sample(scraped, 'firebreak_time_to_first_containment_seconds_count', { runbook: 'containerEscape' }) ?? 0) >= 1 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
}, 150_000);

afterAll(async () => {
  serve.child.kill('SIGTERM');
  await serve.exit(40_000).catch(() => serve.kill());
  await rm(scratch, { recursive: true, force: true });
});

describe('firebreak serve /metrics (FIREBREAK_METRICS_PORT set)', () => {
  it("serves the Temporal SDK's own worker metrics", () => {
    expect(text).toMatch(/^temporal_\w+/m);
    expect(sample(scraped, 'temporal_worker_task_slots_available', { worker_type: 'ActivityWorker' })).toBeGreaterThan(0);
  });

  it('counts the actions this worker finished by runbook, step and outcome', () => {
    expect(sample(scraped, 'firebreak_actions_total', { runbook: 'containerEscape', step: 'isolate-pod', outcome: 'succeeded' })).toBeGreaterThanOrEqual(1);
    // Control: the cordon waits for approval, so no cordon action has finished.
    expect(sample(scraped, 'firebreak_actions_total', { step: 'cordon-node' })).toBeUndefined();
  });

  it("observes the incident's time to first containment once", () => {
    expect(sample(scraped, 'firebreak_time_to_first_containment_seconds_count', { runbook: 'containerEscape' })).toBe(1);
    const seconds = sample(scraped, 'firebreak_time_to_first_containment_seconds_sum', { runbook: 'containerEscape' })!;
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(60);
  });

  it('counts both incidents open, from visibility, though one has no worker', () => {
    expect(sample(scraped, 'firebreak_open_incidents', { runbook: 'containerEscape' })).toBe(2);
    expect(sample(scraped, 'firebreak_open_incidents', { runbook: 'credentialCompromise' })).toBe(0);
  });

  it('shows the read incident’s gate pending, with the age of the oldest pending gate', () => {
    expect(sample(scraped, 'firebreak_pending_approvals', { runbook: 'containerEscape' })).toBe(1);
    expect(sample(scraped, 'firebreak_oldest_pending_approval_seconds', { runbook: 'containerEscape' })).toBeGreaterThan(0);
  });

  it('counts the incident no worker answers for as unread, and answers the scrape within its 5 s budget rather than waiting for it', () => {
    expect(sample(scraped, 'firebreak_pending_approvals_unread')).toBe(1);
    // The budget plus the visibility reads and the SDK's text: far under Prometheus' 10 s scrape timeout.
    expect(scrapeMs).toBeLessThan(8_000);
  });

  it('answers 404 off /metrics, naming where the metrics are', async () => {
    const res = await fetch(metricsUrl.replace('/metrics', '/'));
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/\/metrics/);
  });
});
