import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ApiException, AppsV1Api, CoreV1Api, RbacAuthorizationV1Api, type V1ClusterRole, type V1ClusterRoleBinding, type V1Role, type V1RoleBinding } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createKubernetesActivities } from '../../activities/kubernetes/index.ts';
import { kubeClients, kubeClientsFor } from '../../src/wiring/clients.ts';
import { rollbackUpdate, type IncidentStatus } from '../../workflows/engine/messages.ts';
import { testDeps } from '../support/deps.ts';
import { waitForStatus } from '../support/engine.ts';
import { kubeConfig, sandbox, temporalClient, testNamespace, uniqueName } from '../support/servers.ts';
import { falcoEvent, fromFalco, policy, seedWorkload, startEscape, startRunbookWorker, timeline } from './support.ts';

const manifests = fileURLToPath(new URL('../../deploy/kubernetes/rbac.yaml', import.meta.url));
const client = await temporalClient();
const admin = kubeConfig();
const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
const done = new Set(['succeeded', 'failed', 'skipped', 'denied']);
const settled = (s: IncidentStatus) => s.steps.filter((x) => x.id !== 'rollback').every((x) => done.has(x.status));
const approvers = ['cli:alice', 'cli:bob', 'cli:carol'];

/** The cluster's one block namespace (the shared binding reads every incident's ConfigMap there), as the other tests use it. */
const blockNamespace = 'firebreak-blocks';

async function ensureNamespace(name: string): Promise<void> {
  try {
    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  } catch (e) {
    if (!(e instanceof ApiException && e.code === 409)) throw e;
  }
}

/**
 * Applies the shipped manifests with the worker's ServiceAccount in `namespace`,
 * its block Role in the block namespace and cluster-wide names made unique,
 * optionally editing the ClusterRoles first; returns the ServiceAccount's username.
 */
async function applyManifests(namespace: string, edit: (role: V1ClusterRole) => void = () => undefined): Promise<string> {
  const docs = parseAllDocuments(await readFile(manifests, 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } });
  const suffix = `-${namespace}`;
  let account = '';
  for (const doc of docs) {
    if (doc.kind === 'ServiceAccount') {
      account = doc.metadata.name;
      await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccount({ namespace, body: { ...doc, metadata: { ...doc.metadata, namespace } } });
    } else if (doc.kind === 'ClusterRole') {
      const role = { ...(doc as V1ClusterRole), metadata: { ...doc.metadata, name: doc.metadata.name + suffix } };
      edit(role);
      await rbac.createClusterRole({ body: role });
      afterAll(() => rbac.deleteClusterRole({ name: role.metadata.name }).catch(ignore404));
    } else if (doc.kind === 'ClusterRoleBinding') {
      const b = doc as V1ClusterRoleBinding;
      const binding: V1ClusterRoleBinding = {
        ...b,
        metadata: { ...b.metadata, name: doc.metadata.name + suffix },
        roleRef: { ...b.roleRef, name: b.roleRef.name + suffix },
        subjects: (b.subjects ?? []).map((s) => ({ ...s, namespace })),
      };
      await rbac.createClusterRoleBinding({ body: binding });
      afterAll(() => rbac.deleteClusterRoleBinding({ name: binding.metadata!.name! }).catch(ignore404));
    } else if (doc.kind === 'Role') {
      await ensureNamespace(blockNamespace);
      const role = { ...(doc as V1Role), metadata: { ...doc.metadata, name: doc.metadata.name + suffix, namespace: blockNamespace } };
      await rbac.createNamespacedRole({ namespace: blockNamespace, body: role });
      afterAll(() => rbac.deleteNamespacedRole({ name: role.metadata.name, namespace: blockNamespace }).catch(ignore404));
    } else if (doc.kind === 'RoleBinding') {
      const b = doc as V1RoleBinding;
      const binding: V1RoleBinding = {
        ...b,
        metadata: { ...b.metadata, name: doc.metadata.name + suffix, namespace: blockNamespace },
        roleRef: { ...b.roleRef, name: b.roleRef.name + suffix },
        subjects: (b.subjects ?? []).map((s) => ({ ...s, namespace })),
      };
      await rbac.createNamespacedRoleBinding({ namespace: blockNamespace, body: binding });
      afterAll(() => rbac.deleteNamespacedRoleBinding({ name: binding.metadata!.name!, namespace: blockNamespace }).catch(ignore404));
    } else throw new Error(`unexpected kind ${doc.kind} in ${manifests}`);
  }
  return `system:serviceaccount:${namespace}:${account}`;
}

function ignore404(e: unknown): void {
  if (!(e instanceof ApiException && e.code === 404)) throw e;
}

/** The worker's activity dependencies, acting on Kubernetes as `user` (impersonated by the admin kubeconfig). */
async function depsAs(user: string) {
  const kube = kubeClients(sandbox().kubeconfigPath);
  kube.config.users = kube.config.users.map((u) => ({ ...u, impersonateUser: user }));
  // Clients built after the impersonation is set, as the composition root builds them from a kubeconfig.
  return testDeps({ kube: kubeClientsFor(kube.config) });
}

async function runAs(user: string) {
  const deps = await depsAs(user);
  const { taskQueue } = await startRunbookWorker(deps);
  const namespace = await testNamespace('rbac');
  const w = await seedWorkload(namespace);
  const p = await policy({ 'cordon-node': 'none', 'delete-pod': { approvers, required: 2, twoPerson: true, timeout: '1s', onTimeout: 'deny' }, rollback: 'none' });
  const handle = await startEscape(client, taskQueue, fromFalco(p, falcoEvent(w, w.pods[0])));
  return { w, handle, status: await waitForStatus(handle, settled) };
}

