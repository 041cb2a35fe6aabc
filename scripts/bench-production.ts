/**
 * Benchmark (not a test), issue #16: Firebreak in its production shape — the
 * real Temporal server (v1.32.1) on PostgreSQL, two workers and one intake
 * replica as separate `firebreak serve` processes, configured as the
 * production suite (test/production/cluster.test.ts) configures them —
 * against the real kube-apiserver and moto.
 *
 * Opens N container-escape incidents by Falco alerts to intake. The rule
 * ("Terminal shell in container", priority Error) starts the runbook but is
 * not auto-contained, so every incident seals its evidence and then waits at
 * the isolate-pod approval gate. With all N open it reads each worker's RSS,
 * then approves a sample of gates one at a time through the `decide` update
 * `firebreak approve` sends, and measures click → the step running.
 *
 *   npm run bench:production -- [--incidents 500] [--approvals 50]
 *
 * Run with `node --import tsx`, not the tsx CLI: tsx relays Ctrl-C and
 * SIGKILLs a child that does not acknowledge it within 30 ms (easily missed on
 * a loaded machine), which would leave the scratch folder behind.
 *
 * The isolate-pod gate times out after 10 minutes and then proceeds
 * (runbooks/container-escape.yaml): a run must approve its sample before then,
 * so each sampled gate is checked to be still open before it is clicked.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../src/net/ports.ts';
import { sandboxWorkerEnv, sharedServeEnv, spawnServe } from '../src/sandbox/serve.ts';
import { startSandbox } from '../src/sandbox/servers.ts';
import { setupTemporalSchemas, startPostgres, startTemporalServer } from '../src/sandbox/temporal-cluster.ts';
import { ensureTools } from '../src/sandbox/tools.ts';
import { kubeClients } from '../src/wiring/clients.ts';
import { benchNamespace, benchNode, seedBenchPods } from './bench-pods.ts';
import { decideUpdate, statusQuery, timelineQuery } from '../workflows/engine/messages.ts';
import { post } from './http-post.ts';

const usage = `Usage: npm run bench:production -- [--incidents N] [--approvals N]

  --incidents N   container-escape incidents opened by Falco alerts, all left waiting at the isolate-pod gate (default 500)
  --approvals N   gates approved one at a time, spread over the open incidents (default 50)
  --help          this text

Starts PostgreSQL, the Temporal server v1.32.1 on it, kube-apiserver (etcd) and
moto, two workers and an intake replica as \`firebreak serve\` processes, and
prints: incidents started per second, each worker's RSS with all N open
(target ≤ 300 MB), and approval click → step running p50/p99 (target p50 ≤ 100 ms).`;

/** A failed run: the message says what went wrong and what to do. */
class BenchError extends Error {
  override readonly name = 'BenchError';
}

