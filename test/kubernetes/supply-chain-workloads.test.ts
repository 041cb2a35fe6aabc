/** scaleWorkload and repinWorkload, and their undos, on the real kube-apiserver. */
import { AppsV1Api, BatchV1Api } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createKubernetesActivities, kubeFailure, scaleAnnotation, type WorkloadRef } from '../../activities/kubernetes/index.ts';
import { testDeps } from '../support/deps.ts';
import { kubeConfig, testNamespace, uniqueName } from '../support/servers.ts';

const deps = await testDeps();
const kube = createKubernetesActivities(deps);
const apps = kubeConfig().makeApiClient(AppsV1Api);
const batch = kubeConfig().makeApiClient(BatchV1Api);
// The one block namespace of the cluster (the binding is shared by every incident and test file).
const blockNamespace = 'firebreak-blocks';
const repo = '127.0.0.1:5000/workloads/web'; // references of this file only
const bad = `${repo}@sha256:${'4'.repeat(64)}`;
const fixed = `${repo}@sha256:${'5'.repeat(64)}`;
const alsoBad = `sha256:${'6'.repeat(64)}`;

let ns: string;
beforeAll(async () => {
  ns = await testNamespace('sc-workloads');
});

async function deployment(replicas = 3): Promise<WorkloadRef> {
  const name = uniqueName('web').toLowerCase();
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name },
      spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: bad }] } } },
    },
  });
  return { kind: 'Deployment', namespace: ns, name };
}

// The Deployment's own spec.replicas: the Scale object omits a count of 0.
const replicasOf = async (w: WorkloadRef) => (await apps.readNamespacedDeployment({ name: w.name, namespace: ns })).spec?.replicas;
const imageOf = async (w: WorkloadRef) => (await apps.readNamespacedDeployment({ name: w.name, namespace: ns })).spec?.template.spec?.containers[0]?.image;

describe('scaleWorkload', () => {
  it('scales a Deployment to zero through the scale subresource and restores its replicas', async () => {
    const w = await deployment(3);
    const incidentId = uniqueName('inc-scale');
    const r = await kube.scaleWorkload({ incidentId, workload: w, replicas: 0, mode: 'live' });
    expect(r).toMatchObject({ outcome: 'changed', previousReplicas: 3 });
    expect(await replicasOf(w)).toBe(0);
    await kube.restoreWorkloadScale({ incidentId, workload: w, replicas: r.previousReplicas!, mode: 'live' });
    expect(await replicasOf(w)).toBe(3);
    expect((await apps.readNamespacedDeployment({ name: w.name, namespace: ns })).metadata?.annotations?.[scaleAnnotation(incidentId)]).toBeUndefined();
  });

  it('still reports the original count on a retry after the first scale', async () => {
    const w = await deployment(4);
    const incidentId = uniqueName('inc-scale');
    await kube.scaleWorkload({ incidentId, workload: w, replicas: 0, mode: 'live' });
    const retry = await kube.scaleWorkload({ incidentId, workload: w, replicas: 0, mode: 'live' });
    expect(retry).toMatchObject({ outcome: 'changed', previousReplicas: 4 });
    expect(await replicasOf(w)).toBe(0);
  });

  it('changes nothing in dry-run', async () => {
    const w = await deployment(2);
    const r = await kube.scaleWorkload({ incidentId: uniqueName('inc-dry'), workload: w, replicas: 0, mode: 'dry-run' });
    expect(r.detail).toContain('dry-run');
    expect(await replicasOf(w)).toBe(2);
    expect((await apps.readNamespacedDeployment({ name: w.name, namespace: ns })).metadata?.annotations ?? {}).not.toHaveProperty([scaleAnnotation('x')]);
  });

  it('suspends a CronJob and resumes it on restore', async () => {
    const name = uniqueName('nightly').toLowerCase();
    await batch.createNamespacedCronJob({
      namespace: ns,
      body: { metadata: { name }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'task', image: bad }] } } } } } },
    });
    const w: WorkloadRef = { kind: 'CronJob', namespace: ns, name };
    const incidentId = uniqueName('inc-cron');
    expect((await kube.scaleWorkload({ incidentId, workload: w, replicas: 0, mode: 'live' })).outcome).toBe('changed');
    expect((await batch.readNamespacedCronJob({ name, namespace: ns })).spec?.suspend).toBe(true);
    await kube.restoreWorkloadScale({ incidentId, workload: w, replicas: 0, mode: 'live' });
    expect((await batch.readNamespacedCronJob({ name, namespace: ns })).spec?.suspend).toBe(false);
  });

  it('refuses a DaemonSet with a non-retryable failure saying to quarantine its pods', async () => {
    const w: WorkloadRef = { kind: 'DaemonSet', namespace: ns, name: 'agent' };
    await expect(kube.scaleWorkload({ incidentId: 'inc', workload: w, replicas: 0, mode: 'live' })).rejects.toMatchObject({
      type: kubeFailure.notScalable,
      nonRetryable: true,
      message: expect.stringContaining('Quarantine its pods'),
    });
  });
});

