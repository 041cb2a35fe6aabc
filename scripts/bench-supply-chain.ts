/**
 * Benchmark (not a test): the supply-chain runbook on a large estate. Starts
 * its own sandbox (Temporal dev server, etcd, kube-apiserver), seeds a
 * cluster of PODS pods over WORKLOADS Deployments (with ReplicaSets; pod
 * status written through the status subresource) and SBOMS SBOM files of
 * which 5% carry the bad package, runs a worker with the real activities,
 * starts one incident on the package with the block gate lifted, and prints
 * the time from the start request to "scope sealed" (the preserve step's
 * last evidence) and to "block enforced" (the canary denied), from the
 * worker's timeline events. `npm run bench:supply-chain [-- PODS WORKLOADS SBOMS]`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { LocalEvidenceStore } from '../activities/evidence/index.ts';
import type { Notice } from '../activities/index.ts';
import { emptyScope } from '../src/config/scope.ts';
import { incidentIdFor } from '../src/incidents/ids.ts';
import { openIncident } from '../src/incidents/open.ts';
import { loadRunbookFile } from '../src/runbooks/loader.ts';
import { startSandbox } from '../src/sandbox/servers.ts';
import { ensureTools } from '../src/sandbox/tools.ts';
import { kubeClients } from '../src/wiring/clients.ts';
import { createWorker } from '../src/worker/index.ts';
import { workflowCatalog } from '../workflows/catalog.ts';

const [podCount, workloadCount, sbomCount] = [Number(process.argv[2] ?? 5000), Number(process.argv[3] ?? 500), Number(process.argv[4] ?? 1000)];
const namespaces = 10;
const badShare = 0.05;

const digestOf = (seed: string) => `sha256:${Buffer.from(seed.padEnd(32, '.')).toString('hex').slice(0, 64)}`;

/** Runs `work` over `items`, `n` at a time. */
async function pool<T>(items: readonly T[], n: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

const log = (line: string) => console.error(`[bench] ${line}`);
const tools = await ensureTools((l) => console.error(`[tools] ${l}`));
const sandbox = await startSandbox({ tools, ownerId: `bench-sc-${process.pid}-${randomBytes(4).toString('hex')}`, temporal: {}, kubernetes: true });
const dir = await mkdtemp(join(tmpdir(), 'firebreak-bench-sc-'));
try {
  const kube = kubeClients(sandbox.kubernetes!.kubeconfigPath);
  const core = kube.config.makeApiClient(CoreV1Api);
  const apps = kube.config.makeApiClient(AppsV1Api);
  await core.createNode({ body: { metadata: { name: 'bench-node' } } });
  for (let n = 0; n < namespaces; n++) await core.createNamespace({ body: { metadata: { name: `shop-${n}` } } });

  // Workloads: app-i in namespace shop-(i mod 10), image registry.bench/app-i; the first 5% of apps are built with the bad package.
  const workloads = Array.from({ length: workloadCount }, (_, i) => ({ i, namespace: `shop-${i % namespaces}`, name: `app-${i}`, digest: digestOf(`app-${i}`) }));
  const seedStart = performance.now();
  const rsUid = new Map<number, string>();
  await pool(workloads, 16, async (w) => {
    const labels = { app: w.name };
    const image = `registry.bench/shop/${w.name}@${w.digest}`;
    const spec = { containers: [{ name: 'main', image }] };
    const d = await apps.createNamespacedDeployment({
      namespace: w.namespace,
      body: { metadata: { name: w.name, labels }, spec: { replicas: podCount / workloadCount, selector: { matchLabels: labels }, template: { metadata: { labels }, spec } } },
    });
    const rs = await apps.createNamespacedReplicaSet({
      namespace: w.namespace,
      body: {
        metadata: { name: `${w.name}-7f`, labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: w.name, uid: d.metadata!.uid!, controller: true }] },
        spec: { replicas: podCount / workloadCount, selector: { matchLabels: labels }, template: { metadata: { labels }, spec } },
      },
    });
    rsUid.set(w.i, rs.metadata!.uid!);
  });
  const pods = Array.from({ length: podCount }, (_, p) => ({ p, w: workloads[p % workloadCount]! }));
  await pool(pods, 32, async ({ p, w }) => {
    const name = `${w.name}-7f-${p}`;
    const image = `registry.bench/shop/${w.name}@${w.digest}`;
    const pod = await core.createNamespacedPod({
      namespace: w.namespace,
      body: {
        metadata: { name, labels: { app: w.name }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${w.name}-7f`, uid: rsUid.get(w.i)!, controller: true }] },
        spec: { nodeName: 'bench-node', containers: [{ name: 'main', image: `registry.bench/shop/${w.name}:1.0` }] },
      },
    });
    await core.replaceNamespacedPodStatus({
      name,
      namespace: w.namespace,
      body: { ...pod, status: { phase: 'Running', containerStatuses: [{ name: 'main', ready: true, restartCount: 0, image, imageID: `docker-pullable://${image}` }] } },
    });
  });
  log(`seeded ${workloadCount} workloads and ${podCount} pods in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);

  // SBOMs: one per workload image, the rest for images not deployed; 5% carry chalk 5.6.1.
  const sbomDir = join(dir, 'sboms');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(sbomDir);
  for (let s = 0; s < sbomCount; s++) {
    const bad = s < sbomCount * badShare;
    const name = s < workloadCount ? `shop/app-${s}` : `shop/unused-${s}`;
    const components = Array.from({ length: 200 }, (_, c) => ({ type: 'library', name: `lib-${c}`, version: `1.${c}.0`, purl: `pkg:npm/lib-${c}@1.${c}.0` }));
    components.push({ type: 'library', name: 'chalk', version: bad ? '5.6.1' : '5.6.0', purl: `pkg:npm/chalk@${bad ? '5.6.1' : '5.6.0'}` });
    await writeFile(
      join(sbomDir, `${s}.cdx.json`),
      JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', metadata: { component: { type: 'container', name: `registry.bench/${name}`, version: digestOf(name.replace('shop/', '')) } }, components }),
    );
  }

  const { policy } = await loadRunbookFile(new URL('../runbooks/supply-chain.yaml', import.meta.url).pathname, { catalog: workflowCatalog, groups: {} });
  const temporal = { TEMPORAL_ADDRESS: sandbox.temporal!.address, TEMPORAL_NAMESPACE: sandbox.temporal!.namespace, FIREBREAK_TASK_QUEUE: 'bench' };
  const marks = new Map<string, number>();
  const { worker, connection } = await createWorker({
    config: temporal,
    deps: {
      kube,
      sts: undefined,
      notifier: { send: (_n: Notice) => Promise.resolve() },
      evidence: new LocalEvidenceStore(join(dir, 'evidence')),
      supplyChainScope: { ...emptyScope, sbomSources: [{ directory: sbomDir }] },
    },
    onTimelineEvent: (event) => {
      const at = performance.now();
      if (event.type === 'evidence.sealed' && event.step === 'preserve-evidence') marks.set('scope sealed', at);
      if (event.type === 'check.passed' && event.step === 'block-digests') marks.set('block enforced', at);
      if (event.type === 'check.failed' || event.type === 'action.failed') log(`${event.type}: ${JSON.stringify(event.data)}`);
    },
  });
  const running = worker.run();
  const clientConnection = await Connection.connect({ address: temporal.TEMPORAL_ADDRESS });
  const client = new Client({ connection: clientConnection, namespace: temporal.TEMPORAL_NAMESPACE });

  const correlationKey = `bench:${randomBytes(3).toString('hex')}`;
  const incidentId = incidentIdFor(policy.id, correlationKey);
  const started = performance.now();
  await openIncident(client, {
    workflowType: 'supplyChain',
    taskQueue: temporal.FIREBREAK_TASK_QUEUE,
    correlationKey,
    input: {
      policy,
      groups: {},
      requester: 'cli:bench',
      mode: 'live',
      trigger: { source: 'cli', severity: 'critical', summary: 'chalk 5.6.1 (bench)', receivedAt: new Date().toISOString() },
      targets: [{ kind: 'package', id: 'pkg:npm/chalk@5.6.1' }],
      autoContainSteps: ['block-digests'],
    },
  });
  const deadline = performance.now() + 120_000;
  while (!marks.has('block enforced') && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const status = await client.workflow.getHandle(incidentId).query('status');
  const fmt = (name: string) => (marks.has(name) ? `${((marks.get(name)! - started) / 1000).toFixed(2)} s` : 'not reached in 120 s');
  console.log(`supply-chain runbook on ${podCount} pods over ${workloadCount} workloads and ${sbomCount} SBOMs (${Math.round(sbomCount * badShare)} affected), load average ${loadavg()[0]!.toFixed(2)} on this machine:`);
  console.log(`  start → scope sealed    ${fmt('scope sealed')}   (target ≤ 10 s)`);
  console.log(`  start → block enforced  ${fmt('block enforced')}   (target ≤ 12 s; canary denied)`);
  console.log(`  incident ${incidentId}: ${JSON.stringify((status as { counts?: unknown }).counts)}`);

  worker.shutdown();
  await running;
  await clientConnection.close();
  await connection.close();
} finally {
  await sandbox.stop();
  await rm(dir, { recursive: true, force: true });
}
