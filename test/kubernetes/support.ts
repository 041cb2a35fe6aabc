/**
 * Shared by the container-escape tests: a seeded workload per namespace on the
 * real kube-apiserver, the real worker bundle (workflows/index.ts) with the
 * real activities, the shipped policy, and a Falco-shaped alert.
 */
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  type V1Pod,
} from '@kubernetes/client-node';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll } from 'vitest';
import { createActivities, type ActivityDeps } from '../../activities/index.ts';
import { openIncident } from '../../src/incidents/open.ts';
import type { RunbookPolicy } from '../../src/runbooks/schema.ts';
import { timelineSinks } from '../../src/timeline/sinks.ts';
import { shippedPolicy } from '../support/policies.ts';
import type { IncidentInput } from '../../workflows/engine/types.ts';
import { timelineQuery } from '../../workflows/engine/messages.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { kubeConfig, sandbox, uniqueName } from '../support/servers.ts';

export const policyFile = fileURLToPath(new URL('../../runbooks/container-escape.yaml', import.meta.url));

/** The shipped policy, with some gates replaced for a test. */
export function policy(gates: Partial<Record<string, unknown>> = {}): Promise<RunbookPolicy> {
  return shippedPolicy(policyFile, gates);
}

export interface Workload {
  namespace: string;
  node: string;
  pods: [string, string];
  rs: string;
  labels: Record<string, string>;
  roleArn: string;
}

export const podLabels = { app: 'storefront', tier: 'web', 'pod-template-hash': '7d9c6b5f8' };

async function deleteQuietly(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof ApiException && e.code === 404)) throw e;
  }
}

/**
 * Seeds, in the namespace: a Deployment, its ReplicaSet and two pods (status
 * written through the status subresource) on a Node of their own, a
 * ServiceAccount with an IRSA annotation, a RoleBinding and a
 * ClusterRoleBinding granting it, a Service selecting the pods, an unrelated
 * NetworkPolicy, and one Event per pod.
 */
export async function seedWorkload(namespace: string, kc: KubeConfig = kubeConfig()): Promise<Workload> {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const net = kc.makeApiClient(NetworkingV1Api);
  const node = `node-${namespace}`;
  const roleArn = `arn:aws:iam::123456789012:role/${namespace}-storefront`;
  const deployLabels = { app: 'storefront', tier: 'web' };
  await core.createNode({ body: { metadata: { name: node, labels: { 'kubernetes.io/hostname': node } } } });
  afterAll(() => deleteQuietly(() => core.deleteNode({ name: node })));
  await core.createNamespacedServiceAccount({
    namespace,
    body: { metadata: { name: 'storefront', annotations: { 'eks.amazonaws.com/role-arn': roleArn } } },
  });
  await rbac.createNamespacedRole({
    namespace,
    body: { metadata: { name: 'storefront-config' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'storefront-config' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'storefront-config' },
      subjects: [{ kind: 'ServiceAccount', name: 'storefront', namespace }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'someone-else' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'storefront-config' },
      subjects: [{ kind: 'ServiceAccount', name: 'other', namespace }],
    },
  });
  const crb = `${namespace}-storefront-view`;
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: crb },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'storefront', namespace }],
    },
  });
  afterAll(() => deleteQuietly(() => rbac.deleteClusterRoleBinding({ name: crb })));
  await core.createNamespacedService({
    namespace,
    body: { metadata: { name: 'storefront' }, spec: { selector: deployLabels, ports: [{ port: 80, targetPort: 8080 }] } },
  });
  await net.createNamespacedNetworkPolicy({
    namespace,
    body: { metadata: { name: 'allow-web' }, spec: { podSelector: { matchLabels: deployLabels }, policyTypes: ['Ingress'], ingress: [{}] } },
  });
  const podSpec = { serviceAccountName: 'storefront', containers: [{ name: 'web', image: 'ghcr.io/example/storefront@sha256:'.padEnd(98, 'a') }] };
  const deployment = await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'storefront', labels: deployLabels },
      spec: { replicas: 2, selector: { matchLabels: deployLabels }, template: { metadata: { labels: deployLabels }, spec: podSpec } },
    },
  });
  const rsName = 'storefront-7d9c6b5f8';
  const rs = await apps.createNamespacedReplicaSet({
    namespace,
    body: {
      metadata: {
        name: rsName,
        labels: podLabels,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'storefront', uid: deployment.metadata!.uid!, controller: true }],
      },
      spec: { replicas: 2, selector: { matchLabels: podLabels }, template: { metadata: { labels: podLabels }, spec: podSpec } },
    },
  });
  const pods: [string, string] = [`${rsName}-x7k2p`, `${rsName}-q9m4d`];
  for (const [i, name] of pods.entries()) {
    const created: V1Pod = await core.createNamespacedPod({
      namespace,
      body: {
        metadata: {
          name,
          labels: podLabels,
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rsName, uid: rs.metadata!.uid!, controller: true }],
        },
        spec: { ...podSpec, nodeName: node },
      },
    });
    await core.replaceNamespacedPodStatus({
      name,
      namespace,
      body: { ...created, status: { phase: 'Running', podIP: `10.244.1.${i + 10}`, hostIP: '10.0.0.20', containerStatuses: [{ name: 'web', ready: true, restartCount: 0, image: podSpec.containers[0]!.image, imageID: '', state: { running: {} } }] } },
    });
    await core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name: `${name}.started` },
        involvedObject: { kind: 'Pod', name, namespace, uid: created.metadata!.uid!, apiVersion: 'v1' },
        reason: 'Started',
        message: `Started container web of ${name}`,
        type: 'Normal',
      },
    });
  }
  return { namespace, node, pods, rs: rsName, labels: podLabels, roleArn };
}

