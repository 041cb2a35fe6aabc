/**
 * Benchmark (not a test): Falco alert at intake → quarantine NetworkPolicy, for
 * the container-escape runbook, end to end (issue #17 step 1, "measure first").
 *
 * Starts its own sandbox (Temporal dev server, etcd, kube-apiserver), a worker
 * with the real activities, and the real intake (`startIntake`, as `firebreak
 * serve` runs it) on a loopback port with a Falco bearer token, routing to the
 * shipped runbooks/. Seeds N pods (status through the status subresource) owned
 * by a ReplicaSet, then POSTs one Falco release_agent event (Critical: the
 * policy auto-contains isolate-pod) per pod and measures, per pod, the time
 * from the POST to the incident's NetworkPolicy ADDED on a watch.
 *
 *   npm run bench:containment -- --mode serial [--count 50]   one alert at a time
 *   npm run bench:containment -- --mode burst  [--count 500]  every alert at once
 *
 * Prints p50/p99/max, the load average at start and end, each phase from the
 * incident's timeline (workflow time, ms resolution, same machine clock as the
 * POST), the activities' queue wait and run time from history, and the kube
 * API calls and evidence seals as the worker's deps saw them.
 *
 * Findings (2 cores, a CI run alongside: load 7.2-7.8 at the start; figures of
 * one run each, serial 50 / burst 50 / burst 500; nothing fixed here):
 * - Latency: serial p50 243 ms (p99 539); burst 50 p50 5.9 s (p99 6.1); burst
 *   500 p50 58 s (p99 70 s). In a burst every incident advances together
 *   (first seals: p50 4277 ms, max 4303 ms): the work
 *   is shared, not queued, so the first pod is contained no sooner than the last.
 * - CPU, not a lock: 0.17-0.28 CPU s per incident across this process,
 *   kube-apiserver, Temporal and etcd. The main JS thread (intake + every
 *   activity + the SDK bridge; src/worker/index.ts runs all in one process) is
 *   at 94-97 % event-loop utilisation in a burst and was on a CPU or waiting
 *   for one for ~96 % of the wall time (500: 33.7 s on + 35.7 s waiting of 72 s).
 * - A new TLS connection per kube API call: 22.0 per incident, 22 calls
 *   (client-node builds an https.Agent per request, config.js:194). Fresh:
 *   ~6 ms, 3-4 CPU ms here + 2.5-3.5 in kube-apiserver per call; keep-alive:
 *   1.1-1.6 ms, 1 + 0.7: 80-120 CPU ms per incident, about half of it.
 *   Since src/wiring/kube-agents.ts (keep-alive agents): 0.1 connections per
 *   incident serial, 2.2 in burst 50; serial 20 p50 174 ms, burst 50 p50
 *   3.3 s, at load 3.3-3.9 (a CI run alongside).
 * - Sequential reads (activities/kubernetes/evidence.ts:73, 91, 196-208):
 *   pod, then owners/SA, then bindings, then roles (4 round trips), then 7
 *   seals one after the other (:119), each two fsyncs (local.ts:150, :205)
 *   and a manifest re-read (:73); the isolation is 3 more round trips.
 * - At 500, SDK default slots bite: 100 activity slots (peak 100 seals in
 *   flight) → capture scheduled→started p50 10.5 s p99 25.7 s; quarantinePod
 *   waits in the same queue behind other incidents' captures (p50 15.8 s,
 *   p99 26.2 s); first workflow task scheduled→started p50 9.2 s p99 18.2 s.
 * - Intake does not serialise (per-incident delivery queues, deliver.ts:116;
 *   group-committed fdatasync, store.ts:65-95); its ack slows only because it
 *   shares the main thread (p50 12 ms serial, 340 ms burst 50, 4.8 s burst 500).
 * - The evidence mutex is per incident (local.ts:72), not global; fsync
 *   itself costs ~0-1 ms here; UV_THREADPOOL_SIZE=32 did not help (burst 50 8.9 s).
 * - listNamespacedNetworkPolicy grows with the quarantine policies already
 *   made: p99 5.3 s at 500 against ~1.5 s for the other calls.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { post } from './http-post.ts';
import https from 'node:https';
import type { Socket } from 'node:net';
import { monitorEventLoopDelay, performance as perf } from 'node:perf_hooks';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Watch, type V1NetworkPolicy } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { Runtime } from '@temporalio/worker';
import { pino } from 'pino';
import { LocalEvidenceStore, type EvidenceStore } from '../activities/evidence/index.ts';
import type { Notice } from '../activities/index.ts';
import type { KubeClients } from '../activities/kubernetes/index.ts';
import { parseConfig } from '../src/config/index.ts';
import { startIntake } from '../src/intake/index.ts';
import { freePort } from '../src/net/ports.ts';
import { startSandbox } from '../src/sandbox/servers.ts';
import { ensureTools } from '../src/sandbox/tools.ts';
import { kubeClients } from '../src/wiring/clients.ts';
import { benchNamespace, benchNode, seedBenchPods } from './bench-pods.ts';
import { createWorker } from '../src/worker/index.ts';
import { timelineQuery } from '../workflows/engine/messages.ts';
import type { TimelineEvent } from '../workflows/engine/timeline.ts';

const usage = `Usage: npm run bench:containment -- [--mode serial|burst] [--count N]

  --mode serial   one Falco alert at a time, the next after the previous pod's NetworkPolicy is seen (default)
  --mode burst    every alert POSTed at once
  --count N       pods, one alert each (default 50)
  --help          this text

Measures POST at intake → quarantine NetworkPolicy ADDED on a Kubernetes watch,
and where each incident's time went (timeline, history, kube API calls, evidence seals).`;

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'serial' },
    count: { type: 'string', default: '50' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const mode = values.mode;
const count = Number(values.count);
if ((mode !== 'serial' && mode !== 'burst') || !Number.isInteger(count) || count < 1) {
  console.error(usage);
  process.exit(2);
}

const namespace = benchNamespace;
const node = benchNode;
const taskQueue = 'bench';
const token = randomBytes(24).toString('hex');
const repoRoot = new URL('../', import.meta.url).pathname;
const silent = pino({ level: 'silent' });

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
function stats(values: readonly number[]): { p50: number; p99: number; max: number; n: number } {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? NaN, n: s.length };
}
const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0).padStart(6)} ms` : '      – ');
function row(label: string, values: readonly number[]): string {
  const s = stats(values);
  return `  ${label.padEnd(52)} p50 ${ms(s.p50)}  p99 ${ms(s.p99)}  max ${ms(s.max)}  (n=${s.n})`;
}
const load = () => loadavg().map((l) => l.toFixed(2)).join(' / ');

/** Runs `fn` over `items`, at most `limit` at a time. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** Durations and peak concurrency of the calls a dependency of the worker served, by name. */
class CallLog {
  readonly calls = new Map<string, number[]>();
  inFlight = 0;
  peak = 0;
  async time<T>(name: string, p: () => Promise<T>): Promise<T> {
    const s = performance.now();
    this.inFlight += 1;
    this.peak = Math.max(this.peak, this.inFlight);
    try {
      return await p();
    } finally {
      this.inFlight -= 1;
      const list = this.calls.get(name) ?? [];
      list.push(performance.now() - s);
      this.calls.set(name, list);
    }
  }
}

