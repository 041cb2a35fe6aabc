/**
 * Scope of a supply-chain incident on one cluster: which pods run, and which
 * workload templates would start, an affected image. Read-only, whole
 * cluster, a fixed number of paginated list calls (never one request per
 * pod), so thousands of pods are scanned in seconds.
 */
import type { KubernetesListObject, KubernetesObject, V1ContainerStatus, V1OwnerReference, V1Pod, V1PodSpec, V1PodTemplateSpec } from '@kubernetes/client-node';
import { iamPrincipalProblem, serviceAccountProblem } from '../../domain/names.ts';
import { expectList, expectObject } from './checks.ts';
import { call, statusOf } from './errors.ts';
import { irsaAnnotation } from './names.ts';
import type { AffectedPod, AffectedWorkload, ImageUsage, ImageUse, KubeClients, WorkloadKind, WorkloadRef } from './types.ts';

const pageSize = 500;
/** Distinct service accounts read at once (one read each). */
const accountReads = 16;

/** The digest an image reference or imageID names: `repo@sha256:…`, `docker-pullable://repo@sha256:…`, or a bare `sha256:…` config id. */
export function digestOf(ref: string | undefined): string | undefined {
  if (ref === undefined || ref === '') return undefined;
  const at = ref.lastIndexOf('@');
  const tail = at === -1 ? ref.replace(/^[a-z-]+:\/\//, '') : ref.slice(at + 1);
  return /^sha256:[a-f0-9]{64}$/.test(tail) ? tail : undefined;
}

/** Every container of a pod spec with its kind (templates carry no ephemeral containers). */
export function containersOf(spec: V1PodSpec | undefined): { name: string; image: string; kind: ImageUse['kind'] }[] {
  if (spec === undefined) return [];
  return [
    ...(spec.initContainers ?? []).map((c) => ({ name: c.name, image: c.image ?? '', kind: 'init' as const })),
    ...(spec.containers ?? []).map((c) => ({ name: c.name, image: c.image ?? '', kind: 'container' as const })),
    ...(spec.ephemeralContainers ?? []).map((c) => ({ name: c.name, image: c.image ?? '', kind: 'ephemeral' as const })),
  ];
}

/** Names of the Secrets a pod spec mounts or references (names only; Secrets themselves are never read). */
export function secretsOf(spec: V1PodSpec | undefined): string[] {
  if (spec === undefined) return [];
  const names = new Set<string>();
  const add = (n: string | undefined) => {
    if (n !== undefined && n !== '') names.add(n);
  };
  for (const v of spec.volumes ?? []) {
    add(v.secret?.secretName);
    for (const s of v.projected?.sources ?? []) add(s.secret?.name);
  }
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])]) {
    for (const e of c.env ?? []) add(e.valueFrom?.secretKeyRef?.name);
    for (const e of c.envFrom ?? []) add(e.secretRef?.name);
  }
  for (const s of spec.imagePullSecrets ?? []) add(s.name);
  return [...names].sort();
}

/** The pod template of a workload object (a CronJob's is inside its jobTemplate). */
export function templateOf(kind: WorkloadKind, o: { spec?: unknown }): V1PodTemplateSpec | undefined {
  const spec = o.spec as { template?: V1PodTemplateSpec; jobTemplate?: { spec?: { template?: V1PodTemplateSpec } } } | undefined;
  return kind === 'CronJob' ? spec?.jobTemplate?.spec?.template : spec?.template;
}

interface Listed extends KubernetesObject {
  spec?: unknown;
}

/** Every page of a cluster-wide list. */
async function listAll<T extends Listed>(
  kind: string,
  resource: string,
  fn: (p: { limit: number; _continue?: string }) => Promise<KubernetesListObject<T>>,
): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined;
  do {
    const page = expectList(await call('list', resource, '(all namespaces)', () => fn({ limit: pageSize, ...(next === undefined ? {} : { _continue: next }) })), {
      kind: `${kind}List`,
    });
    items.push(...page.items);
    next = page.metadata?._continue || undefined;
  } while (next !== undefined);
  return items;
}

export class ImageUsageScan {
  constructor(private readonly kube: KubeClients) {}

