/**
 * Slack chaos (not a test): Slack's Web API (the local stub) answers every
 * call 429 (with Retry-After) or 5xx for `--minutes`, while incidents open on
 * a real Temporal dev server and worker (the real Slack notifier and Web API
 * client) and an operator answers their gates with `firebreak approve`. Then
 * Slack recovers, and the script waits until everything is posted and prints:
 * approval requests and timeline batches meant / accepted / doubled, timeline
 * events posted, CLI decisions made during the outage and their latency, and
 * this process's RSS (worker, stub) before and after.
 *
 *   npm run chaos:slack [-- --minutes 10 --retry-after 5 --incidents 20]
 *
 * Exits 1 when anything was lost or doubled. The Bolt app is not started:
 * gates are answered from the CLI, which is the claim.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { SlackApi } from '../activities/slack/index.ts';
import { runbookPolicy } from '../src/runbooks/schema.ts';
import { runSlackOutage } from '../src/sandbox/slack-outage.ts';
import { SlackStub, stubToken } from '../src/sandbox/slack-stub.ts';
import { startSandbox } from '../src/sandbox/servers.ts';
import { ensureTools } from '../src/sandbox/tools.ts';
import { slackNotifier } from '../src/slack/notifier.ts';
import { slackWebClient } from '../src/wiring/clients.ts';
import type { IncidentInput } from '../workflows/engine/types.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'retry-after': { type: 'string', default: '5' },
    incidents: { type: 'string' },
  },
});
const minutes = Number(values.minutes);
const retryAfter = Number(values['retry-after']);
const incidents = values.incidents === undefined ? undefined : Number(values.incidents);
if (!(minutes > 0) || !(retryAfter >= 1) || (incidents !== undefined && !(incidents >= 1))) {
  throw new Error('chaos:slack: --minutes must be > 0, --retry-after >= 1 (seconds), --incidents >= 1');
}

const repoRoot = new URL('../', import.meta.url).pathname;
const execFileP = promisify(execFile);

/** Evidence first (the engine refuses an action before it), two gated steps with no-op actions, then held open as a real runbook is. */
const chaosWorkflowSource = `
import { proxyActivities } from '@temporalio/workflow';
import { Incident } from ${JSON.stringify(join(repoRoot, 'workflows/engine/incident.ts'))};
const acts = proxyActivities({ startToCloseTimeout: '10 seconds' });
export async function chaosIncident(input) {
  const incident = Incident.open(input, { steps: ['collect', 'isolate', 'cordon'] });
  await incident.gated('collect', async () => {
    await incident.evidence(() => acts.seal(input.incidentId), 'collect');
  });
  for (const step of ['isolate', 'cordon']) {
    await incident.gated(step, async () => {
      await incident.act(step, { action: step, target: 'pod:chaos/web-1', run: () => acts.act(input.incidentId, step), compensate: { action: 'undo ' + step, run: () => acts.undo(input.incidentId, step) } });
    });
  }
  return incident.finish();
}
`;

const gate = { approvers: ['cli:bob', 'U0BOB'], required: 1, twoPerson: true, timeout: '2h', onTimeout: 'deny' };
const policy = runbookPolicy.parse({
  id: 'chaos-slack',
  version: 1,
  title: 'Slack chaos',
  summary: 'Two gated steps while Slack is down',
  workflow: 'chaosIncident',
  steps: [
    { id: 'collect', description: 'seal the pod spec', gate: 'none' },
    { id: 'isolate', description: 'quarantine the pod', gate },
    { id: 'cordon', description: 'cordon the node', gate },
  ],
  rollback: { gate: 'none' },
});

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
  return `p50 ${at(50)} ms, p99 ${at(99)} ms, max ${s.at(-1) ?? NaN} ms`;
};