/** A Falco event as Falco's HTTP output sends it. */
export function falcoEvent(w: Workload, pod: string, rule = 'Detect release_agent File Container Escapes', priority = 'Critical') {
  return {
    uuid: uniqueName('falco'),
    output: `Detect an attempt to exploit a container escape using release_agent file (file=/sys/fs/cgroup/release_agent k8s.ns=${w.namespace} k8s.pod=${pod})`,
    priority,
    rule,
    time: '2026-11-28T10:00:00.000000000Z',
    output_fields: {
      'container.id': 'aaaaaaaaaaaa',
      'container.name': 'web',
      'k8s.ns.name': w.namespace,
      'k8s.pod.name': pod,
      'fd.name': '/sys/fs/cgroup/release_agent',
      'proc.cmdline': 'sh -c echo /tmp/x > /sys/fs/cgroup/release_agent',
    },
  };
}

/**
 * What intake makes of a Falco event (src/intake is built separately): the
 * trigger, the pod target, and the steps the policy's auto-containment lifts.
 */
export function fromFalco(p: RunbookPolicy, e: ReturnType<typeof falcoEvent>, mode: 'live' | 'dry-run' = 'live'): Omit<IncidentInput, 'incidentId'> {
  const severity = ({ Emergency: 'critical', Alert: 'critical', Critical: 'critical', Error: 'high', Warning: 'medium', Notice: 'low' } as const)[e.priority] ?? 'info';
  const order = ['info', 'low', 'medium', 'high', 'critical'];
  const autoContainSteps = p.autoContain
    .filter((r) => r.when.source === 'falco' && (r.when.rules ?? [e.rule]).includes(e.rule) && order.indexOf(severity) >= order.indexOf(r.when.minSeverity ?? 'info'))
    .flatMap((r) => r.steps);
  return {
    policy: p,
    groups: {},
    requester: 'cli:alice',
    mode,
    trigger: { source: 'falco', alertId: e.uuid, rule: e.rule, severity, summary: e.output, receivedAt: '2026-11-28T10:00:00.100Z' },
    targets: [{ kind: 'pod', id: `${e.output_fields['k8s.ns.name']}/${e.output_fields['k8s.pod.name']}`, attributes: { container: e.output_fields['container.name'] } }],
    autoContainSteps: [...new Set(autoContainSteps)],
  };
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The worker's own workflow bundle (workflows/index.ts), built once per file. */
export function workerBundle(): Promise<WorkflowBundleWithSourceMap> {
  const quiet = () => undefined;
  bundle ??= bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet },
  });
  return bundle;
}

export type RunbookActivities = ReturnType<typeof createActivities>;

/** A worker on its own task queue with the real activities (optionally wrapped); stopped after the file. */
export async function startRunbookWorker(
  deps: ActivityDeps,
  opts: { taskQueue?: string; wrap?: (a: RunbookActivities, worker: () => Worker) => RunbookActivities } = {},
) {
  const connection = await NativeConnection.connect({ address: sandbox().temporalAddress });
  const taskQueue = opts.taskQueue ?? uniqueName('escape');
  const activities = createActivities(deps);
  const worker: Worker = await Worker.create({
    connection,
    namespace: sandbox().temporalNamespace,
    taskQueue,
    workflowBundle: await workerBundle(),
    activities: opts.wrap === undefined ? activities : opts.wrap(activities, () => worker),
    sinks: timelineSinks(() => undefined),
  });
  const running = worker.run();
  const stop = async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
  };
  afterAll(async () => {
    await stop();
    await connection.close();
  });
  return { taskQueue, worker, running, stop };
}

export async function startEscape(client: Client, taskQueue: string, input: Omit<IncidentInput, 'incidentId'>): Promise<WorkflowHandle> {
  const { incidentId } = await openIncident(client, { workflowType: 'containerEscape', taskQueue, correlationKey: `${uniqueName('sandbox')}:${input.targets[0]!.id}`, input });
  return client.workflow.getHandle(incidentId);
}

export async function timeline(handle: WorkflowHandle): Promise<TimelineEvent[]> {
  return handle.query(timelineQuery);
}
