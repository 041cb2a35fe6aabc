import type {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  V1ClusterRoleBinding,
  V1OwnerReference,
  V1Pod,
  V1RoleBinding,
  RbacV1Subject,
} from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { EvidenceError, type EvidenceRef, type EvidenceStore } from '../evidence/index.ts';
import { sha256Hex } from '../evidence/common.ts';
import { dnsSubdomainProblem, iamPrincipalProblem, nodeNameProblem, serviceAccountProblem } from '../../domain/names.ts';
import { expectList, expectObject, refuseInvalidName } from './checks.ts';
import { call, kubeFailure, reasonOf, statusOf } from './errors.ts';
import { irsaAnnotation } from './names.ts';
import type { KubeClients, PodFacts } from './types.ts';

export interface CaptureInput {
  incidentId: string;
  namespace: string;
  pod: string;
  /** Restrict logs to this container (the alert's); all containers when omitted. */
  container?: string;
}

export interface CaptureResult {
  /** Sealed items in a fixed order: pod first. */
  refs: EvidenceRef[];
  pod: PodFacts;
}

/** An ownerReference of the pod, as the rest of the capture walks it. */
export type OwnerRef = Pick<V1OwnerReference, 'apiVersion' | 'kind' | 'name' | 'uid' | 'controller'>;

/** The first part: what isolation alters, sealed. `pod` lacks `awsRoleArn` (the service account is read with the rest). */
export interface ContainmentCapture {
  refs: EvidenceRef[];
  pod: Omit<PodFacts, 'awsRoleArn'>;
  owners: OwnerRef[];
}

export interface ContextInput extends CaptureInput {
  /** What the first part found, so the rest reads what the pod named then, not after containment relabelled it. */
  facts: Omit<PodFacts, 'awsRoleArn'>;
  owners: OwnerRef[];
}

export interface ContextCapture {
  refs: EvidenceRef[];
  awsRoleArn?: string;
}

interface Item {
  name: string;
  content: string;
  mediaType?: string;
}

/** Something the API could not serve, recorded instead of failing the capture. */
interface Unavailable {
  unavailable: string;
}

const maxLogBytes = 10 * 1024 * 1024;