const { values } = parseArgs({
  options: {
    incidents: { type: 'string', default: '500' },
    approvals: { type: 'string', default: '50' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const incidents = Number(values.incidents);
const approvals = Number(values.approvals);
if (!Number.isInteger(incidents) || incidents < 1 || !Number.isInteger(approvals) || approvals < 0 || approvals > incidents) {
  console.error(`--incidents must be a positive integer and --approvals an integer from 0 to --incidents.\n\n${usage}`);
  process.exit(2);
}

const namespace = benchNamespace;
const node = benchNode;
const taskQueue = 'firebreak';
const falcoToken = randomBytes(24).toString('hex');
const ownerId = `bench-production-${process.pid}-${randomBytes(4).toString('hex')}`;
const approver = 'cli:alice';
const rule = 'Terminal shell in container';
const load = () => loadavg().map((l) => l.toFixed(2)).join(' / ');
const progress = (msg: string) => console.error(`[bench:production] ${msg}   (load ${load()})`);

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
function row(label: string, values: readonly number[]): string {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  const ms = (v: number) => `${Number.isFinite(v) ? v.toFixed(0) : '–'} ms`.padStart(8);
  return `  ${label.padEnd(62)} p50 ${ms(percentile(s, 50))}  p99 ${ms(percentile(s, 99))}  max ${ms(s.at(-1) ?? NaN)}  (n=${s.length})`;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A BenchError is a verdict, not "not yet": it ends the wait.
    const v = await check().catch((e: unknown) => {
      if (e instanceof BenchError) throw e;
      return undefined;
    });
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new BenchError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Resident and peak resident memory of a process, in MB (Linux /proc). */
async function rss(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

function falcoEvent(pod: string): string {
  return JSON.stringify({
    uuid: randomBytes(16).toString('hex'),
    output: `A shell was spawned in a container with an attached terminal (k8s.ns=${namespace} k8s.pod=${pod})`,
    // Error is severity high: enough to open the runbook (minSeverity high), short of the critical its auto-containment needs.
    priority: 'Error',
    rule,
    time: new Date().toISOString(),
    source: 'syscall',
    hostname: node,
    output_fields: { 'container.id': 'aaaaaaaaaaaa', 'container.name': 'web', 'k8s.ns.name': namespace, 'k8s.pod.name': pod, 'proc.cmdline': 'bash' },
  });
}

/** Teardown steps, newest first; run once, on the way out or on Ctrl-C. */
const teardown: (() => Promise<unknown>)[] = [];
let tornDown: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  tornDown ??= (async () => {
    for (const step of teardown.reverse()) await step().catch((e: unknown) => console.error(`[bench:production] cleanup: ${e instanceof Error ? e.message : String(e)}`));
  })();
  return tornDown;
}
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`[bench:production] ${signal}: stopping every process this run started …`);
    void cleanUp().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const loadAtStart = load();
  progress(`${incidents} incidents, ${approvals} approvals`);
  const tools = await ensureTools((l) => progress(`tools: ${l}`));
  const scratch = await mkdtemp(path.join(tmpdir(), 'firebreak-bench-production-'));
  teardown.push(() => rm(scratch, { recursive: true, force: true }));
  // PostgreSQL runs as the postgres user (never root): it must reach its data dir inside.
  await chmod(scratch, 0o755);

  progress('starting PostgreSQL, kube-apiserver (etcd) and moto …');
  const [pg, sandbox] = await Promise.all([
    startPostgres({ workDir: path.join(scratch, 'postgres'), ownerId }),
    startSandbox({ tools, ownerId, workDir: path.join(scratch, 'sandbox'), kubernetes: true, moto: true }),
  ]);
  teardown.push(() => pg.process.stop(), () => sandbox.stop());
  progress('setting up the Temporal schemas and starting the Temporal server …');
  await setupTemporalSchemas(tools, pg);
  const server = await startTemporalServer(tools, pg, { workDir: path.join(scratch, 'temporal'), ownerId });
  teardown.push(() => server.process.stop());
  const connection = await Connection.connect({ address: server.address });
  teardown.push(() => connection.close());
  const client = new Client({ connection, namespace: server.namespace });

  progress(`seeding ${incidents} pods …`);
  const pods = await seedBenchPods(kubeClients(sandbox.kubernetes!.kubeconfigPath).config, incidents);

  const sharedEnv = (name: string) => sharedServeEnv({ temporal: server, taskQueue, scratch, name });
  progress('starting two workers and an intake replica (firebreak serve) …');
  const workerEnv = sandboxWorkerEnv({ kubeconfigPath: sandbox.kubernetes!.kubeconfigPath, awsEndpoint: sandbox.moto!.endpoint });
  const workers = ['worker-a', 'worker-b'].map((name) => ({
    name,
    serve: spawnServe({ ...sharedEnv(name), FIREBREAK_ROLES: 'worker', FIREBREAK_EVIDENCE_DIR: path.join(scratch, 'evidence'), ...workerEnv }),
  }));
  const intakePort = await freePort();
  const intake = spawnServe({ ...sharedEnv('intake'), FIREBREAK_ROLES: 'intake', FIREBREAK_INTAKE_HOST: '127.0.0.1', FIREBREAK_INTAKE_PORT: String(intakePort), FIREBREAK_INTAKE_FALCO_TOKEN: falcoToken });
  for (const s of [...workers.map((w) => w.serve), intake]) teardown.push(() => s.kill());
  await Promise.all([
    ...workers.map((w) => w.serve.log('"worker started"', (l) => l.msg === 'worker started', 120_000)),
    intake.log('intake listening', (l) => l.msg === 'intake listening', 60_000),
  ]);
  const rssIdle = await Promise.all(workers.map((w) => rss(w.serve.child.pid!)));

  // 1. Open N incidents: Falco alerts POSTed 32 at a time, as a burst from a Falcosidekick would arrive.
  progress(`POSTing ${incidents} Falco alerts to intake …`);
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  teardown.push(() => Promise.resolve(agent.destroy()));
  const url = new URL('/v1/alerts/falco', `http://127.0.0.1:${intakePort}`);
  const t0 = Date.now();
  let answered = 0;
  const ticker = setInterval(() => progress(`  ${answered}/${incidents} alerts answered`), 5_000);
  const ids = await mapLimit(pods, 32, async (pod) => {
    const res = await post(agent, url, { authorization: `Bearer ${falcoToken}`, 'content-type': 'application/json' }, falcoEvent(pod));
    const incident = (JSON.parse(res.text) as { alerts?: { incidents: { incidentId: string }[] }[] }).alerts?.[0]?.incidents[0];
    if (res.status !== 200 || incident === undefined) throw new BenchError(`intake answered ${res.status} without an incident for pod ${pod}: ${res.text.slice(0, 300)}; see the intake's log above`);
    answered += 1;
    return incident.incidentId;
  }).finally(() => clearInterval(ticker));
  const postedMs = Date.now() - t0;
  if (new Set(ids).size !== incidents) throw new BenchError(`${incidents} alerts for ${incidents} pods opened only ${new Set(ids).size} incidents: the correlation key no longer tells pods apart`);

  // Each incident seals its evidence before the gate opens: started means waiting there.
  progress('waiting until every incident waits at the isolate-pod gate …');
  const waiting = new Set<string>();
  await until(
    `all ${incidents} incidents at the isolate-pod gate (${waiting.size} are)`,
    async () => {
      await mapLimit(
        ids.filter((id) => !waiting.has(id)),
        8,
        async (id) => {
          const status = await client.workflow.getHandle(id).query(statusQuery).catch(() => undefined);
          const step = status?.steps.find((s) => s.id === 'isolate-pod');
          if (step !== undefined && step.status !== 'not-started' && step.status !== 'awaiting-approval') {
            throw new BenchError(`incident ${id}: isolate-pod is ${step.status} before any approval; the alert must not auto-contain (rule "${rule}", priority Error)`);
          }
          if (status?.pendingApprovals.some((p) => p.step === 'isolate-pod') === true) waiting.add(id);
        },
      );
      progress(`  ${waiting.size}/${incidents} at the gate`);
      return waiting.size === incidents ? true : undefined;
    },
    8 * 60_000,
    1_000,
  ).catch((e: unknown) => {
    if (e instanceof BenchError && e.message.startsWith('timed out')) throw new BenchError(`${e.message}; the machine may be too slow for ${incidents}: try --incidents ${Math.max(1, Math.floor(incidents / 2))}`);
    throw e;
  });
  const gatedMs = Date.now() - t0;

  // 2. Memory, with all N open (and cached on the workers).
  const rssOpen = await Promise.all(workers.map((w) => rss(w.serve.child.pid!)));
  const loadWhenOpen = load();

  // 3. Approvals, one at a time, spread over the incidents, each step left to finish before the next click.
  progress(`approving ${approvals} isolate-pod gates one at a time …`);
  const sample = Array.from({ length: approvals }, (_, i) => ids[Math.floor((i * incidents) / approvals)]!);
  const answer: number[] = [];
  const toActionStarted: number[] = [];
  const toRunningSeen: number[] = [];
  for (const [i, id] of sample.entries()) {
    const handle = client.workflow.getHandle(id);
    const before = await handle.query(statusQuery);
    if (!before.pendingApprovals.some((p) => p.step === 'isolate-pod')) throw new BenchError(`incident ${id}: the isolate-pod gate closed before its approval (10-minute timeout?): run with fewer --incidents`);
    const clickAt = Date.now();
    await handle.executeUpdate(decideUpdate, { args: [{ step: 'isolate-pod', decision: 'approve', actor: approver }] });
    answer.push(Date.now() - clickAt);
    // What a responder's next `firebreak status` shows: the step past its approval.
    await until(
      `isolate-pod of ${id} to leave awaiting-approval after its approval`,
      async () => {
        const step = (await handle.query(statusQuery)).steps.find((s) => s.id === 'isolate-pod');
        return step !== undefined && step.status !== 'awaiting-approval' && step.status !== 'approved' ? true : undefined;
      },
      60_000,
      5,
    );
    toRunningSeen.push(Date.now() - clickAt);
    // Each step is left to finish before the next click, so one approval's work does not slow the next one's measurement.
    const timeline = await until(
      `isolate-pod of ${id} to finish after its approval`,
      async () => {
        const t = await handle.query(timelineQuery);
        return t.some((e) => e.step === 'isolate-pod' && (e.type === 'action.succeeded' || e.type === 'action.failed')) ? t : undefined;
      },
      60_000,
    );
    // Timeline `at` is workflow time: the start of the workflow task that recorded the step running.
    const started = timeline.find((e) => e.type === 'action.started' && e.step === 'isolate-pod');
    toActionStarted.push(started === undefined ? NaN : Date.parse(started.at) - clickAt);
    if ((i + 1) % 10 === 0) progress(`  ${i + 1}/${approvals} approved`);
  }
  const loadAtEnd = load();

  const perSecond = (n: number, msTaken: number) => ((n * 1000) / msTaken).toFixed(1);
  const mb = (v: number) => `${v.toFixed(0)} MB`;
  const actionP50 = percentile([...toActionStarted].filter(Number.isFinite).sort((a, b) => a - b), 50);
  const seenP50 = percentile([...toRunningSeen].filter(Number.isFinite).sort((a, b) => a - b), 50);
  console.log(
    [
      '',
      `Firebreak on the Temporal server v1.32.1 + PostgreSQL, two workers, ${incidents} container-escape incidents waiting on approval:`,
      `  load average (1/5/15 min)  start ${loadAtStart}   all open ${loadWhenOpen}   end ${loadAtEnd}   (2 cores, shared with whatever else runs)`,
      `  incidents started: ${incidents} alerts answered 200 in ${(postedMs / 1000).toFixed(1)} s = ${perSecond(incidents, postedMs)}/s;` +
        ` all ${incidents} sealed and waiting at the gate after ${(gatedMs / 1000).toFixed(1)} s = ${perSecond(incidents, gatedMs)}/s (polled each second)`,
      ...workers.map(
        (w, i) =>
          `  ${w.name} RSS: ${mb(rssIdle[i]!.rss)} idle, ${mb(rssOpen[i]!.rss)} with all open (peak ${mb(rssOpen[i]!.peak)})   target ≤ 300 MB: ${rssOpen[i]!.rss <= 300 ? 'met' : 'NOT met'}`,
      ),
      `  approval click → step running, ${approvals} gates one at a time (click = executeUpdate(decide) sent):`,
      row('decide update answered (what `firebreak approve` waits for)', answer),
      row('action.started on the timeline (workflow time)', toActionStarted),
      row('step running, seen by a status query after the answer', toRunningSeen),
      `  target p50 ≤ 100 ms: ${actionP50 <= 100 ? 'met' : 'NOT met'} to action.started, ${seenP50 <= 100 ? 'met' : 'NOT met'} to running seen by a client`,
      '',
    ].join('\n'),
  );
}

try {
  await main();
} catch (e) {
  // Once interrupted, what fails next is the teardown pulling processes away: not worth reporting.
  if (!interrupted) console.error(`\nbench:production failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  progress('cleaning up …');
  await cleanUp();
}
