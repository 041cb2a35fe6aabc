/**
 * Every Kubernetes write of the activities, and the one place that turns the
 * incident's mode into the options each write sends. Lint forbids
 * client-node's write methods (create…, patch…, replace…, delete…) anywhere
 * else in activities/kubernetes, so no write can forget dry-run.
 */
import {
  type CoreV1Api,
  type NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1DeleteOptions,
  type V1NetworkPolicy,
  type V1Pod,
} from '@kubernetes/client-node';
import { call, statusOf } from './errors.ts';
import type { KubeMode } from './types.ts';

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
  ) {
    this.o = writeOptions(mode);
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
}
