import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ApiException, CoreV1Api, NetworkingV1Api, type V1Pod } from '@kubernetes/client-node';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { quarantineLabel, quarantinePolicyName, removedLabelsAnnotation } from '../../activities/kubernetes/index.ts';
import { decideUpdate, rejection, rollbackUpdate, type IncidentStatus } from '../../workflows/engine/messages.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { loadTimeline } from '../../src/timeline/report.ts';
import { renderMarkdown } from '../../src/timeline/render.ts';
import { testDeps } from '../support/deps.ts';
import { awaiting, waitForStatus } from '../support/engine.ts';
import { kubeConfig, temporalClient, testNamespace, uniqueName } from '../support/servers.ts';
import { falcoEvent, fromFalco, podLabels, policy, seedWorkload, startEscape, startRunbookWorker, timeline } from './support.ts';

const client = await temporalClient();
const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
const deps = await testDeps();
const core = kubeConfig().makeApiClient(CoreV1Api);
const net = kubeConfig().makeApiClient(NetworkingV1Api);
let taskQueue: string;

beforeAll(async () => {
  ({ taskQueue } = await startRunbookWorker(deps));
});

const approvers = ['cli:alice', 'cli:bob', 'cli:carol'];
/** The shipped policy with the node gate lifted and deletion denied after 1 s, so an incident runs straight through. */
const straight = () =>
  policy({
    'cordon-node': 'none',
    'delete-pod': { approvers, required: 2, twoPerson: true, timeout: '1s', onTimeout: 'deny' },
    rollback: 'none',
  });
const done = new Set(['succeeded', 'failed', 'skipped', 'denied']);
const settled = (s: IncidentStatus) => s.steps.filter((x) => x.id !== 'rollback').every((x) => done.has(x.status));
const vote = (step: string, actor: string, decision: 'approve' | 'deny' = 'approve') => ({
  args: [{ step, decision, actor, ...(decision === 'deny' ? { reason: 'not now' } : {}) }] as [{ step: string; decision: 'approve' | 'deny'; actor: string }],
});

async function incident(opts: { policy?: Awaited<ReturnType<typeof policy>>; mode?: 'live' | 'dry-run'; rule?: string; priority?: string } = {}) {
  const namespace = await testNamespace('escape');
  const w = await seedWorkload(namespace);
  const p = opts.policy ?? (await straight());
  const handle = await startEscape(client, taskQueue, fromFalco(p, falcoEvent(w, w.pods[0], opts.rule, opts.priority), opts.mode));
  return { w, handle };
}

async function readPod(namespace: string, name: string): Promise<V1Pod | undefined> {
  try {
    return await core.readNamespacedPod({ name, namespace });
  } catch (e) {
    if (e instanceof ApiException && e.code === 404) return undefined;
    throw e;
  }
}

async function evidence(events: TimelineEvent[], name: string): Promise<unknown> {
  const sealed = events.find((e) => e.type === 'evidence.sealed' && e.data.name === name);
  if (sealed?.type !== 'evidence.sealed') throw new Error(`no evidence ${name}`);
  return JSON.parse(await readFile(fileURLToPath(sealed.data.uri), 'utf8')) as unknown;
}