describe('the worker RBAC of deploy/kubernetes/rbac.yaml on the real kube-apiserver', () => {
  it('lets the worker service account run the whole runbook, evidence included, and roll it back', async () => {
    const home = await testNamespace('worker');
    const user = await applyManifests(home);
    const { handle, status } = await runAs(user);
    expect(status.counts.failures).toBe(0);
    const events = await timeline(handle);
    expect(events.filter((e) => e.type === 'action.succeeded').map((e) => e.step)).toEqual(['isolate-pod', 'detach-from-rotation', 'cordon-node']);
    for (const e of events) {
      if (e.type !== 'evidence.sealed' || e.data.name === 'logs.json') continue;
      // Nothing the runbook reads was refused (logs are unavailable for want of a kubelet, not of permission).
      expect(await readFile(fileURLToPath(e.data.uri), 'utf8'), e.data.name).not.toContain('HTTP 403');
    }
    const logs = events.find((e) => e.type === 'evidence.sealed' && e.data.name === 'logs.json');
    expect(logs?.type === 'evidence.sealed' && (await readFile(fileURLToPath(logs.data.uri), 'utf8'))).not.toContain('HTTP 403');
    await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob' }] });
    await waitForStatus(handle, (s) => s.phase === 'rolled-back');
    expect((await timeline(handle)).find((e) => e.type === 'rollback.finished')?.data).toEqual({ compensated: 3, failed: 0 });
  });

  it('turns a verb the RBAC withholds into a non-retryable failure naming the verb and the resource', async () => {
    const home = await testNamespace('worker');
    const user = await applyManifests(home, (role) => {
      for (const rule of role.rules ?? []) if (rule.resources?.includes('nodes')) rule.verbs = rule.verbs.filter((v) => v !== 'patch');
    });
    const { handle, status } = await runAs(user);
    expect(status.steps.find((s) => s.id === 'cordon-node')?.status).toBe('failed');
    const failed = (await timeline(handle)).find((e) => e.type === 'action.failed' && e.step === 'cordon-node');
    expect(failed?.data).toMatchObject({ errorType: 'KubernetesForbidden', error: expect.stringContaining('verb "patch" on resource "nodes"') });
    const history = await handle.fetchHistory();
    const attempts = history.events?.filter((e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt !== 1) ?? [];
    expect(attempts).toEqual([]);
    const failure = history.events?.find((e) => e.activityTaskFailedEventAttributes)?.activityTaskFailedEventAttributes?.failure;
    expect(failure?.applicationFailureInfo).toMatchObject({ type: 'KubernetesForbidden', nonRetryable: true });
  });

  it('lets the worker service account run the supply-chain Kubernetes activities, and undo them', async () => {
    const home = await testNamespace('worker');
    const user = await applyManifests(home);
    const kube = createKubernetesActivities(await depsAs(user));
    const namespace = await testNamespace('rbac-sc');
    const w = await seedWorkload(namespace);
    const digest = `sha256:${'a'.repeat(64)}`; // the seeded workload's digest
    const incidentId = uniqueName('inc-rbac-sc');
    const usage = await kube.findImageUsage({ digests: [digest] });
    const pods = usage.pods.filter((p) => p.namespace === namespace);
    expect(pods.map((p) => p.pod).sort()).toEqual([...w.pods].sort());
    expect(pods[0]).toMatchObject({ owner: { kind: 'Deployment', name: 'storefront' }, awsRoleArn: w.roleArn });
    const workload = { kind: 'Deployment' as const, namespace, name: 'storefront' };
    const { refs } = await kube.captureSupplyChainKubeEvidence({ incidentId, pods: pods.map((p) => ({ namespace, pod: p.pod })), workloads: [workload], blockNamespace });
    for (const r of refs) expect(await readFile(fileURLToPath(r.uri), 'utf8'), r.name).not.toContain('HTTP 403');
    // The block is cluster-wide: a digest of this test only, so other files' seeded workloads (on the "a" digest) stay admitted.
    const blocked = `sha256:${'7'.repeat(64)}`;
    expect((await kube.blockImages({ incidentId, digests: [blocked], images: [], blockNamespace, mode: 'live' })).outcome).toBe('changed');
    const clean = `ghcr.io/example/storefront@sha256:${'9'.repeat(64)}`;
    expect(await kube.proveBlock({ incidentId, digest: blocked, image: `ghcr.io/example/storefront@${blocked}`, controlImage: clean, namespace })).toMatchObject({
      denied: true,
      controlAllowed: true,
    });
    expect(await kube.quarantinePod({ incidentId, namespace, pod: w.pods[0], mode: 'live' })).toMatchObject({ outcome: 'changed' });
    const scaled = await kube.scaleWorkload({ incidentId, workload, replicas: 0, mode: 'live' });
    expect(scaled).toMatchObject({ outcome: 'changed', previousReplicas: 2 });
    const repinned = await kube.repinWorkload({ incidentId, workload, container: 'web', image: clean, blockNamespace, mode: 'live' });
    expect(repinned.outcome).toBe('changed');
    await kube.restoreWorkloadScale({ incidentId, workload, replicas: 2, mode: 'live' });
    await kube.unblockImages({ incidentId, blockNamespace, mode: 'live' });
    await kube.restoreWorkloadImage({ incidentId, workload, container: 'web', image: repinned.previousImage!, mode: 'live' });
    await kube.releasePod({ incidentId, namespace, pod: w.pods[0], mode: 'live' });
    const restored = await admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'storefront', namespace });
    expect({ replicas: restored.spec?.replicas, image: restored.spec?.template.spec?.containers[0]?.image }).toEqual({ replicas: 2, image: repinned.previousImage });
  });
});
