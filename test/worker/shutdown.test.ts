/**
 * Graceful shutdown of the real `firebreak serve`: on SIGTERM the worker stops
 * polling, lets the activity it is running finish and report, and the process
 * exits 0. The workflow loses nothing: a worker started afterwards (as in a
 * rolling deploy) finishes it from history without running any activity again.
 *
 * To have an activity in flight at the signal without guessing at timings,
 * the worker's AWS endpoint is a proxy in front of moto that holds requests
 * until the test lets them through: `checkAws` is known to be running once its
 * STS call reaches the proxy, and is released only after the worker has logged
 * that it is shutting down.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createWorker } from '../../src/worker/index.ts';
import type { PreflightReport } from '../../workflows/preflight.ts';
import { testDeps } from '../support/deps.ts';
import { sandboxWorkerEnv, spawnServe } from '../support/serve.ts';
import { sandbox, temporalClient, uniqueName } from '../support/servers.ts';

/** The worker's shutdown grace time (src/worker/index.ts): in-flight work gets this long to finish. */
const graceMs = 30_000;

/** An HTTP proxy to `upstream` that holds every request until `release()`. */
async function holdingProxy(upstream: string) {
  const seen: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const upstreamRequest = request(new URL(req.url ?? '/', upstream), { method: req.method, headers: req.headers }, (upstreamResponse) => {
      res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
      upstreamResponse.pipe(res);
    });
    upstreamRequest.on('error', (e) => res.writeHead(502).end(e.message));
    req.pipe(upstreamRequest);
  };
  const server = createServer((req, res) => {
    seen.push(`${req.method ?? '?'} ${req.url ?? '/'}`);
    void released.then(() => forward(req, res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** The requests received so far, held or not. */
    seen,
    release: () => release(),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const client = await temporalClient();

describe('firebreak serve on SIGTERM', () => {
  it('finishes the in-flight activity, logs "worker stopped" and exits 0; a later worker completes the workflow', async () => {
    const info = sandbox();
    const taskQueue = uniqueName('shutdown');
    const scratch = await mkdtemp(path.join(tmpdir(), 'firebreak-shutdown-'));
    const proxy = await holdingProxy(info.motoEndpoint);

    const serve = spawnServe({
      TEMPORAL_ADDRESS: info.temporalAddress,
      TEMPORAL_NAMESPACE: info.temporalNamespace,
      FIREBREAK_TASK_QUEUE: taskQueue,
      // debug shows the SDK's worker state changes, which say when the shutdown began.
      FIREBREAK_LOG_LEVEL: 'debug',
      FIREBREAK_DATA_DIR: path.join(scratch, 'data'),
      FIREBREAK_EVIDENCE_DIR: path.join(scratch, 'evidence'),
      ...sandboxWorkerEnv({ kubeconfigPath: info.kubeconfigPath, awsEndpoint: proxy.url }),
    });
    try {
      await serve.log('"worker started"', (l) => l.msg === 'worker started', 90_000);
      const handle = await client.workflow.start('preflight', { taskQueue, workflowId: uniqueName('preflight') });
      await serve.until('checkAws to run (its STS call reaching the holding proxy)', () => (proxy.seen.length > 0 ? true : undefined), 30_000);

      expect(serve.child.kill('SIGTERM')).toBe(true);
      const signalledAt = Date.now();
      await serve.log(
        'the worker changing state to STOPPING',
        (l) => l.msg === 'Worker state changed' && (l.state === 'STOPPING' || l.state === 'DRAINING'),
        10_000,
      );
      // The worker is shutting down with checkAws still waiting on AWS; let its call through.
      proxy.release();

      expect(await serve.exit(graceMs + 5_000)).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalledAt).toBeLessThan(graceMs);
      expect(serve.lines.map((l) => l.msg)).toContain('worker stopped');
      expect(serve.lines.filter((l) => l.msg === 'Worker state changed').map((l) => l.state)).toEqual(
        expect.arrayContaining(['STOPPING', 'DRAINING', 'DRAINED', 'STOPPED']),
      );

      // The activity that was running at the signal completed in the serving process, once: not failed, timed out or retried.
      // Read until the completion shows (the serving process reported it before exiting; allow the server a moment under load).
      let events = (await handle.fetchHistory()).events ?? [];
      const awsScheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'checkAws');
      expect(awsScheduled, 'checkAws was scheduled').toBeDefined();
      const forAws = (id: unknown) => String(id) === String(awsScheduled!.eventId);
      for (let tries = 0; tries < 50 && !events.some((e) => forAws(e.activityTaskCompletedEventAttributes?.scheduledEventId)); tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        events = (await handle.fetchHistory()).events ?? [];
      }
      const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes);
      const completed = events.find((e) => forAws(e.activityTaskCompletedEventAttributes?.scheduledEventId));
      const started = events.find((e) => forAws(e.activityTaskStartedEventAttributes?.scheduledEventId));
      expect(completed?.activityTaskCompletedEventAttributes?.identity).toBe(`${serve.child.pid}@${hostname()}`);
      expect(started?.activityTaskStartedEventAttributes?.attempt).toBe(1);
      expect(events.some((e) => e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes ?? e.activityTaskCanceledEventAttributes)).toBe(false);
      expect(proxy.seen).toHaveLength(1);

      // No lost work: a replacement worker on the same task queue finishes the workflow from history.
      const { worker, connection } = await createWorker({
        config: { TEMPORAL_ADDRESS: info.temporalAddress, TEMPORAL_NAMESPACE: info.temporalNamespace, FIREBREAK_TASK_QUEUE: taskQueue },
        deps: await testDeps(),
      });
      let report: PreflightReport;
      try {
        report = (await worker.runUntil(handle.result())) as PreflightReport;
      } finally {
        await connection.close();
      }
      expect(report).toMatchObject({ ok: true, checks: [{ system: 'kubernetes', ok: true }, { system: 'aws', ok: true }] });
      const after = (await handle.fetchHistory()).events ?? [];
      expect(after.filter((e) => e.activityTaskScheduledEventAttributes)).toHaveLength(scheduled.length);
    } finally {
      await serve.kill();
      await proxy.close();
      await rm(scratch, { recursive: true, force: true });
    }
  }, 180_000);
});