/** The same API object; every method that returns a promise is timed. */
function timedApi<T extends object>(api: T, prefix: string, log: CallLog): T {
  return new Proxy(api, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      return (...args: unknown[]) => log.time(`${prefix}.${key}`, () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
    },
  });
}

function timedKube(kube: KubeClients, log: CallLog): KubeClients {
  return {
    ...kube,
    core: timedApi(kube.core, 'core', log),
    apps: timedApi(kube.apps, 'apps', log),
    batch: timedApi(kube.batch, 'batch', log),
    net: timedApi(kube.net, 'net', log),
    rbac: timedApi(kube.rbac, 'rbac', log),
  };
}

function timedEvidence(store: EvidenceStore, log: CallLog): EvidenceStore {
  return {
    location: store.location,
    seal: (input) => log.time('evidence.seal', () => store.seal(input)),
    sealAll: (inputs) => log.time('evidence.sealAll', () => store.sealAll(inputs)),
    manifest: (id) => store.manifest(id),
    verify: (id) => store.verify(id),
  };
}

function falcoEvent(pod: string): string {
  return JSON.stringify({
    uuid: randomUUID(),
    output: `Detect an attempt to exploit a container escape using release_agent file (file=/sys/fs/cgroup/release_agent k8s.ns=${namespace} k8s.pod=${pod})`,
    priority: 'Critical',
    rule: 'Detect release_agent File Container Escapes',
    time: new Date().toISOString(),
    source: 'syscall',
    hostname: node,
    output_fields: {
      'container.id': 'aaaaaaaaaaaa',
      'container.name': 'web',
      'k8s.ns.name': namespace,
      'k8s.pod.name': pod,
      'fd.name': '/sys/fs/cgroup/release_agent',
      'proc.cmdline': 'sh -c echo /tmp/x > /sys/fs/cgroup/release_agent',
    },
  });
}

