/**
 * Benchmark (not a test): alert-to-isolation latency of the container-escape
 * runbook. Starts its own sandbox (Temporal dev server, etcd, kube-apiserver),
 * a worker with the real activities, seeds N pods, then for each pod starts an
 * incident from a Falco breakout alert (auto-contained) and measures the time
 * from the start request to the incident's NetworkPolicy being seen by a
 * watch on the API server. Prints p50/p99. `npm run bench:isolation [-- N]`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, Watch, type V1NetworkPolicy } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { LocalEvidenceStore } from '../activities/evidence/index.ts';
import type { Notice } from '../activities/index.ts';
import { kubeClients } from '../src/wiring/clients.ts';
import { openIncident } from '../src/incidents/open.ts';
import { loadRunbookFile } from '../src/runbooks/loader.ts';
import { startSandbox } from '../src/sandbox/servers.ts';
import { ensureTools } from '../src/sandbox/tools.ts';
import { createWorker } from '../src/worker/index.ts';
import { workflowCatalog } from '../workflows/catalog.ts';

const count = Number(process.argv[2] ?? 100);
const namespace = 'bench';
const node = 'bench-node';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const tools = await ensureTools((l) => console.error(`[tools] ${l}`));
const sandbox = await startSandbox({ tools, ownerId: `bench-${process.pid}-${randomBytes(4).toString('hex')}`, temporal: {}, kubernetes: true });
const evidenceDir = await mkdtemp(join(tmpdir(), 'firebreak-bench-'));
try {
  const kube = kubeClients(sandbox.kubernetes!.kubeconfigPath);
  const core = kube.config.makeApiClient(CoreV1Api);
  await core.createNode({ body: { metadata: { name: node } } });
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const pods = Array.from({ length: count }, (_, i) => `victim-${i}`);
  for (const name of pods) {
    await core.createNamespacedPod({
      namespace,
      body: { metadata: { name, labels: { app: 'bench' } }, spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox@sha256:'.padEnd(79, 'b') }] } },
    });
  }

  const { policy } = await loadRunbookFile(new URL('../runbooks/container-escape.yaml', import.meta.url).pathname, { catalog: workflowCatalog, groups: {} });
  const temporal = { TEMPORAL_ADDRESS: sandbox.temporal!.address, TEMPORAL_NAMESPACE: sandbox.temporal!.namespace, FIREBREAK_TASK_QUEUE: 'bench' };
  const { worker, connection } = await createWorker({
    config: temporal,
    deps: { kube, sts: undefined, notifier: { send: (_n: Notice) => Promise.resolve() }, evidence: new LocalEvidenceStore(evidenceDir) },
  });
  const running = worker.run();
  const clientConnection = await Connection.connect({ address: temporal.TEMPORAL_ADDRESS });
  const client = new Client({ connection: clientConnection, namespace: temporal.TEMPORAL_NAMESPACE });

  // Every NetworkPolicy the API server adds, by name, as a watch sees it.
  const seen = new Map<string, (at: number) => void>();
  const watch = await new Watch(kube.config).watch(`/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies`, {}, (type, obj: V1NetworkPolicy) => {
    if (type === 'ADDED') seen.get(obj.metadata?.annotations?.['firebreak.io/incident'] ?? '')?.(performance.now());
  }, (err: unknown) => {
    // The bench aborts its own watch when it is done; anything else ended it early.
    if (err && !(err instanceof Error && err.name === 'AbortError')) console.error('watch ended:', err);
  });

  const latencies: number[] = [];
  for (const pod of pods) {
    const e = { rule: 'Detect release_agent File Container Escapes', output: `release_agent write in ${namespace}/${pod}` };
    const input = {
      policy,
      groups: {},
      requester: 'cli:bench',
      mode: 'live' as const,
      trigger: { source: 'falco' as const, rule: e.rule, severity: 'critical' as const, summary: e.output, receivedAt: new Date().toISOString() },
      targets: [{ kind: 'pod' as const, id: `${namespace}/${pod}` }],
      autoContainSteps: ['isolate-pod', 'detach-from-rotation'],
    };
    const correlationKey = `bench:${namespace}/${pod}:${randomBytes(3).toString('hex')}`;
    const { incidentIdFor } = await import('../src/incidents/ids.ts');
    const incidentId = incidentIdFor(policy.id, correlationKey);
    const observed = new Promise<number>((resolve) => seen.set(incidentId, resolve));
    const started = performance.now();
    await openIncident(client, { workflowType: 'containerEscape', taskQueue: temporal.FIREBREAK_TASK_QUEUE, correlationKey, input });
    latencies.push((await observed) - started);
    seen.delete(incidentId);
  }
  watch.abort();

  const sorted = [...latencies].sort((a, b) => a - b);
  const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
  console.log(`alert-to-isolation latency over ${count} incidents on distinct pods (start request → NetworkPolicy ADDED on a watch):`);
  console.log(`  p50 ${fmt(percentile(sorted, 50))}   p99 ${fmt(percentile(sorted, 99))}   min ${fmt(sorted[0]!)}   max ${fmt(sorted.at(-1)!)}`);

  worker.shutdown();
  await running;
  await clientConnection.close();
  await connection.close();
} finally {
  await sandbox.stop();
  await rm(evidenceDir, { recursive: true, force: true });
}
