/**
 * Intake benchmark (not a test): posts 10,000 Falco alerts across 50
 * correlation keys (pods) with bounded concurrency to a real intake server
 * delivering to a real Temporal dev server and worker, then prints sustained
 * alerts/s, p50/p99 acknowledgement latency, incidents started (must be 50) and
 * alerts counted on the incidents' timelines (must be 10,000).
 *
 *   npm run bench:intake [-- --alerts 10000 --keys 50 --concurrency 20]
 *
 * Target on a 2-core machine: >= 500 alerts/s, p99 <= 100 ms, zero lost.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { post } from './http-post.ts';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { temporalDelivery } from '../src/intake/deliver.ts';
import { IntakeService } from '../src/intake/service.ts';
import { startIntakeServer } from '../src/intake/server.ts';
import { runbookPolicy } from '../src/runbooks/schema.ts';
import { startSandbox } from '../src/sandbox/servers.ts';
import { ensureTools } from '../src/sandbox/tools.ts';
import { statusQuery } from '../workflows/engine/messages.ts';

const { values } = parseArgs({
  options: {
    alerts: { type: 'string', default: '10000' },
    keys: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '20' },
  },
});
const total = Number(values.alerts);
const keys = Number(values.keys);
const concurrency = Number(values.concurrency);

const repoRoot = new URL('../', import.meta.url).pathname;
const token = randomBytes(24).toString('hex');
const silent = pino({ level: 'silent' });

/** The smallest runbook workflow: an incident that records alerts and stays open. */
const benchWorkflowSource = `
import { Incident } from ${JSON.stringify(join(repoRoot, 'workflows/engine/incident.ts'))};
export async function benchIncident(input) {
  const incident = Incident.open(input, { steps: ['watch'] });
  await incident.finish();
}
`;

const policy = runbookPolicy.parse({
  id: 'bench',
  version: 1,
  title: 'Intake benchmark',
  summary: 'Counts alerts',
  workflow: 'benchIncident',
  triggers: [{ source: 'falco', rules: ['Terminal shell in container'] }],
  steps: [{ id: 'watch', description: 'nothing', gate: 'none' }],
  rollback: { gate: 'none' },
});

function falcoAlert(pod: number): string {
  return JSON.stringify({
    uuid: randomUUID(),
    output: `12:00:00.000000000: Notice A shell was spawned in a container with an attached terminal (k8s_pod_name=bench-${pod})`,
    priority: 'Notice',
    rule: 'Terminal shell in container',
    time: new Date().toISOString(),
    source: 'syscall',
    hostname: 'bench-node',
    tags: ['container', 'shell'],
    output_fields: { 'k8s.ns.name': 'bench', 'k8s.pod.name': `bench-${pod}`, 'container.name': 'app', 'proc.cmdline': 'bash' },
  });
}

/** POSTs on a keep-alive connection pool (lighter than fetch, so the client steals less CPU from the server it measures). */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  Runtime.install({ logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });
  const tools = await ensureTools((line) => console.error(`[tools] ${line}`));
  const sandbox = await startSandbox({ tools, ownerId: `bench-${process.pid}-${randomBytes(4).toString('hex')}`, temporal: {} });
  await mkdir(join(repoRoot, 'data'), { recursive: true });
  const workflowDir = await mkdtemp(join(repoRoot, 'data', 'bench-'));
  try {
    const address = sandbox.temporal!.address;
    const workflowsPath = join(workflowDir, 'bench-workflow.ts');
    await writeFile(workflowsPath, benchWorkflowSource);
    const nativeConnection = await NativeConnection.connect({ address });
    const taskQueue = 'bench';
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath, logger: Runtime.instance().logger }),
      maxCachedWorkflows: keys * 2,
      // The engine announces every incident; nobody is listening here.
      activities: { notify: () => Promise.resolve(undefined) },
    });
    const running = worker.run();
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const dataDir = join(workflowDir, 'data');
    const service = new IntakeService({ delivery: temporalDelivery(client), policies: [policy], groups: {}, taskQueue, dataDir, log: silent });
    await service.start();
    const server = await startIntakeServer({
      service,
      auth: { falco: { mode: 'bearer', token } },
      ready: () => Promise.resolve(),
      log: silent,
      host: '127.0.0.1',
      port: 0,
    });

    console.error(`Posting ${total} alerts across ${keys} pods, ${concurrency} in flight, to ${server.url} …`);
    const latencies: number[] = [];
    const incidents = new Map<string, number>();
    let started = 0;
    let failed = 0;
    let queued = 0;
    let next = 0;
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    const url = new URL('/v1/alerts/falco', server.url);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          const i = next++;
          const body = falcoAlert(i % keys);
          const s = performance.now();
          const res = await post(agent, url, { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body);
          const json = JSON.parse(res.text) as { alerts?: { incidents: { incidentId: string; new?: boolean; delivery?: string }[] }[] };
          latencies.push(performance.now() - s);
          const incident = json.alerts?.[0]?.incidents[0];
          if (res.status !== 200 || incident === undefined) {
            failed += 1;
            continue;
          }
          incidents.set(incident.incidentId, (incidents.get(incident.incidentId) ?? 0) + 1);
          if (incident.new === true) started += 1;
          if (incident.delivery === 'queued') queued += 1;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;

    // Wait (bounded) until every incident's status has counted what it was sent.
    let counted = 0;
    const deadline = Date.now() + 60_000;
    do {
      counted = 0;
      for (const id of incidents.keys()) counted += (await client.workflow.getHandle(id).query(statusQuery)).counts.alerts;
      if (counted >= total - failed) break;
      await new Promise((r) => setTimeout(r, 200));
    } while (Date.now() < deadline);
    const onTimelines = (performance.now() - t0) / 1000;

    latencies.sort((a, b) => a - b);
    const lines = [
      '',
      `alerts posted             ${total} (${failed} not acknowledged with 200)`,
      `duration                  ${seconds.toFixed(2)} s`,
      `sustained                 ${(total / seconds).toFixed(0)} alerts/s`,
      `ack latency p50 / p99     ${percentile(latencies, 50).toFixed(1)} ms / ${percentile(latencies, 99).toFixed(1)} ms (max ${latencies.at(-1)?.toFixed(1)} ms)`,
      `acknowledged as queued    ${queued} (on the disk, delivered in the background; the rest waited for Temporal)`,
      `incidents started         ${started} (distinct incident ids ${incidents.size}; expected ${keys})`,
      `alerts counted on status  ${counted} (expected ${total}; lost ${total - counted}), all counted ${onTimelines.toFixed(2)} s after the first post`,
      '',
    ];
    console.log(lines.join('\n'));

    for (const id of incidents.keys()) await client.workflow.getHandle(id).terminate('benchmark finished');
    agent.destroy();
    await server.close();
    await service.close();
    await connection.close();
    worker.shutdown();
    await running;
    await nativeConnection.close();
    process.exitCode = started === keys && counted === total && failed === 0 ? 0 : 1;
  } finally {
    await rm(workflowDir, { recursive: true, force: true });
    await sandbox.stop();
  }
}

await main();