async function orUnavailable<T>(what: string, fn: () => Promise<T>): Promise<T | Unavailable> {
  try {
    return await fn();
  } catch (e) {
    return { unavailable: `${what}: ${reasonOf(e)}` };
  }
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export class EvidenceCapture {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly batch: BatchV1Api;
  private readonly net: NetworkingV1Api;
  private readonly rbac: RbacAuthorizationV1Api;

  constructor(
    kube: KubeClients,
    private readonly store: EvidenceStore,
  ) {
    ({ core: this.core, apps: this.apps, batch: this.batch, net: this.net, rbac: this.rbac } = kube);
  }

  /** Both parts, one after the other: the evidence of a runbook that captures everything before it acts. */
  async capture(input: CaptureInput): Promise<CaptureResult> {
    const first = await this.captureForContainment(input);
    const rest = await this.captureContext({ ...input, facts: first.pod, owners: first.owners });
    return {
      refs: [...first.refs, ...rest.refs],
      pod: { ...first.pod, ...(rest.awsRoleArn === undefined ? {} : { awsRoleArn: rest.awsRoleArn }) },
    };
  }

  /**
   * What isolating the pod alters, sealed in one batch before it may change:
   * the pod as found and the namespace's NetworkPolicies, read in parallel.
   */
  async captureForContainment(input: CaptureInput): Promise<ContainmentCapture> {
    const { namespace } = input;
    const [pod, policies] = await Promise.all([
      this.readPod(input),
      orUnavailable(`list networkpolicies in ${namespace}`, async () =>
        expectList(await this.net.listNamespacedNetworkPolicy({ namespace }), { kind: 'NetworkPolicyList', namespace }),
      ),
    ]);
    const refs = await this.sealAll(input.incidentId, [
      { name: 'pod.json', content: json(pod) },
      { name: 'network-policies.json', content: json(policies) },
    ]);
    const node = pod.spec?.nodeName;
    return {
      refs,
      pod: {
        uid: pod.metadata?.uid ?? '',
        ...(node === undefined ? {} : { node }),
        serviceAccount: pod.spec?.serviceAccountName ?? 'default',
        containers: [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name),
      },
      owners: (pod.metadata?.ownerReferences ?? []).map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.name, uid: o.uid, ...(o.controller === undefined ? {} : { controller: o.controller }) })),
    };
  }

  /**
   * Everything else, sealed in one batch (what containment does not alter, so
   * it may be captured alongside it): owner chain, node, service account with
   * its bindings and roles, the pod's events, and container logs.
   */
  async captureContext(input: ContextInput): Promise<ContextCapture> {
    const { namespace, facts } = input;
    const where = `${namespace}/${input.pod}`;
    const { node, serviceAccount, containers } = facts;
    const [owners, nodeObject, account, events, logs] = await Promise.all([
      this.ownerChain(namespace, input.owners),
      node === undefined
        ? Promise.resolve<Unavailable>({ unavailable: 'the pod is not scheduled on a node (spec.nodeName is empty)' })
        : orUnavailable(`get nodes ${node}`, async () => {
            refuseInvalidName(nodeNameProblem(node));
            return expectObject(await this.core.readNode({ name: node }), { kind: 'Node', apiVersion: 'v1', name: node });
          }),
      this.serviceAccount(namespace, serviceAccount),
      orUnavailable(`list events in ${namespace}`, async () =>
        expectList(await this.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.uid=${facts.uid}` }), { kind: 'EventList', namespace }),
      ),
      this.logs(namespace, input.pod, input.container === undefined ? containers : containers.filter((c) => c === input.container)),
    ]);
    const items: Item[] = [
      { name: 'owner-chain.json', content: json(owners) },
      { name: 'node.json', content: json(nodeObject) },
      { name: 'service-account.json', content: json(account.evidence) },
      { name: 'events.json', content: json(events) },
    ];
    const index: unknown[] = [];
    for (const log of logs) {
      if ('text' in log) {
        const name = `logs/${log.container}/${log.which}.log`;
        items.push({ name, content: log.text, mediaType: 'text/plain' });
        index.push({ container: log.container, which: log.which, timestamps: true, evidence: name, sha256: sha256Hex(Buffer.from(log.text, 'utf8')) });
      } else index.push({ container: log.container, which: log.which, unavailable: log.unavailable });
    }
    items.push({ name: 'logs.json', content: json({ pod: where, logs: index }) });
    return { refs: await this.sealAll(input.incidentId, items), ...(account.awsRoleArn === undefined ? {} : { awsRoleArn: account.awsRoleArn }) };
  }

  /** The pod asked for, checked to be that pod; a missing pod fails non-retryably (nothing to capture or contain). */
  private async readPod(input: CaptureInput): Promise<V1Pod> {
    const { namespace } = input;
    try {
      const pod = await call('get', 'pods', `in namespace ${namespace}`, () => this.core.readNamespacedPod({ name: input.pod, namespace }), [404]);
      // Before anything is sealed: `pod.json` holds the pod asked for, never what a resolved path led to.
      return expectObject(pod, { kind: 'Pod', apiVersion: 'v1', name: input.pod, namespace });
    } catch (e) {
      if (statusOf(e) === 404) {
        throw ApplicationFailure.create({
          type: kubeFailure.podNotFound,
          nonRetryable: true,
          message: `Pod ${namespace}/${input.pod} does not exist: there is nothing to capture or contain. Check the namespace and pod name of the alert.`,
        });
      }
      throw e;
    }
  }

  /** Seals one batch, in the order given (the manifest reads the same on every run), as typed activity failures. */
  private async sealAll(incidentId: string, items: readonly Item[]): Promise<EvidenceRef[]> {
    try {
      return await this.store.sealAll(items.map((i) => ({ incidentId, name: i.name, content: i.content, mediaType: i.mediaType ?? 'application/json' })));
    } catch (e) {
      if (e instanceof EvidenceError) throw ApplicationFailure.create({ type: e.name, message: e.message, nonRetryable: !e.retryable });
      throw e;
    }
  }

  /** Walks ownerReferences upwards (ReplicaSet → Deployment, Job → CronJob, …), each object or why it is unavailable. */
  private async ownerChain(namespace: string, refs: readonly OwnerRef[]): Promise<unknown[]> {
    const chain: unknown[] = [];
    let current: readonly OwnerRef[] = refs;
    for (let depth = 0; depth < 5 && current.length > 0; depth++) {
      const next: V1OwnerReference[] = [];
      for (const ref of current) {
        const object = await orUnavailable(`get ${ref.kind} ${namespace}/${ref.name}`, () => this.readOwner(namespace, ref));
        chain.push({ kind: ref.kind, name: ref.name, uid: ref.uid, controller: ref.controller ?? false, object });
        if (!('unavailable' in (object as object))) next.push(...(((object as { metadata?: { ownerReferences?: V1OwnerReference[] } }).metadata?.ownerReferences) ?? []));
      }
      current = next;
    }
    return chain;
  }

  /** An owner named by an ownerReference (which the API server does not check against naming rules), checked both ways. */
  private async readOwner(namespace: string, ref: OwnerRef): Promise<unknown> {
    refuseInvalidName(dnsSubdomainProblem('owner name', ref.name));
    return expectObject(await this.readOwnerObject(namespace, ref), { kind: ref.kind, name: ref.name, namespace });
  }

  private readOwnerObject(namespace: string, ref: OwnerRef) {
    const p = { name: ref.name, namespace };
    switch (ref.kind) {
      case 'ReplicaSet':
        return this.apps.readNamespacedReplicaSet(p);
      case 'Deployment':
        return this.apps.readNamespacedDeployment(p);
      case 'StatefulSet':
        return this.apps.readNamespacedStatefulSet(p);
      case 'DaemonSet':
        return this.apps.readNamespacedDaemonSet(p);
      case 'Job':
        return this.batch.readNamespacedJob(p);
      case 'CronJob':
        return this.batch.readNamespacedCronJob(p);
      case 'ReplicationController':
        return this.core.readNamespacedReplicationController(p);
      default:
        return Promise.reject(new Error(`owner kind ${ref.apiVersion}/${ref.kind} is not one Firebreak reads`));
    }
  }

  /** The service account, every RoleBinding and ClusterRoleBinding that grants it, and the roles they bind. */
  private async serviceAccount(namespace: string, name: string): Promise<{ evidence: unknown; awsRoleArn?: string }> {
    const account = await orUnavailable(`get serviceaccounts ${namespace}/${name}`, async () => {
      refuseInvalidName(serviceAccountProblem(name));
      return expectObject(await this.core.readNamespacedServiceAccount({ name, namespace }), { kind: 'ServiceAccount', apiVersion: 'v1', name, namespace });
    });
    const [roleBindings, clusterRoleBindings] = await Promise.all([
      orUnavailable(`list rolebindings in ${namespace}`, async () =>
        expectList(await this.rbac.listNamespacedRoleBinding({ namespace }), { kind: 'RoleBindingList', namespace }),
      ),
      orUnavailable('list clusterrolebindings', async () => expectList(await this.rbac.listClusterRoleBinding(), { kind: 'ClusterRoleBindingList' })),
    ]);
    const grants = (b: V1RoleBinding | V1ClusterRoleBinding, bindingNamespace?: string) =>
      (b.subjects ?? []).some((s) => grantsTo(s, namespace, name, bindingNamespace));
    const rbs = 'items' in roleBindings ? roleBindings.items.filter((b) => grants(b, namespace)) : [];
    const crbs = 'items' in clusterRoleBindings ? clusterRoleBindings.items.filter((b) => grants(b)) : [];
    const roles = await Promise.all(
      [...rbs.map((b) => ({ ref: b.roleRef, ns: namespace })), ...crbs.map((b) => ({ ref: b.roleRef, ns: undefined }))].map(async ({ ref, ns }) => ({
        kind: ref.kind,
        name: ref.name,
        ...(ns === undefined || ref.kind === 'ClusterRole' ? {} : { namespace: ns }),
        object: await orUnavailable(`get ${ref.kind === 'Role' ? 'roles' : 'clusterroles'} ${ref.name}`, async () =>
          ref.kind === 'Role'
            ? expectObject(await this.rbac.readNamespacedRole({ name: ref.name, namespace: ns! }), { kind: 'Role', name: ref.name, namespace: ns! })
            : expectObject(await this.rbac.readClusterRole({ name: ref.name }), { kind: 'ClusterRole', name: ref.name }),
        ),
      })),
    );
    const annotated = 'unavailable' in account ? undefined : account.metadata?.annotations?.[irsaAnnotation];
    // Anyone who may edit the service account writes this annotation: an invalid ARN is recorded, never offered as a role.
    const arnProblem = annotated === undefined ? undefined : iamPrincipalProblem('role', annotated);
    const arn = arnProblem === undefined ? annotated : undefined;
    return {
      evidence: {
        serviceAccount: account,
        roleBindings: 'unavailable' in roleBindings ? roleBindings : rbs,
        clusterRoleBindings: 'unavailable' in clusterRoleBindings ? clusterRoleBindings : crbs,
        roles,
        ...(arn === undefined ? {} : { awsRoleArn: arn }),
        ...(arnProblem === undefined ? {} : { awsRoleArnProblem: `${irsaAnnotation}: ${arnProblem}` }),
      },
      ...(arn === undefined ? {} : { awsRoleArn: arn }),
    };
  }

  private async logs(
    namespace: string,
    pod: string,
    containers: string[],
  ): Promise<({ container: string; which: 'current' | 'previous' } & ({ text: string } | Unavailable))[]> {
    const jobs = containers.flatMap((container) =>
      (['current', 'previous'] as const).map(async (which) => {
        const text = await orUnavailable(`get pods/log ${namespace}/${pod} container ${container} (${which})`, () =>
          this.core.readNamespacedPodLog({ name: pod, namespace, container, previous: which === 'previous', timestamps: true, limitBytes: maxLogBytes }),
        );
        return typeof text === 'string' ? { container, which, text } : { container, which, ...text };
      }),
    );
    return Promise.all(jobs);
  }
}

/** Whether a binding subject names the service account, directly or through its groups. */
function grantsTo(s: RbacV1Subject, namespace: string, name: string, bindingNamespace?: string): boolean {
  if (s.kind === 'ServiceAccount') return s.name === name && (s.namespace ?? bindingNamespace) === namespace;
  if (s.kind === 'User') return s.name === `system:serviceaccount:${namespace}:${name}`;
  if (s.kind === 'Group') return ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'].includes(s.name);
  return false;
}
