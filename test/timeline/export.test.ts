import { fileURLToPath } from 'node:url';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTimeline, timelineSchemaVersion, type TimelineReport } from '../../src/timeline/report.ts';
import { renderCsv, renderJson, renderMarkdown } from '../../src/timeline/render.ts';
import { decideUpdate, rollbackUpdate, timelineQuery } from '../../workflows/engine/messages.ts';
import { awaiting, newWorld, startEngineWorker, startIncident, testInput, testPolicy, waitForStatus } from '../support/engine.ts';
import { sandbox, temporalClient } from '../support/servers.ts';

const workflowsPath = fileURLToPath(new URL('../fixtures/engine-workflow.ts', import.meta.url));
const world = newWorld();
const client = await temporalClient();
let taskQueue: string;
let connection: NativeConnection;

beforeAll(async () => {
  connection = await NativeConnection.connect({ address: sandbox().temporalAddress });
  afterAll(() => connection.close());
  ({ taskQueue } = await startEngineWorker(connection, world));
});

/** An incident with a decision of each kind, a rollback, and a summary carrying characters that need escaping. */
async function eventfulIncident() {
  const input = testInput(testPolicy(), {
    trigger: { source: 'falco', severity: 'critical', summary: 'Shell | spawned <in> =cmd', receivedAt: '2026-11-28T00:00:00.000Z' },
  });
  const handle = await startIncident(client, taskQueue, input);
  await waitForStatus(handle, awaiting('isolate'));
  await handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate', decision: 'approve', actor: 'cli:bob', reason: 'reverse shell' }] });
  await waitForStatus(handle, awaiting('cordon'));
  await handle.executeUpdate(decideUpdate, { args: [{ step: 'cordon', decision: 'deny', actor: 'cli:carol', reason: 'node hosts the payment DB' }] });
  await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob', reason: 'false positive' }] });
  await waitForStatus(handle, (s) => s.phase === 'rolled-back');
  return handle;
}

describe('timeline export', () => {
  it('reads the timeline from the running incident when a worker answers', async () => {
    const handle = await eventfulIncident();
    const report = await loadTimeline(client, handle.workflowId, { workflowsPath });
    expect(report.source).toBe('query');
    expect(report.status?.phase).toBe('rolled-back');
    expect(report.events).toEqual(await handle.query(timelineQuery));
  });

  it('rebuilds the identical timeline from the event history (same ids and times)', async () => {
    const handle = await eventfulIncident();
    const fromQuery = await handle.query(timelineQuery);
    const report = await loadTimeline(client, handle.workflowId, { workflowsPath, preferHistory: true });
    expect(report.source).toBe('history');
    expect(report.events).toEqual(fromQuery);
  });

  it('falls back to the history when no worker answers the query', async () => {
    // An incident on a task queue no worker polls any more: start it, let a short-lived worker run it, stop that worker.
    const lonely = newWorld();
    const shortLived = await NativeConnection.connect({ address: sandbox().temporalAddress });
    const { taskQueue: lonelyQueue, worker } = await startEngineWorker(shortLived, lonely);
    const handle = await startIncident(client, lonelyQueue, testInput(testPolicy({ isolate: 'none', cordon: 'none' })));
    await waitForStatus(handle, (s) => s.steps.find((x) => x.id === 'cordon')?.status === 'succeeded');
    const expected = await handle.query(timelineQuery);
    worker.shutdown();
    await new Promise<void>((resolve) => {
      const poll = () => (worker.getState() === 'STOPPED' ? resolve() : setTimeout(poll, 50));
      poll();
    });
    const report = await loadTimeline(client, handle.workflowId, { workflowsPath, queryTimeoutMs: 1500 });
    expect(report.source).toBe('history');
    expect(report.workflowStatus).toBe('running');
    expect(report.events).toEqual(expected);
    await client.workflow.getHandle(handle.workflowId).terminate('test finished');
  });

  describe('formats', () => {
    let report: TimelineReport;
    beforeAll(async () => {
      const handle = await eventfulIncident();
      report = await loadTimeline(client, handle.workflowId, { workflowsPath });
    });

    it('Markdown: a post-incident report with summary, targets, UTC timeline, decisions, actions, evidence, rollback and follow-ups', () => {
      const md = renderMarkdown(report);
      for (const heading of ['## Summary', '## Key times', '### Waiting on approval', '## Impact and targets', '## Timeline (UTC)', '## Decisions', '## Actions and results', '## Evidence', '## Rollback', '## Open follow-ups']) {
        expect(md).toContain(heading);
      }
      expect(md).toMatch(/\| \d{4}-\d\d-\d\dT[\d:.]+Z \| isolate \| cli:bob \| granted \| Approved \(1 of 1\): reverse shell \|/);
      expect(md).toMatch(/\| cordon \| cli:carol \| denied \| Denied: node hosts the payment DB \|/);
      expect(md).toContain(`| pod.json | ${'a'.repeat(64)} | 42 |`);
      expect(md).toContain('Rollback finished: 1 undone, 0 failed');
      expect(md).toContain('Shell \\| spawned &lt;in> =cmd');
      expect(md).toContain('The incident is still open');
    });

    it('names the workflow the incident runs (whose catalog entry gives the report its containment steps)', () => {
      expect(report.workflow).toBe('engineTestWorkflow');
    });

    it('Markdown: the key times of a real incident: detected at the start, acknowledged by the first vote', () => {
      const md = renderMarkdown(report);
      const firstVote = report.events.find((e) => e.type === 'approval.granted')!;
      expect(md).toContain(`| Detected | ${report.events[1]!.at} | +0s |`);
      expect(md).toMatch(new RegExp(`\\| Acknowledged \\| ${firstVote.at.replace(/\./g, '\\.')} \\| \\+\\d`));
      expect(md).toMatch(/\| isolate \| approve \| cli:bob \| [^|]+ \| \d+(ms|s) \| 0 \| no \|/);
    });

    it(`JSON: the versioned ${timelineSchemaVersion} document`, () => {
      const doc = JSON.parse(renderJson(report)) as TimelineReport;
      expect(doc.schema).toBe('firebreak.timeline/v1');
      expect(doc.incidentId).toBe(report.incidentId);
      expect(doc.events.map((e) => e.seq)).toEqual(report.events.map((_, i) => i + 1));
      expect(doc.events[0]).toMatchObject({ type: 'incident.opened', id: `${report.incidentId}#0001` });
    });

    it('CSV: a header and one quoted row per event, formulas neutralised', () => {
      const csv = renderCsv(report);
      const lines = csv.trimEnd().split('\r\n');
      expect(lines[0]).toBe('"seq","id","time","type","step","actor","description","data","drill"');
      expect(lines).toHaveLength(report.events.length + 1);
      expect(lines[1]).toMatch(/^"1","[^"]+#0001","\d{4}-[^"]+","incident.opened",/);
      expect(csv).toContain('"Alert from falco (critical): Shell | spawned <in> =cmd"');
      expect(csv).not.toMatch(/,"=/);
    });
  });
});