/** Milliseconds to fdatasync one small append on this disk (what every outbox write and evidence seal waits for). */
async function fsyncCost(dir: string, n = 20): Promise<number[]> {
  const handle = await open(join(dir, 'fsync-probe'), 'a');
  const out: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      await handle.appendFile(`${i}\n`);
      const s = performance.now();
      await handle.datasync();
      out.push(performance.now() - s);
    }
  } finally {
    await handle.close();
  }
  return out;
}

const procName = 'this process (worker + intake + bench client)';

/** CPU seconds (user + system) of this process and every process under it, by name, from /proc (Linux). */
async function cpuByProcess(): Promise<Map<string, { cpu: number; wait: number }>> {
  const out = new Map<string, { cpu: number; wait: number }>();
  /** Seconds the task's threads spent runnable but waiting for a CPU (schedstat's second field). */
  const waited = async (taskDirs: string[]) => {
    let ns = 0;
    for (const dir of taskDirs) ns += Number((await readFile(`${dir}/schedstat`, 'utf8').catch(() => '0 0')).split(' ')[1] ?? 0);
    return ns / 1e9;
  };
  const tasksOf = async (pid: number) => (await readdir(`/proc/${pid}/task`).catch(() => [] as string[])).map((t) => `/proc/${pid}/task/${t}`);
  let entries: string[];
  try {
    entries = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
  } catch {
    return out;
  }
  const stats = new Map<number, { ppid: number; comm: string; cpu: number }>();
  await Promise.all(
    entries.map(async (pid) => {
      try {
        const text = await readFile(`/proc/${pid}/stat`, 'utf8');
        const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
        const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
        stats.set(Number(pid), { ppid: Number(f[1]), comm, cpu: (Number(f[11]) + Number(f[12])) / 100 });
      } catch {
        // gone meanwhile
      }
    }),
  );
  const mine = (pid: number): boolean => pid === process.pid || (pid > 1 && stats.has(pid) && mine(stats.get(pid)!.ppid));
  // This process's main thread (intake, activities, bench client) apart from its other threads (the workflow thread, the SDK's Rust core, libuv, V8).
  try {
    const text = await readFile(`/proc/${process.pid}/task/${process.pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    out.set('  of which its main JS thread (intake, activities)', { cpu: (Number(f[11]) + Number(f[12])) / 100, wait: await waited([`/proc/${process.pid}/task/${process.pid}`]) });
  } catch {
    // not Linux
  }
  for (const [pid, st] of stats) {
    if (!mine(pid)) continue;
    const name = pid === process.pid ? procName : st.comm;
    const wait = await waited(await tasksOf(pid));
    const had = out.get(name) ?? { cpu: 0, wait: 0 };
    out.set(name, { cpu: had.cpu + st.cpu, wait: had.wait + wait });
  }
  return out;
}

/**
 * Counts the TLS connections this process opens to the kube-apiserver and
 * times their handshakes: @kubernetes/client-node makes a new https.Agent for
 * every request (KubeConfig.applySecurityAuthentication → createAgent), so no
 * connection is reused.
 */
function countTlsConnections(port: number): { connections: number; handshakes: number[] } {
  const counted = { connections: 0, handshakes: [] as number[] };
  type CreateConnection = (this: https.Agent, options: { port?: number | string }, cb?: unknown) => Socket;
  const proto = https.Agent.prototype as unknown as { createConnection: CreateConnection };
  const original = proto.createConnection;
  proto.createConnection = function (this: https.Agent, options, cb) {
    const socket = original.call(this, options, cb);
    if (Number(options.port) === port) {
      counted.connections += 1;
      const s = performance.now();
      socket.once('secureConnect', () => counted.handshakes.push(performance.now() - s));
    }
    return socket;
  };
  return counted;
}

/**
 * The price of a fresh TLS connection per call: `n` sequential GETs of one pod
 * on one keep-alive connection, then `n` each on a new connection (as
 * client-node makes them); wall time and this process's CPU per call.
 */
async function tlsProbe(kube: KubeClients, pod: string, n = 100): Promise<Record<'reused' | 'fresh', { wall: number; cpu: number; server: number }>> {
  const server = new URL(kube.config.getCurrentCluster()!.server);
  const base: https.RequestOptions = {};
  await kube.config.applyToHTTPSOptions(base);
  const get = (agent: https.Agent) =>
    new Promise<void>((resolve, reject) => {
      const req = https.request({ ...base, agent, host: server.hostname, port: server.port, path: `/api/v1/namespaces/${namespace}/pods/${pod}`, method: 'GET' }, (res) => {
        res.resume();
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  const run = async (agentFor: () => https.Agent) => {
    const cpu = process.cpuUsage();
    const server = (await cpuByProcess()).get('kube-apiserver')?.cpu ?? 0;
    const s = performance.now();
    for (let i = 0; i < n; i++) await get(agentFor());
    const wall = (performance.now() - s) / n;
    const used = process.cpuUsage(cpu);
    return { wall, cpu: (used.user + used.system) / 1000 / n, server: ((((await cpuByProcess()).get('kube-apiserver')?.cpu ?? 0) - server) * 1000) / n };
  };
  const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const reused = await run(() => keepAlive);
  keepAlive.destroy();
  const fresh = await run(() => new https.Agent({ keepAlive: false }));
  return { reused, fresh };
}

interface Sample {
  pod: string;
  incidentId?: string;
  postAt: number;
  ackAt?: number;
  status?: number;
  delivery?: string;
  npAt?: number;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const eventMs = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

async function main(): Promise<void> {
  Runtime.install({ logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });
  const loadAtStart = load();
  const tools = await ensureTools((l) => console.error(`[tools] ${l}`));
  const sandbox = await startSandbox({ tools, ownerId: `bench-${process.pid}-${randomBytes(4).toString('hex')}`, temporal: {}, kubernetes: true });
  const work = await mkdtemp(join(tmpdir(), 'firebreak-bench-containment-'));
  try {
    const kube = kubeClients(sandbox.kubernetes!.kubeconfigPath);
    // The workload: a node, a service account with a RoleBinding, a ReplicaSet owning N running pods.
    console.error(`Seeding ${count} pods …`);
    const pods = await seedBenchPods(kube.config, count);

    // The worker, with the real activities over timed clients.
    const apiCalls = new CallLog();
    const seals = new CallLog();
    const store = new LocalEvidenceStore(join(work, 'evidence'));
    const evidence = timedEvidence(store, seals);
    const temporalConfig = { TEMPORAL_ADDRESS: sandbox.temporal!.address, TEMPORAL_NAMESPACE: sandbox.temporal!.namespace, FIREBREAK_TASK_QUEUE: taskQueue };
    const { worker, connection } = await createWorker({
      config: temporalConfig,
      deps: { kube: timedKube(kube, apiCalls), sts: undefined, notifier: { send: (_n: Notice) => Promise.resolve() }, evidence },
    });
    const running = worker.run();

    // The real intake, as `firebreak serve` starts it.
    const config = parseConfig({
      ...temporalConfig,
      FIREBREAK_RUNBOOKS_DIR: join(repoRoot, 'runbooks'),
      FIREBREAK_DATA_DIR: join(work, 'data'),
      FIREBREAK_INTAKE_HOST: '127.0.0.1',
      FIREBREAK_INTAKE_PORT: String(await freePort()),
      FIREBREAK_INTAKE_FALCO_TOKEN: token,
    });
    const intake = await startIntake(config, silent);
    const clientConnection = await Connection.connect({ address: temporalConfig.TEMPORAL_ADDRESS });
    const client = new Client({ connection: clientConnection, namespace: temporalConfig.TEMPORAL_NAMESPACE });

    // Every quarantine NetworkPolicy the API server adds, by incident, as a watch sees it.
    const seenAt = new Map<string, number>();
    const waiters = new Map<string, () => void>();
    const watch = await new Watch(kube.config).watch(
      `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies`,
      {},
      (type, obj: V1NetworkPolicy) => {
        const id = obj.metadata?.annotations?.['firebreak.io/incident'];
        if (type !== 'ADDED' || id === undefined || seenAt.has(id)) return;
        seenAt.set(id, Date.now());
        waiters.get(id)?.();
      },
      (err: unknown) => {
        if (err && !(err instanceof Error && err.name === 'AbortError')) console.error('watch ended:', err);
      },
    );
    const seen = (id: string, timeoutMs: number) =>
      new Promise<boolean>((resolve) => {
        if (seenAt.has(id)) return resolve(true);
        const timer = setTimeout(() => resolve(false), timeoutMs);
        waiters.set(id, () => {
          clearTimeout(timer);
          resolve(true);
        });
      });

    const fsyncBefore = await fsyncCost(work);
    const probe = await tlsProbe(kube, pods[0]!);
    const tls = countTlsConnections(Number(new URL(kube.config.getCurrentCluster()!.server).port));
    const cpuBefore = await cpuByProcess();
    const eluBefore = perf.eventLoopUtilization();
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const agent = new Agent({ keepAlive: true, maxSockets: mode === 'burst' ? count : 1 });
    const url = new URL('/v1/alerts/falco', intake.url);
    const postOne = async (pod: string): Promise<Sample> => {
      const sample: Sample = { pod, postAt: Date.now() };
      try {
        const res = await post(agent, url, { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, falcoEvent(pod));
        sample.ackAt = Date.now();
        sample.status = res.status;
        const incident = (JSON.parse(res.text) as { alerts?: { incidents: { incidentId: string; delivery?: string }[] }[] }).alerts?.[0]?.incidents[0];
        if (incident !== undefined) {
          sample.incidentId = incident.incidentId;
          if (incident.delivery !== undefined) sample.delivery = incident.delivery;
        }
      } catch (e) {
        console.error(`POST for ${pod} failed:`, e);
      }
      return sample;
    };

    console.error(`Posting ${count} Falco alerts (${mode}) to ${url.href} …`);
    const t0 = Date.now();
    let samples: Sample[];
    const deadlineMs = Math.max(60_000, count * 2_000);
    if (mode === 'serial') {
      samples = [];
      for (const pod of pods) {
        const s = await postOne(pod);
        if (s.incidentId !== undefined && (await seen(s.incidentId, 60_000))) s.npAt = seenAt.get(s.incidentId);
        samples.push(s);
      }
    } else {
      samples = await Promise.all(pods.map(postOne));
      await Promise.all(samples.map(async (s) => (s.incidentId !== undefined && (await seen(s.incidentId, deadlineMs)) ? (s.npAt = seenAt.get(s.incidentId)) : undefined)));
    }
    const wallMs = Date.now() - t0;
    const loadAtEnd = load();
    const elu = perf.eventLoopUtilization(eluBefore);
    loopDelay.disable();
    const cpuAfter = await cpuByProcess();
    const tlsConnections = tls.connections;
    const tlsHandshakes = [...tls.handshakes];
    watch.abort();
    const fsyncAfter = await fsyncCost(work);

    // Where the time went: each incident's timeline and history.
    console.error('Reading timelines and histories …');
    const phases = {
      ack: [] as number[],
      opened: [] as number[],
      firstSealed: [] as number[],
      lastSealed: [] as number[],
      firstOnDisk: [] as number[],
      lastOnDisk: [] as number[],
      started: [] as number[],
      succeeded: [] as number[],
      np: [] as number[],
    };
    const deltas = { openedToSealed: [] as number[], sealedToStarted: [] as number[], startedToNp: [] as number[], npToSucceeded: [] as number[] };
    const hist = {
      firstWftWait: [] as number[],
      firstWftRun: [] as number[],
      wftWait: [] as number[],
      wftRun: [] as number[],
      captureWait: [] as number[],
      captureRun: [] as number[],
      restWait: [] as number[],
      restRun: [] as number[],
      quarantineWait: [] as number[],
      quarantineRun: [] as number[],
      signalWithStartToFirstWft: [] as number[],
    };
    const measured = samples.filter((s) => s.incidentId !== undefined);
    await mapLimit(measured, 16, async (s) => {
      const handle = client.workflow.getHandle(s.incidentId!);
      const timeline: TimelineEvent[] = await handle.query(timelineQuery);
      const at = (e: TimelineEvent | undefined) => (e === undefined ? NaN : Date.parse(e.at) - s.postAt);
      const started = timeline.find((e) => e.type === 'action.started' && e.step === 'isolate-pod');
      const sealed = timeline.filter((e) => e.type === 'evidence.sealed' && (started === undefined || e.seq < started.seq));
      const succeeded = timeline.find((e) => e.type === 'action.succeeded' && e.step === 'isolate-pod');
      phases.ack.push(s.ackAt === undefined ? NaN : s.ackAt - s.postAt);
      phases.opened.push(at(timeline.find((e) => e.type === 'incident.opened')));
      phases.firstSealed.push(at(sealed[0]));
      phases.lastSealed.push(at(sealed.at(-1)));
      // The capture activity seals every item before it returns, so the timeline records them all at once; the manifest has each seal's own time.
      const manifest = await store.manifest(s.incidentId!);
      phases.firstOnDisk.push(manifest.length === 0 ? NaN : Date.parse(manifest[0]!.capturedAt) - s.postAt);
      phases.lastOnDisk.push(manifest.length === 0 ? NaN : Date.parse(manifest.at(-1)!.capturedAt) - s.postAt);
      phases.started.push(at(started));
      phases.succeeded.push(at(succeeded));
      phases.np.push(s.npAt === undefined ? NaN : s.npAt - s.postAt);
      deltas.openedToSealed.push(at(sealed.at(-1)) - at(timeline.find((e) => e.type === 'incident.opened')));
      deltas.sealedToStarted.push(at(started) - at(sealed.at(-1)));
      deltas.startedToNp.push((s.npAt ?? NaN) - s.postAt - at(started));
      deltas.npToSucceeded.push(at(succeeded) - ((s.npAt ?? NaN) - s.postAt));

      const events = (await handle.fetchHistory()).events ?? [];
      const byId = new Map(events.map((e) => [Number(e.eventId), e]));
      const wfts = events.filter((e) => e.workflowTaskStartedEventAttributes);
      for (const [i, e] of wfts.entries()) {
        const scheduled = byId.get(Number(e.workflowTaskStartedEventAttributes!.scheduledEventId));
        const completed = events.find((c) => Number(c.workflowTaskCompletedEventAttributes?.startedEventId ?? -1) === Number(e.eventId));
        const wait = scheduled === undefined ? NaN : eventMs(e) - eventMs(scheduled);
        const run = completed === undefined ? NaN : eventMs(completed) - eventMs(e);
        (i === 0 ? hist.firstWftWait : hist.wftWait).push(wait);
        (i === 0 ? hist.firstWftRun : hist.wftRun).push(run);
        if (i === 0 && scheduled !== undefined) hist.signalWithStartToFirstWft.push(eventMs(e) - eventMs(events[0]!));
      }
      for (const e of events.filter((x) => x.activityTaskScheduledEventAttributes)) {
        const type = e.activityTaskScheduledEventAttributes!.activityType?.name;
        const startedEvent = events.find((x) => Number(x.activityTaskStartedEventAttributes?.scheduledEventId ?? -1) === Number(e.eventId));
        const done = events.find((x) => Number(x.activityTaskCompletedEventAttributes?.scheduledEventId ?? -1) === Number(e.eventId));
        const wait = startedEvent === undefined ? NaN : eventMs(startedEvent) - eventMs(e);
        const run = startedEvent === undefined || done === undefined ? NaN : eventMs(done) - eventMs(startedEvent);
        if (type === 'captureContainmentEvidence') {
          hist.captureWait.push(wait);
          hist.captureRun.push(run);
        } else if (type === 'captureContainerEscapeContext') {
          hist.restWait.push(wait);
          hist.restRun.push(run);
        } else if (type === 'quarantinePod') {
          hist.quarantineWait.push(wait);
          hist.quarantineRun.push(run);
        }
      }
    });

    const cpuUsed = [...cpuAfter]
      .map(([name, after]) => [name, after.cpu - (cpuBefore.get(name)?.cpu ?? 0), after.wait - (cpuBefore.get(name)?.wait ?? 0)] as const)
      .filter(([, used]) => used > 0.05);
    const mainThread = cpuUsed.find(([name]) => name.startsWith('  of which'));
    const cpuLines = cpuUsed
      .filter((e) => e !== mainThread)
      .sort((a, b) => b[1] - a[1])
      .flatMap((e) => (e[0] === procName && mainThread !== undefined ? [e, mainThread] : [e]))
      .map(
        ([name, used, wait]) =>
          `  ${name.padEnd(52)} ${used.toFixed(1)} s on a CPU (${((100 * used) / (wallMs / 1000)).toFixed(0)} % of one core), ${wait.toFixed(1)} s runnable but waiting for one`,
      );
    const all = samples.map((s) => (s.npAt === undefined ? NaN : s.npAt - s.postAt));
    const total = stats(all);
    const notSeen = samples.filter((s) => s.npAt === undefined).length;
    const deliveries = new Map<string, number>();
    for (const s of samples) deliveries.set(`${s.status ?? 'no answer'} ${s.delivery ?? ''}`.trim(), (deliveries.get(`${s.status ?? 'no answer'} ${s.delivery ?? ''}`.trim()) ?? 0) + 1);

    const lines = [
      '',
      `Falco alert at intake → quarantine NetworkPolicy ADDED on a watch, ${count} pods, mode ${mode}:`,
      `  p50 ${total.p50.toFixed(0)} ms   p99 ${total.p99.toFixed(0)} ms   max ${total.max.toFixed(0)} ms   (seen ${total.n}/${count}${notSeen > 0 ? `, ${notSeen} NOT seen` : ''}; wall ${wallMs} ms)`,
      `  load average (1/5/15 min)  start ${loadAtStart}   end ${loadAtEnd}   (${'2'} cores here)`,
      `  intake answers: ${[...deliveries].map(([k, v]) => `${k} ×${v}`).join(', ')}`,
      '',
      'Phases, from the POST (timeline `at` is workflow time: the start of the workflow task that recorded it):',
      row('intake ack (HTTP response)', phases.ack),
      row('incident.opened (first workflow task)', phases.opened),
      row('first seal in the manifest (capturedAt)', phases.firstOnDisk),
      row('last seal in the manifest (capturedAt)', phases.lastOnDisk),
      row('first evidence.sealed', phases.firstSealed),
      row('last evidence.sealed before isolate-pod', phases.lastSealed),
      row('action.started isolate-pod', phases.started),
      row('NetworkPolicy ADDED on the watch', phases.np),
      row('action.succeeded isolate-pod', phases.succeeded),
      '',
      'Between phases:',
      row('incident.opened → last evidence.sealed', deltas.openedToSealed),
      row('last evidence.sealed → action.started', deltas.sealedToStarted),
      row('action.started → NetworkPolicy on the watch', deltas.startedToNp),
      row('NetworkPolicy on the watch → action.succeeded', deltas.npToSucceeded),
      '',
      'From history (server event times):',
      row('signal-with-start → first workflow task started', hist.signalWithStartToFirstWft),
      row('first workflow task: scheduled → started', hist.firstWftWait),
      row('first workflow task: started → completed', hist.firstWftRun),
      row('later workflow tasks: scheduled → started', hist.wftWait),
      row('later workflow tasks: started → completed', hist.wftRun),
      row('captureContainmentEvidence: scheduled → started', hist.captureWait),
      row('captureContainmentEvidence: started → completed', hist.captureRun),
      row('captureContainerEscapeContext: scheduled → started', hist.restWait),
      row('captureContainerEscapeContext: started → completed', hist.restRun),
      row('quarantinePod: scheduled → started', hist.quarantineWait),
      row('quarantinePod: started → completed', hist.quarantineRun),
      '',
      `Kube API calls from the worker (peak ${apiCalls.peak} in flight):`,
      ...[...apiCalls.calls].sort((a, b) => b[1].length - a[1].length).map(([name, d]) => `${row(name, d)}  total ${(d.reduce((x, y) => x + y, 0) / 1000).toFixed(1)} s`),
      `Evidence seals (LocalEvidenceStore, peak ${seals.peak} in flight):`,
      ...[...seals.calls].map(([name, d]) => `${row(name, d)}  total ${(d.reduce((x, y) => x + y, 0) / 1000).toFixed(1)} s`),
      row('fdatasync of one small append, before the run', fsyncBefore),
      row('fdatasync of one small append, after the run', fsyncAfter),
      '',
      `TLS connections to the kube-apiserver opened during the run: ${tlsConnections} (${(tlsConnections / count).toFixed(1)} per incident) for ${[...apiCalls.calls.values()].reduce((n, d) => n + d.length, 0)} API calls`,
      row('TLS connect + handshake', tlsHandshakes),
      `  probe before the run, GET one pod ×100 in sequence: on one keep-alive connection ${probe.reused.wall.toFixed(1)} ms, ${probe.reused.cpu.toFixed(1)} CPU ms here + ${probe.reused.server.toFixed(1)} in kube-apiserver per call; on a new connection each ${probe.fresh.wall.toFixed(1)} ms, ${probe.fresh.cpu.toFixed(1)} + ${probe.fresh.server.toFixed(1)} CPU ms`,
      `Main thread event-loop utilisation during the run: ${(elu.utilization * 100).toFixed(0)} % (workflow code runs on the SDK's own thread); libuv threadpool ${process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)'} threads`,
      `  event-loop delay p50 ${(loopDelay.percentile(50) / 1e6).toFixed(0)} ms  p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms  max ${(loopDelay.max / 1e6).toFixed(0)} ms`,
      `CPU seconds used during the run (wall ${(wallMs / 1000).toFixed(1)} s, 2 cores = ${((2 * wallMs) / 1000).toFixed(1)} CPU s available, shared with the rest of the machine):`,
      ...cpuLines,
      '',
    ];
    console.log(lines.join('\n'));

    agent.destroy();
    await intake.close();
    await clientConnection.close();
    worker.shutdown();
    await running;
    await connection.close();
    process.exitCode = notSeen === 0 ? 0 : 1;
  } finally {
    await sandbox.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