describe('repinWorkload', () => {
  it('re-pins the template container to a clean digest and restores the previous image', async () => {
    const w = await deployment();
    const incidentId = uniqueName('inc-repin');
    const r = await kube.repinWorkload({ incidentId, workload: w, container: 'web', image: fixed, blockNamespace, mode: 'live' });
    expect(r).toMatchObject({ outcome: 'changed', previousImage: bad });
    expect(await imageOf(w)).toBe(fixed);
    const retry = await kube.repinWorkload({ incidentId, workload: w, container: 'web', image: fixed, blockNamespace, mode: 'live' });
    expect(retry).toMatchObject({ outcome: 'changed', previousImage: bad });
    await kube.restoreWorkloadImage({ incidentId, workload: w, container: 'web', image: r.previousImage!, mode: 'live' });
    expect(await imageOf(w)).toBe(bad);
  });

  it('is refused while the digest is listed in a Firebreak block', async () => {
    const w = await deployment();
    const blocker = uniqueName('inc-block');
    await kube.blockImages({ incidentId: blocker, digests: [alsoBad], images: [], blockNamespace, mode: 'live' });
    try {
      await expect(kube.repinWorkload({ incidentId: uniqueName('inc-repin'), workload: w, container: 'web', image: `${repo}@${alsoBad}`, blockNamespace, mode: 'live' })).rejects.toMatchObject({
        type: kubeFailure.imageRefused,
        nonRetryable: true,
        message: expect.stringContaining(blocker),
      });
      expect(await imageOf(w)).toBe(bad);
    } finally {
      await kube.unblockImages({ incidentId: blocker, blockNamespace, mode: 'live' });
    }
  });

  it('refuses an image not pinned by digest', async () => {
    const w = await deployment();
    await expect(kube.repinWorkload({ incidentId: 'inc', workload: w, container: 'web', image: `${repo}:1.5`, blockNamespace, mode: 'live' })).rejects.toMatchObject({
      type: kubeFailure.imageRefused,
    });
  });

  it('changes nothing in dry-run', async () => {
    const w = await deployment();
    const r = await kube.repinWorkload({ incidentId: uniqueName('inc-dry'), workload: w, container: 'web', image: fixed, blockNamespace, mode: 'dry-run' });
    expect(r.detail).toContain('dry-run');
    expect(await imageOf(w)).toBe(bad);
  });
});

describe('restoreWorkloadImage', () => {
  it('fails as an admission denial, not a missing permission, when the image to restore is still blocked', async () => {
    const w = await deployment();
    const incidentId = uniqueName('inc-restore');
    const r = await kube.repinWorkload({ incidentId, workload: w, container: 'web', image: fixed, blockNamespace, mode: 'live' });
    const blocker = uniqueName('inc-keeps');
    await kube.blockImages({ incidentId: blocker, digests: [bad.split('@')[1]!], images: [], blockNamespace, mode: 'live' });
    try {
      await kube.proveBlock({ incidentId: blocker, digest: bad.split('@')[1]!, image: bad, controlImage: fixed, namespace: ns });
      await expect(kube.restoreWorkloadImage({ incidentId, workload: w, container: 'web', image: r.previousImage!, mode: 'live' })).rejects.toMatchObject({
        type: kubeFailure.admissionDenied,
        nonRetryable: true,
        message: expect.stringContaining(blocker),
      });
      expect(await imageOf(w)).toBe(fixed);
    } finally {
      await kube.unblockImages({ incidentId: blocker, blockNamespace, mode: 'live' });
    }
  });
});

describe('names checked before any request', () => {
  it('refuses a workload named ".." (a dot segment would read another object) and an unknown kind', async () => {
    await expect(kube.scaleWorkload({ incidentId: 'inc', workload: { kind: 'Deployment', namespace: ns, name: '..' }, replicas: 0, mode: 'live' })).rejects.toMatchObject({
      type: kubeFailure.invalidName,
      nonRetryable: true,
    });
    await expect(
      kube.repinWorkload({ incidentId: 'inc', workload: { kind: 'ReplicaSet' as 'Deployment', namespace: ns, name: 'web' }, container: 'web', image: fixed, blockNamespace, mode: 'live' }),
    ).rejects.toMatchObject({ type: kubeFailure.invalidName });
  });

  it('refuses an image reference with whitespace, which would split into two ConfigMap lines', async () => {
    await expect(kube.blockImages({ incidentId: 'inc', digests: [], images: [`${repo}:1.4\n*`], blockNamespace, mode: 'live' })).rejects.toMatchObject({ type: kubeFailure.invalidName });
  });
});
