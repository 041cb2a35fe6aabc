/**
 * The Kubernetes writes one by one in dry-run, straight through the
 * activities, against the real kube-apiserver: each is accepted (the API
 * server ran it, admission included) and nothing is persisted. Deleting a pod
 * is the case that mattered: its DeleteOptions body carries a uid
 * precondition, and kube-apiserver ignores the dryRun query parameter when
 * there is a body.
 */
import { ApiException, CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createKubernetesActivities } from '../../activities/kubernetes/index.ts';
import { testDeps } from '../support/deps.ts';
import { kubeConfig, testNamespace } from '../support/servers.ts';
import { seedWorkload } from '../kubernetes/support.ts';
import { kubernetesWorld, differences } from './world.ts';

const deps = await testDeps();
const k8s = createKubernetesActivities(deps);
const core = kubeConfig().makeApiClient(CoreV1Api);

async function podState(namespace: string, name: string) {
  try {
    const p = await core.readNamespacedPod({ name, namespace });
    return { uid: p.metadata?.uid, deleting: p.metadata?.deletionTimestamp !== undefined };
  } catch (e) {
    if (e instanceof ApiException && e.code === 404) return 'gone';
    throw e;
  }
}

describe('Kubernetes writes in dry-run', () => {
  it('delete-pod with its uid precondition leaves the pod as it was', async () => {
    const w = await seedWorkload(await testNamespace('dry-delete'));
    const before = await podState(w.namespace, w.pods[0]);
    const uid = (before as { uid: string }).uid;
    const r = await k8s.deletePod({ incidentId: 'inc-dry', namespace: w.namespace, pod: w.pods[0], uid, mode: 'dry-run' });
    expect(r).toMatchObject({ outcome: 'changed', detail: expect.stringMatching(/^dry-run \(dryRun=All, nothing persisted\): would have deleted pod/) });
    expect(await podState(w.namespace, w.pods[0])).toEqual({ uid, deleting: false });
  });

  it('delete-pod in live mode deletes it (control)', async () => {
    const w = await seedWorkload(await testNamespace('live-delete'));
    const { uid } = (await podState(w.namespace, w.pods[0])) as { uid: string };
    await k8s.deletePod({ incidentId: 'inc-live', namespace: w.namespace, pod: w.pods[0], uid, mode: 'live' });
    // No kubelet confirms termination: a graceful delete leaves the pod terminating.
    expect(await podState(w.namespace, w.pods[0])).toEqual({ uid, deleting: true });
  });

  it('every other write — quarantine, detach, restore labels, release, cordon, uncordon — persists nothing', async () => {
    const w = await seedWorkload(await testNamespace('dry-writes'));
    const before = await kubernetesWorld(kubeConfig(), w.namespace, w.node);
    const ref = { incidentId: 'inc-dry', namespace: w.namespace, pod: w.pods[0], mode: 'dry-run' as const };
    const node = { incidentId: 'inc-dry', node: w.node, mode: 'dry-run' as const };
    await k8s.quarantinePod(ref);
    const { removed } = await k8s.detachPodFromRotation(ref);
    expect(Object.keys(removed).length).toBeGreaterThan(0);
    await k8s.restorePodLabels({ ...ref, labels: removed });
    await k8s.releasePod(ref);
    await k8s.cordonNode(node);
    await k8s.uncordonNode(node);
    expect(differences(before, await kubernetesWorld(kubeConfig(), w.namespace, w.node))).toEqual([]);
  });
});
