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

  async capture(input: CaptureInput): Promise<CaptureResult> {
    const { namespace } = input;
    const where = `${namespace}/${input.pod}`;
    let pod: V1Pod;
    try {
      pod = await call('get', 'pods', `in namespace ${namespace}`, () => this.core.readNamespacedPod({ name: input.pod, namespace }), [404]);
      // Before anything is sealed: `pod.json` holds the pod asked for, never what a resolved path led to.
      expectObject(pod, { kind: 'Pod', apiVersion: 'v1', name: input.pod, namespace });
    } catch (e) {
      if (statusOf(e) === 404) {
        throw ApplicationFailure.create({
          type: kubeFailure.podNotFound,
          nonRetryable: true,
          message: `Pod ${where} does not exist: there is nothing to capture or contain. Check the namespace and pod name of the alert.`,
        });
      }
      throw e;
    }
    const uid = pod.metadata?.uid ?? '';
    const node = pod.spec?.nodeName;
    const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
    const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);

    const [owners, nodeObject, account, policies, events, logs] = await Promise.all([
      this.ownerChain(namespace, pod.metadata?.ownerReferences ?? []),
      node === undefined
        ? Promise.resolve<Unavailable>({ unavailable: 'the pod is not scheduled on a node (spec.nodeName is empty)' })
        : orUnavailable(`get nodes ${node}`, async () => {
            refuseInvalidName(nodeNameProblem(node));
            return expectObject(await this.core.readNode({ name: node }), { kind: 'Node', apiVersion: 'v1', name: node });
          }),
      this.serviceAccount(namespace, serviceAccount),
      orUnavailable(`list networkpolicies in ${namespace}`, async () =>
        expectList(await this.net.listNamespacedNetworkPolicy({ namespace }), { kind: 'NetworkPolicyList', namespace }),
      ),
      orUnavailable(`list events in ${namespace}`, async () =>
        expectList(await this.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.uid=${uid}` }), { kind: 'EventList', namespace }),
      ),
      this.logs(namespace, input.pod, input.container === undefined ? containers : containers.filter((c) => c === input.container)),
    ]);

    const refs: EvidenceRef[] = [];
    const incidentId = input.incidentId;
    const seal = async (name: string, content: string, mediaType = 'application/json') => {
      try {
        refs.push(await this.store.seal({ incidentId, name, mediaType, content }));
      } catch (e) {
        if (e instanceof EvidenceError) throw ApplicationFailure.create({ type: e.name, message: e.message, nonRetryable: !e.retryable });
        throw e;
      }
    };
    // Sealed one after the other, in a fixed order: the manifest reads the same on every run.
    await seal('pod.json', json(pod));
    await seal('owner-chain.json', json(owners));
    await seal('node.json', json(nodeObject));
    await seal('service-account.json', json(account.evidence));
    await seal('network-policies.json', json(policies));
    await seal('events.json', json(events));
    const index: unknown[] = [];
    for (const log of logs) {
      if ('text' in log) {
        const name = `logs/${log.container}/${log.which}.log`;
        await seal(name, log.text, 'text/plain');
        index.push({ container: log.container, which: log.which, timestamps: true, evidence: name, sha256: refs.at(-1)!.sha256 });
      } else index.push({ container: log.container, which: log.which, unavailable: log.unavailable });
    }
    await seal('logs.json', json({ pod: where, logs: index }));

    return {
      refs,
      pod: {
        uid,
        ...(node === undefined ? {} : { node }),
        serviceAccount,
        containers,
        ...(account.awsRoleArn === undefined ? {} : { awsRoleArn: account.awsRoleArn }),
      },
    };
  }

  /** Walks ownerReferences upwards (ReplicaSet → Deployment, Job → CronJob, …), each object or why it is unavailable. */
  private async ownerChain(namespace: string, refs: V1OwnerReference[]): Promise<unknown[]> {
    const chain: unknown[] = [];
    let current = refs;
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
  private async readOwner(namespace: string, ref: V1OwnerReference): Promise<unknown> {
    refuseInvalidName(dnsSubdomainProblem('owner name', ref.name));
    return expectObject(await this.readOwnerObject(namespace, ref), { kind: ref.kind, name: ref.name, namespace });
  }

  private readOwnerObject(namespace: string, ref: V1OwnerReference) {
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
