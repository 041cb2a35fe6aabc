/**
 * A crafted name never steers a read or a write onto another object. client-node
 * builds paths with encodeURIComponent, which leaves dots: against the real
 * kube-apiserver a pod named `..` reads as its Namespace, `.` as the pod list,
 * a node named `..` as the API's resource list. Each layer refuses on its own:
 * the workflow at its start, each activity at its boundary (names), and each
 * read beneath it (the object answered is the one asked for).
 */
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { Containment } from '../../activities/kubernetes/containment.ts';
import { EvidenceCapture } from '../../activities/kubernetes/evidence.ts';
import { createKubernetesActivities, kubeFailure, type PodRef } from '../../activities/kubernetes/index.ts';
import { invalidTargetFailure } from '../../workflows/engine/targets.ts';
import { testDeps } from '../support/deps.ts';
import { refusal } from '../support/failures.ts';
import { kubeConfig, temporalClient, testNamespace, uniqueName } from '../support/servers.ts';
import { falcoEvent, fromFalco, policy, seedWorkload, startEscape, startRunbookWorker, type Workload } from './support.ts';

const client = await temporalClient();
const deps = await testDeps();
const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const net = kc.makeApiClient(NetworkingV1Api);
let taskQueue: string;
let w: Workload;

beforeAll(async () => {
  ({ taskQueue } = await startRunbookWorker(deps));
  w = await seedWorkload(await testNamespace('crafted'));
});

/** Everything a read-as-the-pod or write-as-the-pod on the Namespace (or on a node) would show: versions, labels, annotations, policies. */
async function world(namespace: string, node: string) {
  const ns = await core.readNamespace({ name: namespace });
  const n = await core.readNode({ name: node });
  const policies = await net.listNamespacedNetworkPolicy({ namespace });
  return {
    namespace: { resourceVersion: ns.metadata?.resourceVersion, labels: ns.metadata?.labels, annotations: ns.metadata?.annotations, phase: ns.status?.phase },
    node: { resourceVersion: n.metadata?.resourceVersion, unschedulable: n.spec?.unschedulable, annotations: n.metadata?.annotations },
    networkPolicies: policies.items.map((p) => p.metadata?.name).sort(),
  };
}

/** The workflow's failure, or "still running" after `ms` (a workflow that accepted its input holds the incident open). */
async function outcome(handle: WorkflowHandle, ms = 15_000): Promise<unknown> {
  const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('still running'), ms));
  try {
    return await Promise.race([handle.result().then(() => 'completed'), timeout]);
  } catch (e) {
    return e;
  } finally {
    await handle.terminate('test finished').catch(() => undefined);
  }
}

describe('a crafted pod name sent straight to the container-escape workflow', () => {
  it.each([
    ['..', 'pod name ".." is not a valid Kubernetes name'],
    ['.', 'pod name "." is not a valid Kubernetes name'],
  ])('pod %j: the workflow fails at once, typed InvalidTarget and not retryable, naming the rule; the Namespace is untouched and nothing is sealed', async (pod, why) => {
    const before = await world(w.namespace, w.node);
    // A Falco breakout alert: the policy auto-contains it, the worst case.
    const handle = await startEscape(client, taskQueue, fromFalco(await policy(), falcoEvent(w, pod)));
    const failure = await outcome(handle);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: invalidTargetFailure, nonRetryable: true });
    expect(cause?.message).toContain(`Refused target "pod:${w.namespace}/${pod}": ${why}`);
    expect(cause?.message).toContain('RFC 1123 subdomain');
    expect(await deps.evidence.manifest(handle.workflowId)).toEqual([]);
    expect(await world(w.namespace, w.node)).toEqual(before);
  });

  it('a dot-segment namespace or node attribute: the same refusal, before anything is read', async () => {
    const before = await world(w.namespace, w.node);
    const input = fromFalco(await policy(), falcoEvent(w, w.pods[0]));
    for (const target of [
      { kind: 'pod' as const, id: `../${w.pods[0]}` },
      { kind: 'pod' as const, id: `${w.namespace}/${w.pods[0]}`, attributes: { node: '..' } },
    ]) {
      const handle = await startEscape(client, taskQueue, { ...input, targets: [target] });
      const failure = await outcome(handle);
      expect(failure, JSON.stringify(target)).toBeInstanceOf(WorkflowFailedError);
      expect((failure as WorkflowFailedError).cause).toMatchObject({ type: invalidTargetFailure, nonRetryable: true });
      expect(await deps.evidence.manifest(handle.workflowId)).toEqual([]);
    }
    expect(await world(w.namespace, w.node)).toEqual(before);
  });
});

