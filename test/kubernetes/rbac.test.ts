import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ApiException, CoreV1Api, RbacAuthorizationV1Api, type V1ClusterRole, type V1ClusterRoleBinding } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { kubeClients, kubeClientsFor } from '../../src/wiring/clients.ts';
import { rollbackUpdate, type IncidentStatus } from '../../workflows/engine/messages.ts';
import { testDeps } from '../support/deps.ts';
import { waitForStatus } from '../support/engine.ts';
import { kubeConfig, sandbox, temporalClient, testNamespace } from '../support/servers.ts';
import { falcoEvent, fromFalco, policy, seedWorkload, startEscape, startRunbookWorker, timeline } from './support.ts';

const manifests = fileURLToPath(new URL('../../deploy/kubernetes/rbac.yaml', import.meta.url));
const client = await temporalClient();
const admin = kubeConfig();
const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
const done = new Set(['succeeded', 'failed', 'skipped', 'denied']);
const settled = (s: IncidentStatus) => s.steps.filter((x) => x.id !== 'rollback').every((x) => done.has(x.status));
const approvers = ['cli:alice', 'cli:bob', 'cli:carol'];

/**
 * Applies the shipped manifests with the worker's ServiceAccount in `namespace`
 * and cluster-wide names made unique, optionally editing the ClusterRoles
 * first; returns the ServiceAccount's username.
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
});