describe('container-escape runbook against the real kube-apiserver', () => {
  it('seals the pod and its namespace\'s NetworkPolicies before isolating it, and every item before cordoning the node', async () => {
    const { handle } = await incident();
    await waitForStatus(handle, settled);
    const events = await timeline(handle);
    const sealedAt = (name: string) => events.findIndex((e) => e.type === 'evidence.sealed' && e.data.name === name);
    const startedAt = (step: string) => events.findIndex((e) => e.type === 'action.started' && e.step === step);
    const sealed = events.filter((e) => e.type === 'evidence.sealed').map((e) => (e.type === 'evidence.sealed' ? e.data.name : ''));

    expect(sealed.slice(0, 2)).toEqual(['pod.json', 'network-policies.json']);
    expect([...sealed].sort()).toEqual(['events.json', 'logs.json', 'network-policies.json', 'node.json', 'owner-chain.json', 'pod.json', 'service-account.json']);
    expect(startedAt('isolate-pod')).toBeGreaterThan(Math.max(sealedAt('pod.json'), sealedAt('network-policies.json')));
    expect(events[startedAt('isolate-pod')]?.data).toMatchObject({ evidence: { required: ['pod.json', 'network-policies.json'] } });
    expect(startedAt('cordon-node')).toBeGreaterThan(Math.max(...sealed.map(sealedAt)));
    expect(events[startedAt('cordon-node')]?.data).toMatchObject({ evidence: { all: 7 } });
  });

  it('seals the pod and NetworkPolicies as they were before isolation changed them', async () => {
    const { w, handle } = await incident();
    await waitForStatus(handle, settled);
    const events = await timeline(handle);
    const pod = (await evidence(events, 'pod.json')) as V1Pod;
    const policies = (await evidence(events, 'network-policies.json')) as { items: { metadata: { name: string } }[] };

    expect(pod.metadata?.labels).toEqual(podLabels);
    expect(pod.metadata?.labels).not.toHaveProperty(quarantineLabel);
    expect(policies.items.map((p) => p.metadata.name)).not.toContain(quarantinePolicyName(handle.workflowId));
    // The control: the pod as it is now carries the quarantine label.
    expect((await readPod(w.namespace, w.pods[0]))?.metadata?.labels).toHaveProperty(quarantineLabel);
  });

  it('records container logs, current and previous, as unavailable with the API server reason instead of failing', async () => {
    const { w, handle } = await incident();
    await waitForStatus(handle, settled);
    const logs = (await evidence(await timeline(handle), 'logs.json')) as { pod: string; logs: { container: string; which: string; unavailable?: string }[] };
    expect(logs.pod).toBe(`${w.namespace}/${w.pods[0]}`);
    expect(logs.logs.map((l) => [l.container, l.which])).toEqual([['web', 'current'], ['web', 'previous']]);
    for (const l of logs.logs) expect(l.unavailable).toMatch(/^get pods\/log .* HTTP \d{3}/);
  });

  it('captures the owner chain, every binding that grants the service account, and only the pod\'s own events', async () => {
    const { w, handle } = await incident();
    await waitForStatus(handle, settled);
    const events = await timeline(handle);
    const owners = (await evidence(events, 'owner-chain.json')) as { kind: string; name: string }[];
    expect(owners.map((o) => `${o.kind}/${o.name}`)).toEqual([`ReplicaSet/${w.rs}`, 'Deployment/storefront']);
    const account = (await evidence(events, 'service-account.json')) as {
      roleBindings: { metadata: { name: string } }[];
      clusterRoleBindings: { metadata: { name: string } }[];
      roles: { kind: string; name: string }[];
      awsRoleArn: string;
    };
    expect(account.roleBindings.map((b) => b.metadata.name)).toEqual(['storefront-config']);
    expect(account.clusterRoleBindings.map((b) => b.metadata.name)).toContain(`${w.namespace}-storefront-view`);
    expect(account.roles).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'Role', name: 'storefront-config' })]));
    expect(account.awsRoleArn).toBe(w.roleArn);
    const podEvents = (await evidence(events, 'events.json')) as { items: { involvedObject: { name: string } }[] };
    expect(podEvents.items.map((e) => e.involvedObject.name)).toEqual([w.pods[0]]);
  });

  it('quarantines the pod on a Falco breakout alert without waiting: quarantine label and deny-all NetworkPolicy, pod kept', async () => {
    const { w, handle } = await incident();
    const status = await waitForStatus(handle, settled);
    expect(status.steps.find((s) => s.id === 'isolate-pod')).toMatchObject({ status: 'succeeded', settledBy: 'auto-contain' });
    const pod = await readPod(w.namespace, w.pods[0]);
    const value = pod?.metadata?.labels?.[quarantineLabel];
    expect(value).toBeTruthy();
    expect(pod?.metadata?.deletionTimestamp).toBeUndefined();
    const np = await net.readNamespacedNetworkPolicy({ name: quarantinePolicyName(handle.workflowId), namespace: w.namespace });
    expect(np.spec?.podSelector?.matchLabels).toEqual({ [quarantineLabel]: value });
    expect(np.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec?.ingress ?? []).toEqual([]);
    expect(np.spec?.egress ?? []).toEqual([]);
  });

  it('takes the pod out of rotation by removing the labels its ReplicaSet and Service select, recording them', async () => {
    const { w, handle } = await incident();
    await waitForStatus(handle, settled);
    const pod = await readPod(w.namespace, w.pods[0]);
    for (const key of Object.keys(podLabels)) expect(pod?.metadata?.labels).not.toHaveProperty(key);
    expect(JSON.parse(pod?.metadata?.annotations?.[removedLabelsAnnotation] ?? '{}')).toEqual({ incident: handle.workflowId, labels: podLabels });
    expect((await readPod(w.namespace, w.pods[1]))?.metadata?.labels).toEqual(podLabels);
  });

  it('cordons and annotates the node only once its gate is approved, evicting nothing', async () => {
    const p = await policy({ 'delete-pod': { approvers, required: 2, twoPerson: true, timeout: '1s', onTimeout: 'deny' } });
    const { w, handle } = await incident({ policy: p });
    await waitForStatus(handle, awaiting('cordon-node'));
    expect((await core.readNode({ name: w.node })).spec?.unschedulable).toBeFalsy();
    await handle.executeUpdate(decideUpdate, vote('cordon-node', 'cli:bob'));
    await waitForStatus(handle, settled);
    const node = await core.readNode({ name: w.node });
    expect(node.spec?.unschedulable).toBe(true);
    expect(node.metadata?.annotations?.['firebreak.io/cordoned-by']).toBe(handle.workflowId);
    expect(Object.values(node.metadata?.annotations ?? {})).toContain(handle.workflowId);
    for (const name of w.pods) expect((await readPod(w.namespace, name))?.spec?.nodeName).toBe(w.node);
  });

  it('waits for approval to isolate when the alert matches no auto-containment rule', async () => {
    const { w, handle } = await incident({ rule: 'Terminal shell in container', priority: 'Warning' });
    await waitForStatus(handle, awaiting('isolate-pod'));
    expect((await readPod(w.namespace, w.pods[0]))?.metadata?.labels).toEqual(podLabels);
    const policies = await net.listNamespacedNetworkPolicy({ namespace: w.namespace });
    expect(policies.items.map((p) => p.metadata?.name)).toEqual(['allow-web']);
  });

  it('deletes the pod only after two approvers other than the requester approve', async () => {
    const p = await policy({ 'cordon-node': 'none' });
    const { w, handle } = await incident({ policy: p });
    await waitForStatus(handle, awaiting('delete-pod'));
    const e: unknown = await handle.executeUpdate(decideUpdate, vote('delete-pod', 'cli:alice')).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(((e as WorkflowUpdateFailedError).cause as { type?: string }).type).toBe(rejection.requesterCannotApprove);
    await handle.executeUpdate(decideUpdate, vote('delete-pod', 'cli:bob'));
    expect((await readPod(w.namespace, w.pods[0]))?.metadata?.deletionTimestamp).toBeUndefined();
    await handle.executeUpdate(decideUpdate, vote('delete-pod', 'cli:carol'));
    await waitForStatus(handle, (s) => s.steps.find((x) => x.id === 'delete-pod')?.status === 'succeeded');
    const pod = await readPod(w.namespace, w.pods[0]);
    // No kubelet confirms termination: a graceful delete leaves the pod terminating.
    expect(pod === undefined || pod.metadata?.deletionTimestamp !== undefined).toBe(true);
  });

  it('offers the credential-compromise runbook for the IRSA role as a skipped step, with the reason, when the starter passes no credential-compromise policy', async () => {
    const { w, handle } = await incident();
    const status = await waitForStatus(handle, settled);
    expect(status.steps.find((s) => s.id === 'offer-credential-compromise')?.status).toBe('skipped');
    const skipped = (await timeline(handle)).find((e) => e.type === 'action.skipped' && e.step === 'offer-credential-compromise');
    expect(skipped?.data).toMatchObject({ why: expect.stringContaining(w.roleArn) });
    expect(skipped?.data).toMatchObject({ why: expect.stringContaining('the starter passed no credential-compromise policy') });
  });

  it('in dry-run mode sends every write with dryRun=All, records it, and leaves every object unchanged', async () => {
    const { w, handle } = await incident({ mode: 'dry-run' });
    await waitForStatus(handle, settled);
    const events = await timeline(handle);
    const succeeded = events.filter((e) => e.type === 'action.succeeded');
    expect(succeeded.map((e) => e.step)).toEqual(['isolate-pod', 'detach-from-rotation', 'cordon-node']);
    for (const e of succeeded) expect(e.type === 'action.succeeded' && e.data.changed).toMatch(/^dry-run \(dryRun=All/);
    const pod = await readPod(w.namespace, w.pods[0]);
    expect(pod?.metadata?.labels).toEqual(podLabels);
    expect(pod?.metadata?.annotations ?? {}).toEqual({});
    expect((await net.listNamespacedNetworkPolicy({ namespace: w.namespace })).items.map((p) => p.metadata?.name)).toEqual(['allow-web']);
    const node = await core.readNode({ name: w.node });
    expect(node.spec?.unschedulable).toBeFalsy();
    expect(node.metadata?.annotations ?? {}).toEqual({});
  });

  it('rolls back newest first: uncordons, restores the removed labels, deletes the NetworkPolicy and the quarantine label', async () => {
    const { w, handle } = await incident();
    await waitForStatus(handle, settled);
    await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob', reason: 'false positive' }] });
    await waitForStatus(handle, (s) => s.phase === 'rolled-back');
    const events = await timeline(handle);
    expect(events.filter((e) => e.type === 'rollback.compensated').map((e) => e.step)).toEqual(['cordon-node', 'detach-from-rotation', 'isolate-pod']);
    expect(events.find((e) => e.type === 'rollback.finished')?.data).toEqual({ compensated: 3, failed: 0 });
    const pod = await readPod(w.namespace, w.pods[0]);
    expect(pod?.metadata?.labels).toEqual(podLabels);
    expect(pod?.metadata?.annotations ?? {}).toEqual({});
    expect((await net.listNamespacedNetworkPolicy({ namespace: w.namespace })).items.map((p) => p.metadata?.name)).toEqual(['allow-web']);
    const node = await core.readNode({ name: w.node });
    expect(node.spec?.unschedulable).toBeFalsy();
    expect(node.metadata?.annotations ?? {}).toEqual({});
  });

  it('records a pod that disappeared after evidence as gone, and skips what needs it, instead of failing', async () => {
    const { w, handle } = await incident({ rule: 'Terminal shell in container', priority: 'Warning' });
    await waitForStatus(handle, awaiting('isolate-pod'));
    await core.deleteNamespacedPod({ name: w.pods[0], namespace: w.namespace, gracePeriodSeconds: 0 });
    await handle.executeUpdate(decideUpdate, vote('isolate-pod', 'cli:bob'));
    const status = await waitForStatus(handle, settled);
    expect(status.counts.failures).toBe(0);
    expect(status.steps.filter((s) => s.status === 'skipped').map((s) => s.id)).toEqual(['detach-from-rotation', 'offer-credential-compromise', 'delete-pod']);
    const events = await timeline(handle);
    const gone = events.find((e) => e.type === 'action.target-gone' && e.step === 'isolate-pod');
    expect(gone?.data).toMatchObject({ detail: expect.stringContaining('is gone (404 after evidence was sealed)') });
    expect(events.filter((e) => e.type === 'action.already-done')).toEqual([]);
  });

  it('lists a pod that vanished under the report\'s follow-ups, not as already in place', async () => {
    const { w, handle } = await incident({ rule: 'Terminal shell in container', priority: 'Warning' });
    await waitForStatus(handle, awaiting('isolate-pod'));
    await core.deleteNamespacedPod({ name: w.pods[0], namespace: w.namespace, gracePeriodSeconds: 0 });
    await handle.executeUpdate(decideUpdate, vote('isolate-pod', 'cli:bob'));
    await waitForStatus(handle, settled);
    const report = renderMarkdown(await loadTimeline(client, handle.workflowId, { workflowsPath }));
    const followUps = report.slice(report.indexOf('## Open follow-ups'));
    expect(followUps).toContain(`Find out who or what removed it: Target gone: quarantine pod (label + deny-all NetworkPolicy) on pod:${w.namespace}/${w.pods[0]}`);
    expect(report).not.toContain('Already in place');
  });
});