describe('the Kubernetes activities called with a crafted name (bypassing the workflow)', () => {
  const activities = createKubernetesActivities(deps);

  it.each(['..', '.', 'a/../b', 'x/..'])('pod %j: every pod activity refuses it, typed KubernetesInvalidName and not retryable, before any request', async (pod) => {
    const before = await world(w.namespace, w.node);
    const ns = await core.readNamespace({ name: w.namespace });
    const incidentId = uniqueName('crafted');
    const ref: PodRef = { incidentId, namespace: w.namespace, pod, mode: 'live' };
    const calls: [string, () => Promise<unknown>][] = [
      ['captureContainerEscapeEvidence', () => activities.captureContainerEscapeEvidence({ incidentId, namespace: w.namespace, pod })],
      ['quarantinePod', () => activities.quarantinePod(ref)],
      ['detachPodFromRotation', () => activities.detachPodFromRotation(ref)],
      ['restorePodLabels', () => activities.restorePodLabels({ ...ref, labels: { app: 'storefront' } })],
      ['releasePod', () => activities.releasePod(ref)],
      // The Namespace's own uid as the precondition: were the path resolved, this would delete the namespace.
      ['deletePod', () => activities.deletePod({ ...ref, uid: ns.metadata!.uid! })],
    ];
    for (const [name, call] of calls) {
      const failure = await refusal(call);
      expect(failure, name).toMatchObject({ type: kubeFailure.invalidName, nonRetryable: true });
      expect(failure.message, name).toContain(`pod name ${JSON.stringify(pod)} is not a valid Kubernetes name`);
    }
    expect(await deps.evidence.manifest(incidentId)).toEqual([]);
    expect(await world(w.namespace, w.node)).toEqual(before);
  });

  it('namespace "..": refused the same way, so no list or write reaches the cluster-wide path', async () => {
    const ref: PodRef = { incidentId: uniqueName('crafted'), namespace: '..', pod: w.pods[0], mode: 'live' };
    for (const call of [() => activities.quarantinePod(ref), () => activities.detachPodFromRotation(ref)]) {
      expect(await refusal(call)).toMatchObject({ type: kubeFailure.invalidName, nonRetryable: true, message: expect.stringContaining('RFC 1123 label') });
    }
  });

  it('node "..": cordon and uncordon refuse it before any request, and the node is untouched', async () => {
    const before = await world(w.namespace, w.node);
    const input = { incidentId: uniqueName('crafted'), node: '..', mode: 'live' as const };
    for (const call of [() => activities.cordonNode(input), () => activities.uncordonNode(input)]) {
      expect(await refusal(call)).toMatchObject({ type: kubeFailure.invalidName, nonRetryable: true, message: expect.stringContaining('node name ".."') });
    }
    expect(await world(w.namespace, w.node)).toEqual(before);
  });
});

describe('every Kubernetes read checks it got the object it asked for (beneath the name check)', () => {
  // The classes behind the activities, without the activity boundary's name check: what the read check alone prevents.
  const capture = new EvidenceCapture(deps.kube!, deps.evidence);
  const contain = new Containment(deps.kube!);

  it('reads the real pod as the pod (the control): pod.json is the Pod asked for', async () => {
    const incidentId = uniqueName('crafted');
    const result = await capture.capture({ incidentId, namespace: w.namespace, pod: w.pods[0] });
    expect(result.refs[0]?.name).toBe('pod.json');
    expect(result.pod.node).toBe(w.node);
  });

  it.each([
    ['..', 'Namespace'],
    ['.', 'PodList'],
  ])('pod %j reads as a %s: evidence refuses to seal it, containment refuses to act on it, typed KubernetesUnexpectedObject', async (pod, got) => {
    const before = await world(w.namespace, w.node);
    const incidentId = uniqueName('crafted');
    const ref: PodRef = { incidentId, namespace: w.namespace, pod, mode: 'live' };
    const calls: [string, () => Promise<unknown>][] = [
      ['capture', () => capture.capture({ incidentId, namespace: w.namespace, pod })],
      ['quarantine', () => contain.quarantine(ref)],
      ['detach', () => contain.detach(ref)],
      ['restoreLabels', () => contain.restoreLabels({ ...ref, labels: { app: 'storefront' } })],
      ['release', () => contain.release(ref)],
    ];
    for (const [name, call] of calls) {
      const failure = await refusal(call);
      expect(failure, name).toMatchObject({ type: kubeFailure.unexpectedObject, nonRetryable: true });
      expect(failure.message, name).toContain(`and got "${got}`);
    }
    expect(await deps.evidence.manifest(incidentId)).toEqual([]);
    expect(await world(w.namespace, w.node)).toEqual(before);
  });

  it('node ".." reads as the API resource list: cordon and uncordon refuse to patch anything', async () => {
    const before = await world(w.namespace, w.node);
    const input = { incidentId: uniqueName('crafted'), node: '..', mode: 'live' as const };
    for (const call of [() => contain.cordon(input), () => contain.uncordon(input)]) {
      expect(await refusal(call)).toMatchObject({ type: kubeFailure.unexpectedObject, nonRetryable: true, message: expect.stringContaining('and got "APIResourceList') });
    }
    expect(await world(w.namespace, w.node)).toEqual(before);
  });
});

describe("the service account's IRSA annotation", () => {
  it('is recorded but never offered as a role when it is not a role ARN', async () => {
    const other = await seedWorkload(await testNamespace('crafted-irsa'));
    await core.patchNamespacedServiceAccount(
      { name: 'storefront', namespace: other.namespace, body: [{ op: 'replace', path: '/metadata/annotations/eks.amazonaws.com~1role-arn', value: 'arn:aws:iam::123456789012:user/admin' }] },
    );
    const result = await createKubernetesActivities(deps).captureContainerEscapeEvidence({ incidentId: uniqueName('crafted'), namespace: other.namespace, pod: other.pods[0] });
    expect(result.pod.awsRoleArn).toBeUndefined();
    expect(result.pod.serviceAccount).toBe('storefront');
  });
});
