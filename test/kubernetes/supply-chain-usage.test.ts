/**
 * findImageUsage and captureSupplyChainKubeEvidence on the real
 * kube-apiserver. There is no kubelet: pod status (imageID) is written
 * through the status subresource, as a kubelet would.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, BatchV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1ContainerStatus, type V1PodSpec } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createKubernetesActivities, type ImageUsage } from '../../activities/kubernetes/index.ts';
import { testDeps } from '../support/deps.ts';
import { kubeConfig, testNamespace, uniqueName } from '../support/servers.ts';

const deps = await testDeps();
const kube = createKubernetesActivities(deps);
const core = kubeConfig().makeApiClient(CoreV1Api);
const apps = kubeConfig().makeApiClient(AppsV1Api);
const batch = kubeConfig().makeApiClient(BatchV1Api);

// Digests of this file only (the block policy is cluster-wide; other files use other digests).
const bad = `sha256:${'1'.repeat(64)}`;
const badConfigId = `sha256:${'2'.repeat(64)}`;
const other = `sha256:${'3'.repeat(64)}`;
const repo = '127.0.0.1:5000/usage/web'; // references of this file only: another file's block lists shop/web tags
const badTag = `${repo}:1.4`;
const roleArn = 'arn:aws:iam::123456789012:role/shop-web';

let ns: string;
let usage: ImageUsage;

async function seedPod(name: string, spec: V1PodSpec, status: { containerStatuses?: V1ContainerStatus[]; initContainerStatuses?: V1ContainerStatus[] } = {}, owner?: { kind: string; name: string; uid: string; apiVersion: string }) {
  const created = await core.createNamespacedPod({
    namespace: ns,
    body: { metadata: { name, ...(owner === undefined ? {} : { ownerReferences: [{ ...owner, controller: true }] }) }, spec },
  });
  if (Object.keys(status).length > 0) await core.replaceNamespacedPodStatus({ name, namespace: ns, body: { ...created, status: { phase: 'Running', ...status } } });
  return created;
}

const running = (name: string, image: string, imageID: string): V1ContainerStatus => ({ name, image, imageID, ready: true, restartCount: 0, state: { running: {} } });

beforeAll(async () => {
  ns = await testNamespace('sc-usage');
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'web', annotations: { 'eks.amazonaws.com/role-arn': roleArn } } } });
  const template = (image: string) => ({ metadata: { labels: { app: 'web' } }, spec: { serviceAccountName: 'web', containers: [{ name: 'web', image }] } });
  const deployment = await apps.createNamespacedDeployment({
    namespace: ns,
    body: { metadata: { name: 'web' }, spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: template(`${repo}@${bad}`) } },
  });
  const rs = await apps.createNamespacedReplicaSet({
    namespace: ns,
    body: {
      metadata: { name: 'web-5d8f', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: deployment.metadata!.uid!, controller: true }] },
      spec: { selector: { matchLabels: { app: 'web' } }, template: template(`${repo}@${bad}`) },
    },
  });
  const cron = await batch.createNamespacedCronJob({
    namespace: ns,
    body: { metadata: { name: 'nightly' }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'task', image: badTag }] } } } } } },
  });
  const job = await batch.createNamespacedJob({
    namespace: ns,
    body: {
      metadata: { name: 'nightly-29000', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly', uid: cron.metadata!.uid!, controller: true }] },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'task', image: `${repo}@${other}` }] } } },
    },
  });
  const rsOwner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f', uid: rs.metadata!.uid! };
  // A tag in the spec; the runtime reports the digest it pulled as docker-pullable://…
  await seedPod(
    'web-5d8f-pullable',
    {
      serviceAccountName: 'web',
      containers: [{ name: 'web', image: `${repo}:latest`, env: [{ name: 'DB', valueFrom: { secretKeyRef: { name: 'db-password', key: 'p' } } }] }],
      imagePullSecrets: [{ name: 'regcred' }],
      volumes: [{ name: 'tls', secret: { secretName: 'web-tls' } }, { name: 'p', projected: { sources: [{ secret: { name: 'api-token' } }] } }],
    },
    { containerStatuses: [running('web', `${repo}:latest`, `docker-pullable://${repo}@${bad}`)] },
    rsOwner,
  );
  await seedPod('web-5d8f-plain', { serviceAccountName: 'web', containers: [{ name: 'web', image: `${repo}:latest`, envFrom: [{ secretRef: { name: 'web-env' } }] }] }, { containerStatuses: [running('web', `${repo}:latest`, `${repo}@${bad}`)] }, rsOwner);
  await seedPod('bare-config-id', { containers: [{ name: 'web', image: 'web:dev' }] }, { containerStatuses: [running('web', 'web:dev', badConfigId)] });
  await seedPod('init-user', { containers: [{ name: 'app', image: `${repo}@${other}` }], initContainers: [{ name: 'setup', image: `${repo}@${bad}` }] });
  await seedPod('tagged', { containers: [{ name: 'task', image: badTag }] }, {}, { apiVersion: 'batch/v1', kind: 'Job', name: 'nightly-29000', uid: job.metadata!.uid! });
  await seedPod('clean', { containers: [{ name: 'app', image: `${repo}@${other}` }] }, { containerStatuses: [running('app', `${repo}@${other}`, `${repo}@${other}`)] });
  const debug = await seedPod('debugged', { containers: [{ name: 'app', image: `${repo}@${other}` }] });
  await core.patchNamespacedPodEphemeralcontainers(
    { name: debug.metadata!.name!, namespace: ns, body: { spec: { ephemeralContainers: [{ name: 'debug', image: `${repo}@${bad}` }] } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  usage = await kube.findImageUsage({ digests: [bad, badConfigId], images: [badTag] });
});

const podsOf = () => usage.pods.filter((p) => p.namespace === ns);
const podNamed = (name: string) => podsOf().find((p) => p.pod === name);

describe('findImageUsage on the real kube-apiserver', () => {
  it('finds a pod through a docker-pullable:// imageID although its spec names a tag', () => {
    expect(podNamed('web-5d8f-pullable')?.images).toEqual([{ container: 'web', kind: 'container', image: `${repo}:latest`, digest: bad }]);
  });

  it('finds a pod through a repo@sha256 imageID', () => {
    expect(podNamed('web-5d8f-plain')?.images[0]?.digest).toBe(bad);
  });

  it('finds a pod through a bare config id imageID', () => {
    expect(podNamed('bare-config-id')?.images[0]?.digest).toBe(badConfigId);
  });

  it('finds init and ephemeral containers on the digest, listing only the affected ones', () => {
    expect(podNamed('init-user')?.images).toEqual([{ container: 'setup', kind: 'init', image: `${repo}@${bad}`, digest: bad }]);
    expect(podNamed('debugged')?.images).toEqual([{ container: 'debug', kind: 'ephemeral', image: `${repo}@${bad}`, digest: bad }]);
  });

  it('finds a pod using a scoped image reference verbatim, and leaves clean pods out', () => {
    expect(podNamed('tagged')?.images[0]?.image).toBe(badTag);
    expect(podNamed('clean')).toBeUndefined();
    expect(podsOf()).toHaveLength(6);
  });

  it('names the workload at the top of the owner chain: ReplicaSet → Deployment, Job → CronJob', () => {
    expect(podNamed('web-5d8f-pullable')?.owner).toEqual({ kind: 'Deployment', namespace: ns, name: 'web' });
    expect(podNamed('tagged')?.owner).toEqual({ kind: 'CronJob', namespace: ns, name: 'nightly' });
    expect(podNamed('bare-config-id')?.owner).toBeUndefined();
  });

  it('lists the secrets a pod mounts or references by name, and its IRSA role', () => {
    expect(podNamed('web-5d8f-pullable')).toMatchObject({ secrets: ['api-token', 'db-password', 'regcred', 'web-tls'], serviceAccount: 'web', awsRoleArn: roleArn });
    expect(podNamed('web-5d8f-plain')?.secrets).toEqual(['web-env']);
  });

  it('finds the workload templates that would start more: a Deployment by digest, a CronJob by reference', () => {
    const workloads = usage.workloads.filter((w) => w.namespace === ns).map(({ kind, name, replicas, awsRoleArn }) => ({ kind, name, replicas, awsRoleArn }));
    expect(workloads).toEqual([
      { kind: 'Deployment', name: 'web', replicas: 3, awsRoleArn: roleArn },
      { kind: 'CronJob', name: 'nightly', replicas: undefined, awsRoleArn: undefined },
    ]);
    expect(usage.scanned.pods).toBeGreaterThanOrEqual(7);
  });

  it('refuses an invalid digest before any request', async () => {
    await expect(kube.findImageUsage({ digests: ['sha256:nothex'] })).rejects.toMatchObject({ type: 'KubernetesInvalidName', nonRetryable: true });
  });
});

describe('captureSupplyChainKubeEvidence', () => {
  it('seals the pods and workloads as found in a few items, recording a gone pod in the manifest', async () => {
    const incidentId = uniqueName('inc-sc-evidence');
    const { refs } = await kube.captureSupplyChainKubeEvidence({
      incidentId,
      pods: [...podsOf().map((p) => ({ namespace: p.namespace, pod: p.pod })), { namespace: ns, pod: 'gone-already' }],
      workloads: usage.workloads.filter((w) => w.namespace === ns).map(({ kind, namespace, name }) => ({ kind, namespace, name })),
      blockNamespace: 'firebreak-blocks',
    });
    expect(refs.map((r) => r.name)).toEqual(['supply-chain/kube-manifest.json', 'supply-chain/pods.json', 'supply-chain/workloads.json', 'supply-chain/block-policy.json']);
    const read = async (i: number) => JSON.parse(await readFile(fileURLToPath(refs[i]!.uri), 'utf8')) as unknown;
    expect(await read(0)).toMatchObject({ found: { pods: 6, workloads: 2 }, gone: [{ kind: 'Pod', namespace: ns, name: 'gone-already' }] });
    const pods = (await read(1)) as { kind: string; metadata: { name: string } }[];
    expect(pods.map((p) => p.metadata.name).sort()).toEqual(podsOf().map((p) => p.pod).sort());
    expect(pods[0]?.kind).toBe('Pod');
  });
});
