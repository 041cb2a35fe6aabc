/**
 * Every Kubernetes write of the activities, and the one place that turns the
 * incident's mode into the options each write sends. Lint forbids
 * client-node's write methods (create…, patch…, replace…, delete…) anywhere
 * else in activities/kubernetes, so no write can forget dry-run.
 */
import {
  type AdmissionregistrationV1Api,
  type AppsV1Api,
  type BatchV1Api,
  type CoreV1Api,
  type NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
  type V1DeleteOptions,
  type V1Namespace,
  type V1NetworkPolicy,
  type V1Pod,
  type V1ValidatingAdmissionPolicy,
  type V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';
import { call, statusOf } from './errors.ts';
import type { KubeMode, WorkloadKind } from './types.ts';

// client-node sends PATCH bodies as JSON Patch unless told otherwise: every patch names its content type.
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

const fieldManager = 'firebreak';

/** The options every write sends, from the mode alone. */
export interface WriteOptions {
  /** Query parameters of create, patch and replace. */
  query: { dryRun?: 'All'; fieldManager: string };
  /** Query parameters of delete. */
  deleteQuery: { dryRun?: 'All' };
  /**
   * The DeleteOptions body of every delete, with `extra` (e.g. preconditions).
   * kube-apiserver decodes DeleteOptions from the body when there is one and
   * then ignores the `dryRun` query parameter, so dry-run goes in both.
   */
  deleteBody(extra?: V1DeleteOptions): V1DeleteOptions;
}

export function writeOptions(mode: KubeMode): WriteOptions {
  const dryRun = mode === 'dry-run';
  return {
    query: { fieldManager, ...(dryRun ? { dryRun: 'All' } : {}) },
    deleteQuery: dryRun ? { dryRun: 'All' } : {},
    deleteBody: (extra = {}) => ({ ...extra, ...(dryRun ? { dryRun: ['All'] } : {}) }),
  };
}

/** Undefined for a 404 (the object is gone), the result otherwise; other errors become typed failures. */
async function unlessGone<T>(verb: string, resource: string, where: string, fn: () => Promise<T>, keep: readonly number[] = []): Promise<T | undefined> {
  try {
    return await call(verb, resource, where, fn, [404, ...keep]);
  } catch (e) {
    if (statusOf(e) === 404) return undefined;
    throw e;
  }
}

/**
 * The writes of one activity call, in one mode. A 404 answers `undefined`
 * (gone); statuses in `keep` are rethrown as the API error for the caller
 * to judge (409 AlreadyExists, 409 precondition failed); every other error is
 * a typed failure.
 */
export class KubeWriter {
  private readonly o: WriteOptions;

  constructor(
    private readonly core: CoreV1Api,
    private readonly net: NetworkingV1Api,
    readonly mode: KubeMode,
    /** The clients of the supply-chain writes (workloads, admission policies); only those activities pass them. */
    private readonly more: { apps?: AppsV1Api; batch?: BatchV1Api; admission?: AdmissionregistrationV1Api } = {},
  ) {
    this.o = writeOptions(mode);
  }

  private client<K extends keyof KubeWriter['more']>(key: K): NonNullable<KubeWriter['more'][K]> {
    const c = this.more[key];
    if (c === undefined) throw new Error(`KubeWriter was built without the ${key} client`);
    return c;
  }

  /** What was done, or, in dry-run, what would have been: the timeline says which. */
  said(text: string): string {
    return this.mode === 'dry-run' ? `dry-run (dryRun=All, nothing persisted): would have ${text}` : text;
  }

  readonly pods = {
    /** Merge-patches the pod; undefined when it is gone. */
    patch: (namespace: string, name: string, body: unknown): Promise<V1Pod | undefined> =>
      unlessGone('patch', 'pods', `in namespace ${namespace}`, () => this.core.patchNamespacedPod({ name, namespace, body, ...this.o.query }, mergePatch)),
    /** Deletes the pod only if it is still the one with `uid`; undefined when it is gone, 409 rethrown when it is another pod. */
    delete: (namespace: string, name: string, uid: string): Promise<V1Pod | undefined> =>
      unlessGone(
        'delete',
        'pods',
        `in namespace ${namespace}`,
        () => this.core.deleteNamespacedPod({ name, namespace, ...this.o.deleteQuery, body: this.o.deleteBody({ preconditions: { uid } }) }),
        [409],
      ),
  };

  readonly networkPolicies = {
    /** Creates the policy; 409 (AlreadyExists) rethrown. */
    create: async (namespace: string, body: V1NetworkPolicy): Promise<void> => {
      await call('create', 'networkpolicies', `in namespace ${namespace}`, () => this.net.createNamespacedNetworkPolicy({ namespace, body, ...this.o.query }), [409]);
    },
    /** Deletes the policy; false when it was already gone. */
    delete: async (namespace: string, name: string): Promise<boolean> =>
      (await unlessGone('delete', 'networkpolicies', `in namespace ${namespace}`, () =>
        this.net.deleteNamespacedNetworkPolicy({ name, namespace, ...this.o.deleteQuery, body: this.o.deleteBody() }),
      )) !== undefined,
  };

  readonly nodes = {
    /** Strategic-merge-patches the node. */
    patch: async (name: string, body: unknown): Promise<void> => {
      await call('patch', 'nodes', '(cluster-scoped)', () => this.core.patchNode({ name, body, ...this.o.query }, strategicPatch));
    },
  };

  readonly namespaces = {
    /** Creates the namespace; 409 (AlreadyExists) rethrown. */
    create: async (body: V1Namespace): Promise<void> => {
      await call('create', 'namespaces', '(cluster-scoped)', () => this.core.createNamespace({ body, ...this.o.query }), [409]);
    },
  };

  readonly configMaps = {
    /** Creates the ConfigMap; 409 (AlreadyExists) rethrown. */
    create: async (namespace: string, body: V1ConfigMap): Promise<void> => {
      await call('create', 'configmaps', `in namespace ${namespace}`, () => this.core.createNamespacedConfigMap({ namespace, body, ...this.o.query }), [409]);
    },
    /** Merge-patches the ConfigMap; undefined when it is gone. */
    patch: (namespace: string, name: string, body: unknown): Promise<V1ConfigMap | undefined> =>
      unlessGone('patch', 'configmaps', `in namespace ${namespace}`, () => this.core.patchNamespacedConfigMap({ name, namespace, body, ...this.o.query }, mergePatch)),
    /** Deletes the ConfigMap; false when it was already gone. */
    delete: async (namespace: string, name: string): Promise<boolean> =>
      (await unlessGone('delete', 'configmaps', `in namespace ${namespace}`, () =>
        this.core.deleteNamespacedConfigMap({ name, namespace, ...this.o.deleteQuery, body: this.o.deleteBody() }),
      )) !== undefined,
  };

  readonly admissionPolicies = {
    /** Creates the policy; 409 (AlreadyExists) rethrown. */
    create: async (body: V1ValidatingAdmissionPolicy): Promise<void> => {
      await call('create', 'validatingadmissionpolicies.admissionregistration.k8s.io', '(cluster-scoped)', () =>
        this.client('admission').createValidatingAdmissionPolicy({ body, ...this.o.query }), [409]);
    },
    /** Replaces the policy (body carries the resourceVersion read); 409 (conflict) becomes a retryable failure. */
    replace: async (name: string, body: V1ValidatingAdmissionPolicy): Promise<void> => {
      await call('update', 'validatingadmissionpolicies.admissionregistration.k8s.io', '(cluster-scoped)', () =>
        this.client('admission').replaceValidatingAdmissionPolicy({ name, body, ...this.o.query }));
    },
  };

  readonly admissionBindings = {
    /** Creates the binding; 409 (AlreadyExists) rethrown. */
    create: async (body: V1ValidatingAdmissionPolicyBinding): Promise<void> => {
      await call('create', 'validatingadmissionpolicybindings.admissionregistration.k8s.io', '(cluster-scoped)', () =>
        this.client('admission').createValidatingAdmissionPolicyBinding({ body, ...this.o.query }), [409]);
    },
    replace: async (name: string, body: V1ValidatingAdmissionPolicyBinding): Promise<void> => {
      await call('update', 'validatingadmissionpolicybindings.admissionregistration.k8s.io', '(cluster-scoped)', () =>
        this.client('admission').replaceValidatingAdmissionPolicyBinding({ name, body, ...this.o.query }));
    },
  };

  /**
   * A canary pod create, always sent with dryRun=All whatever the mode: it
   * only asks admission whether the pod would be let in. Admission answers
   * (400, 403, 422) are rethrown as the API error for the caller to read.
   */
  readonly canaryPods = {
    dryRunCreate: async (namespace: string, body: V1Pod): Promise<void> => {
      await call('create', 'pods', `in namespace ${namespace} (dry-run canary)`, () =>
        this.core.createNamespacedPod({ namespace, body, fieldManager, dryRun: 'All' }), [400, 403, 422]);
    },
  };

  readonly workloads = {
    /** Strategic-merge-patches the workload (template containers merge by name); undefined when it is gone. */
    patch: (w: { kind: WorkloadKind; namespace: string; name: string }, body: unknown): Promise<object | undefined> => {
      const p = { name: w.name, namespace: w.namespace, body, ...this.o.query };
      const apps = () => this.client('apps');
      const batch = () => this.client('batch');
      const run: Record<WorkloadKind, () => Promise<object>> = {
        Deployment: () => apps().patchNamespacedDeployment(p, strategicPatch),
        StatefulSet: () => apps().patchNamespacedStatefulSet(p, strategicPatch),
        DaemonSet: () => apps().patchNamespacedDaemonSet(p, strategicPatch),
        Job: () => batch().patchNamespacedJob(p, strategicPatch),
        CronJob: () => batch().patchNamespacedCronJob(p, strategicPatch),
      };
      return unlessGone('patch', workloadResource[w.kind], `in namespace ${w.namespace}`, run[w.kind]);
    },
    /** Sets replicas through the scale subresource; undefined when the workload is gone. */
    scale: (w: { kind: 'Deployment' | 'StatefulSet'; namespace: string; name: string }, replicas: number): Promise<object | undefined> => {
      const p = { name: w.name, namespace: w.namespace, body: { spec: { replicas } }, ...this.o.query };
      return unlessGone('patch', `${workloadResource[w.kind]}/scale`, `in namespace ${w.namespace}`, () =>
        w.kind === 'Deployment' ? this.client('apps').patchNamespacedDeploymentScale(p, mergePatch) : this.client('apps').patchNamespacedStatefulSetScale(p, mergePatch),
      );
    },
  };
}

/** The resource (as RBAC names it) of each workload kind. */
export const workloadResource: Record<WorkloadKind, string> = {
  Deployment: 'deployments.apps',
  StatefulSet: 'statefulsets.apps',
  DaemonSet: 'daemonsets.apps',
  Job: 'jobs.batch',
  CronJob: 'cronjobs.batch',
};