describe('container-escape runbook across a worker restart', () => {
  it('resumes on a second worker after the first died mid-step, changing nothing twice', async () => {
    const queue = uniqueName('restart');
    let died = false;
    const first = await startRunbookWorker(deps, {
      taskQueue: queue,
      wrap: (a, worker) => ({
        ...a,
        quarantinePod: async (ref) => {
          const result = await a.quarantinePod(ref);
          if (!died) {
            // The change is made; the worker goes away before reporting it.
            died = true;
            worker().shutdown();
            throw new Error('worker lost before reporting the result');
          }
          return result;
        },
      }),
    });
    const namespace = await testNamespace('restart');
    const w = await seedWorkload(namespace);
    const handle = await startEscape(client, queue, fromFalco(await straight(), falcoEvent(w, w.pods[0])));
    await first.running;
    expect(died).toBe(true);
    await startRunbookWorker(deps, { taskQueue: queue });
    await waitForStatus(handle, settled);
    const events = await timeline(handle);
    expect(events.filter((e) => e.type === 'action.started' && e.step === 'isolate-pod')).toHaveLength(1);
    const isolated = events.find((e) => e.type === 'action.succeeded' && e.step === 'isolate-pod');
    expect(isolated?.data).toMatchObject({ changed: expect.stringContaining('already in place') });
    const quarantines = await net.listNamespacedNetworkPolicy({ namespace, labelSelector: quarantineLabel });
    expect(quarantines.items).toHaveLength(1);
    await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:bob' }] });
    await waitForStatus(handle, (s) => s.phase === 'rolled-back');
    expect((await readPod(namespace, w.pods[0]))?.metadata?.labels).toEqual(podLabels);
  });
});
