/**
 * The workload the benchmarks seed: a node, a service account with a
 * RoleBinding, and a ReplicaSet owning `count` running pods — what the
 * container-escape evidence capture reads. No kubelet runs, so each pod's
 * running status is written through the status subresource.
 */
import { AppsV1Api, CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { mapLimit } from '../activities/evidence/common.ts';

export const benchNamespace = 'bench';
export const benchNode = 'bench-node';

/** Seeds the workload; resolves with the pods' names. */
export async function seedBenchPods(kc: KubeConfig, count: number): Promise<string[]> {
  const namespace = benchNamespace;
  const node = benchNode;
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await core.createNode({ body: { metadata: { name: node, labels: { 'kubernetes.io/hostname': node } } } });
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'web' } } });
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name: 'web-config' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: { metadata: { name: 'web-config' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'web-config' }, subjects: [{ kind: 'ServiceAccount', name: 'web', namespace }] },
  });
  const labels = { app: 'bench', 'pod-template-hash': '7d9c6b5f8' };
  const image = 'ghcr.io/example/web@sha256:'.padEnd(91, 'a');
  const podSpec = { serviceAccountName: 'web', containers: [{ name: 'web', image }] };
  const rs = await apps.createNamespacedReplicaSet({
    namespace,
    body: { metadata: { name: 'web-7d9c6b5f8', labels }, spec: { replicas: count, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec } } },
  });
  const pods = Array.from({ length: count }, (_, i) => `web-7d9c6b5f8-${String(i).padStart(4, '0')}`);
  await mapLimit(pods, 8, async (name) => {
    const created = await core.createNamespacedPod({
      namespace,
      body: { metadata: { name, labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata!.name!, uid: rs.metadata!.uid!, controller: true }] }, spec: { ...podSpec, nodeName: node } },
    });
    await core.replaceNamespacedPodStatus({
      name,
      namespace,
      body: { ...created, status: { phase: 'Running', podIP: '10.244.1.10', hostIP: '10.0.0.20', containerStatuses: [{ name: 'web', ready: true, restartCount: 0, image, imageID: '', state: { running: {} } }] } },
    });
  });
  return pods;
}