async function main(): Promise<void> {
  Runtime.install({ logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });
  const tools = await ensureTools((line) => console.error(`[tools] ${line}`));
  const sandbox = await startSandbox({ tools, ownerId: `chaos-slack-${process.pid}-${randomBytes(4).toString('hex')}`, temporal: {} });
  await mkdir(join(repoRoot, 'data'), { recursive: true });
  const workflowDir = await mkdtemp(join(repoRoot, 'data', 'chaos-slack-'));
  const stub = await new SlackStub().start();
  try {
    const { address, namespace } = sandbox.temporal!;
    const workflowsPath = join(workflowDir, 'chaos-workflow.ts');
    await writeFile(workflowsPath, chaosWorkflowSource);
    const effects = new Map<string, number>();
    const nativeConnection = await NativeConnection.connect({ address });
    const taskQueue = 'chaos-slack';
    const notifier = slackNotifier(new SlackApi(slackWebClient({ token: stubToken, apiUrl: stub.url })), pino({ level: 'silent' }));
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath, logger: Runtime.instance().logger }),
      activities: {
        notify: async (n: Parameters<typeof notifier.send>[0]) => (await notifier.send(n)) ?? undefined,
        act: (incidentId: string, step: string) => {
          effects.set(`${incidentId}/${step}`, (effects.get(`${incidentId}/${step}`) ?? 0) + 1);
          return Promise.resolve({ outcome: 'changed', detail: `${step} done` });
        },
        seal: (incidentId: string) => Promise.resolve({ name: 'pod.json', sha256: 'a'.repeat(64), bytes: 42, uri: `file:///evidence/${incidentId}/pod.json` }),
        undo: (_incidentId: string, step: string) => Promise.resolve(`${step} undone`),
      },
    });
    const running = worker.run();
    const connection = await Connection.connect({ address });
    const client = new Client({ connection, namespace });
    const cliEnv = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, FIREBREAK_OPERATOR: 'bob' };

    const rssBefore = process.memoryUsage().rss;
    const t0 = Date.now();
    const report = await runSlackOutage({
      stub,
      client,
      outageMs: minutes * 60_000,
      retryAfterSeconds: retryAfter,
      ...(incidents === undefined ? {} : { incidents }),
      open: (n) => {
        const input: IncidentInput = {
          incidentId: `chaos-${process.pid}-${n}`,
          policy,
          groups: {},
          requester: 'slack:U0ALICE',
          mode: 'live',
          trigger: { source: 'cli', severity: 'high', summary: 'suspicious shell in web-1 (Slack chaos)', receivedAt: new Date().toISOString() },
          targets: [{ kind: 'pod', id: 'chaos/web-1' }],
        };
        return client.workflow.start('chaosIncident', { taskQueue, workflowId: input.incidentId, args: [input] });
      },
      approve: async (incidentId, step) => {
        try {
          const r = await execFileP(process.execPath, [join(repoRoot, 'bin/firebreak.js'), 'approve', incidentId, step], { env: cliEnv, timeout: 60_000 });
          return { ok: true, output: r.stdout };
        } catch (e) {
          const err = e as { stdout?: string; stderr?: string };
          return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
        }
      },
      log: (line) => console.error(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`),
    });
    const rssAfter = process.memoryUsage().rss;

    const during = report.decisions.filter((d) => d.duringOutage);
    const doubledEffects = [...effects.values()].filter((n) => n > 1).length;
    const line = (label: string, d: { meant: number; accepted: number; duplicates: number; missing: string[] }) =>
      `${label.padEnd(26)}${d.meant} meant, ${d.accepted} accepted, ${d.duplicates} duplicates${d.missing.length ? `; missing ${d.missing.join(', ')}` : ''}`;
    console.log(
      [
        '',
        `Slack outage              ${(report.outageMs / 1000).toFixed(0)} s (429 Retry-After ${retryAfter} s, 503, 500, 502 in turn)`,
        `calls refused             ${report.callsRefused.total} (${report.callsRefused.rateLimited} × 429, ${report.callsRefused.serverErrors} × 5xx); accepted during the outage ${report.acceptedDuringOutage}`,
        `highest notice attempt    ${report.maxNoticeAttempt} (within one round of retries)`,
        `incidents                 ${report.incidents.length}`,
        line('approval requests', report.approvalRequests),
        line('timeline batches', report.timelineBatches),
        `timeline events           ${report.timelineEvents.recorded} recorded, ${report.timelineEvents.posted} posted`,
        `notices delayed / failed  ${report.noticesDelayed} notice.delayed, ${report.noticesFailed} notice.failed`,
        `CLI decisions (outage)    ${during.length}, all ok: ${during.every((d) => d.ok)}; command ${stats(during.map((d) => d.cliMs))}`,
        `  vote to step done       ${stats(during.map((d) => d.effectMs))} (from the command's start)`,
        `actions run twice         ${doubledEffects}`,
        `all posted after recovery ${(report.caughtUpMs / 1000).toFixed(1)} s`,
        `RSS before / after        ${mb(rssBefore)} / ${mb(rssAfter)} (this process: worker and stub)`,
        '',
      ].join('\n'),
    );
    const clean =
      report.approvalRequests.missing.length === 0 &&
      report.timelineBatches.missing.length === 0 &&
      report.timelineEvents.missing.length === 0 &&
      report.approvalRequests.duplicates + report.timelineBatches.duplicates === 0 &&
      report.noticesFailed === 0 &&
      during.every((d) => d.ok) &&
      doubledEffects === 0;

    for (const id of report.incidents) await client.workflow.getHandle(id).terminate('chaos run finished');
    await connection.close();
    worker.shutdown();
    await running;
    await nativeConnection.close();
    process.exitCode = clean ? 0 : 1;
  } finally {
    await stub.stop();
    await rm(workflowDir, { recursive: true, force: true });
    await sandbox.stop();
  }
}

await main();