  async find(input: { digests: string[]; images?: string[] }): Promise<ImageUsage> {
    const digests = new Set(input.digests);
    const refs = new Set(input.images ?? []);
    const { core, apps, batch } = this.kube;
    // All lists at once: the scan takes as long as the longest list, not their sum.
    const [pods, replicaSets, deployments, statefulSets, daemonSets, jobs, cronJobs] = await Promise.all([
      listAll('Pod', 'pods', (p) => core.listPodForAllNamespaces(p)),
      listAll('ReplicaSet', 'replicasets.apps', (p) => apps.listReplicaSetForAllNamespaces(p)),
      listAll('Deployment', 'deployments.apps', (p) => apps.listDeploymentForAllNamespaces(p)),
      listAll('StatefulSet', 'statefulsets.apps', (p) => apps.listStatefulSetForAllNamespaces(p)),
      listAll('DaemonSet', 'daemonsets.apps', (p) => apps.listDaemonSetForAllNamespaces(p)),
      listAll('Job', 'jobs.batch', (p) => batch.listJobForAllNamespaces(p)),
      listAll('CronJob', 'cronjobs.batch', (p) => batch.listCronJobForAllNamespaces(p)),
    ]);
    const affected = (image: string, digest: string | undefined) => (digest !== undefined && digests.has(digest)) || refs.has(image);

    // Owner chain by uid, from the lists already read: ReplicaSet → Deployment, Job → CronJob.
    const byUid = new Map<string, { kind: string; namespace: string; name: string; owners: V1OwnerReference[] }>();
    const index = (kind: string, items: KubernetesObject[]) => {
      for (const o of items) {
        const m = o.metadata;
        if (m?.uid !== undefined && m.name !== undefined && m.namespace !== undefined) byUid.set(m.uid, { kind, namespace: m.namespace, name: m.name, owners: m.ownerReferences ?? [] });
      }
    };
    index('ReplicaSet', replicaSets);
    index('Deployment', deployments);
    index('StatefulSet', statefulSets);
    index('DaemonSet', daemonSets);
    index('Job', jobs);
    index('CronJob', cronJobs);
    const ownerOf = (refsOfPod: V1OwnerReference[]): WorkloadRef | undefined => {
      let top: WorkloadRef | undefined;
      let current = refsOfPod.find((o) => o.controller === true);
      for (let depth = 0; current !== undefined && depth < 4; depth++) {
        const found = byUid.get(current.uid);
        if (found === undefined) break;
        if (found.kind !== 'ReplicaSet') top = { kind: found.kind as WorkloadKind, namespace: found.namespace, name: found.name };
        current = found.owners.find((o) => o.controller === true);
      }
      return top;
    };

    const namespaces = new Set<string>();
    const affectedPods: (Omit<AffectedPod, 'awsRoleArn'> & { awsRoleArn?: string })[] = [];
    for (const pod of pods) {
      const m = pod.metadata;
      if (m?.namespace === undefined || m.name === undefined) continue;
      namespaces.add(m.namespace);
      const images = podImages(pod).filter((u) => affected(u.image, u.specDigest) || affected(u.statusImage ?? '', u.statusDigest));
      if (images.length === 0) continue;
      const owner = ownerOf(m.ownerReferences ?? []);
      affectedPods.push({
        namespace: m.namespace,
        pod: m.name,
        uid: m.uid ?? '',
        ...(pod.spec?.nodeName === undefined ? {} : { node: pod.spec.nodeName }),
        serviceAccount: pod.spec?.serviceAccountName ?? 'default',
        ...(owner === undefined ? {} : { owner }),
        images: images.map(({ container, kind, image, digest }) => ({ container, kind, image, ...(digest === undefined ? {} : { digest }) })),
        secrets: secretsOf(pod.spec),
      });
    }

    const affectedWorkloads: AffectedWorkload[] = [];
    const workloadLists: [WorkloadKind, Listed[]][] = [
      ['Deployment', deployments],
      ['StatefulSet', statefulSets],
      ['DaemonSet', daemonSets],
      ['Job', jobs],
      ['CronJob', cronJobs],
    ];
    let workloadCount = 0;
    for (const [kind, items] of workloadLists) {
      for (const o of items) {
        const m = o.metadata;
        if (m?.namespace === undefined || m.name === undefined) continue;
        workloadCount++;
        namespaces.add(m.namespace);
        const spec = templateOf(kind, o)?.spec;
        const images: ImageUse[] = containersOf(spec)
          .map((c) => ({ container: c.name, kind: c.kind, image: c.image, digest: digestOf(c.image) }))
          .filter((u) => affected(u.image, u.digest))
          .map(({ digest, ...u }) => ({ ...u, ...(digest === undefined ? {} : { digest }) }));
        if (images.length === 0) continue;
        const replicas = (o.spec as { replicas?: number } | undefined)?.replicas;
        affectedWorkloads.push({
          kind,
          namespace: m.namespace,
          name: m.name,
          uid: m.uid ?? '',
          ...(replicas === undefined || (kind !== 'Deployment' && kind !== 'StatefulSet') ? {} : { replicas }),
          serviceAccount: spec?.serviceAccountName ?? 'default',
          images,
          secrets: secretsOf(spec),
        });
      }
    }

    const roles = await this.roleArns([...affectedPods, ...affectedWorkloads].map((x) => ({ namespace: x.namespace, name: x.serviceAccount })));
    const withRole = <T extends { namespace: string; serviceAccount: string }>(x: T): T => {
      const arn = roles.get(`${x.namespace}/${x.serviceAccount}`);
      return arn === undefined ? x : { ...x, awsRoleArn: arn };
    };
    return {
      pods: affectedPods.map(withRole),
      workloads: affectedWorkloads.map(withRole),
      scanned: { pods: pods.length, workloads: workloadCount, namespaces: namespaces.size },
    };
  }

  /** The IRSA role of each distinct service account, each read once; a missing account or an invalid ARN maps to none. */
  private async roleArns(accounts: { namespace: string; name: string }[]): Promise<Map<string, string>> {
    const keys = [...new Set(accounts.map((a) => `${a.namespace}/${a.name}`))];
    const roles = new Map<string, string>();
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const [namespace, name] = key.split('/') as [string, string];
        if (serviceAccountProblem(name) !== undefined) continue;
        try {
          const sa = expectObject(
            await call('get', 'serviceaccounts', `in namespace ${namespace}`, () => this.kube.core.readNamespacedServiceAccount({ name, namespace }), [404]),
            { kind: 'ServiceAccount', apiVersion: 'v1', name, namespace },
          );
          const arn = sa.metadata?.annotations?.[irsaAnnotation];
          // Anyone who may edit the service account writes this annotation: only a valid role ARN is offered.
          if (arn !== undefined && iamPrincipalProblem('role', arn) === undefined) roles.set(key, arn);
        } catch (e) {
          if (statusOf(e) !== 404) throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(accountReads, keys.length) }, worker));
    return roles;
  }
}

/** Each container of the pod with its spec image and digest, and what its status reports it runs. */
function podImages(pod: V1Pod): (ImageUse & { specDigest?: string; statusDigest?: string; statusImage?: string })[] {
  const statuses = new Map<string, V1ContainerStatus>();
  const s = pod.status;
  for (const [kind, list] of [
    ['init', s?.initContainerStatuses],
    ['container', s?.containerStatuses],
    ['ephemeral', s?.ephemeralContainerStatuses],
  ] as const) {
    for (const st of list ?? []) statuses.set(`${kind}/${st.name}`, st);
  }
  return containersOf(pod.spec).map((c) => {
    const st = statuses.get(`${c.kind}/${c.name}`);
    const statusDigest = digestOf(st?.imageID);
    const specDigest = digestOf(c.image);
    const digest = statusDigest ?? specDigest;
    return {
      container: c.name,
      kind: c.kind,
      image: c.image,
      ...(digest === undefined ? {} : { digest }),
      ...(specDigest === undefined ? {} : { specDigest }),
      ...(statusDigest === undefined ? {} : { statusDigest }),
      ...(st?.image === undefined || st.image === '' ? {} : { statusImage: st.image }),
    };
  });
}
