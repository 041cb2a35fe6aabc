import type {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  NetworkingV1Api,
  V1LabelSelector,
  V1NetworkPolicy,
  V1Node,
  V1OwnerReference,
  V1Pod,
} from '@kubernetes/client-node';
import { expectList, expectObject } from './checks.ts';
import { call, statusOf } from './errors.ts';
import {
  cordonedByAnnotation,
  incidentAnnotation,
  incidentLabelValue,
  nodeIncidentAnnotation,
  nodeIncidentPrefix,
  quarantineLabel,
  quarantinePolicyName,
  removedLabelsAnnotation,
} from './names.ts';
import type { KubeActionResult, KubeClients, KubeMode, PodRef } from './types.ts';
import { KubeWriter } from './writes.ts';

function podGone(ref: PodRef, doing: string): KubeActionResult {
  return {
    outcome: 'target-gone',
    podGone: true,
    detail: `pod ${ref.namespace}/${ref.pod} is gone (404 after evidence was sealed): nothing to ${doing}`,
  };
}

export interface DetachResult extends KubeActionResult {
  /** The labels removed from the pod (restored on rollback). */
  removed: Record<string, string>;
}

export class Containment {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly batch: BatchV1Api;
  private readonly net: NetworkingV1Api;

  constructor(kube: KubeClients) {
    ({ core: this.core, apps: this.apps, batch: this.batch, net: this.net } = kube);
  }

  /** The pod, checked to be the very pod asked for before anything acts on it; undefined when it is gone. */
  private async readPod(ref: PodRef): Promise<V1Pod | undefined> {
    try {
      const pod = await call('get', 'pods', `in namespace ${ref.namespace}`, () => this.core.readNamespacedPod({ name: ref.pod, namespace: ref.namespace }), [404]);
      return expectObject(pod, { kind: 'Pod', apiVersion: 'v1', name: ref.pod, namespace: ref.namespace });
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  /** Every write goes through the writer of the call's mode (activities/kubernetes/writes.ts). */
  private writer(mode: KubeMode): KubeWriter {
    return new KubeWriter(this.core, this.net, mode);
  }

  /**
   * Labels the pod `firebreak.io/quarantine=<incident>` and creates the
   * incident's deny-all (ingress and egress) NetworkPolicy selecting that
   * label. Idempotent: a retry finds its own label and policy in place.
   */
  async quarantine(ref: PodRef): Promise<KubeActionResult> {
    const w = this.writer(ref.mode);
    const value = incidentLabelValue(ref.incidentId);
    const pod = await this.readPod(ref);
    if (pod === undefined) return podGone(ref, 'isolate');
    const existing = pod.metadata?.labels?.[quarantineLabel];
    if (existing !== undefined && existing !== value) {
      return { outcome: 'already-done', detail: `pod ${ref.namespace}/${ref.pod} is already quarantined by another incident (${quarantineLabel}=${existing})` };
    }
    if (existing === undefined || ref.mode === 'dry-run') {
      const patched = await w.pods.patch(ref.namespace, ref.pod, { metadata: { labels: { [quarantineLabel]: value }, annotations: { [incidentAnnotation]: ref.incidentId } } });
      if (patched === undefined) return podGone(ref, 'isolate');
    }
    const name = quarantinePolicyName(ref.incidentId);
    const policy: V1NetworkPolicy = {
      metadata: {
        name,
        labels: { [quarantineLabel]: value, 'app.kubernetes.io/managed-by': 'firebreak' },
        annotations: { [incidentAnnotation]: ref.incidentId },
      },
      // No ingress or egress rule: every connection to and from the selected pods is denied.
      spec: { podSelector: { matchLabels: { [quarantineLabel]: value } }, policyTypes: ['Ingress', 'Egress'] },
    };
    let found = false;
    try {
      await w.networkPolicies.create(ref.namespace, policy);
    } catch (e) {
      if (statusOf(e) !== 409) throw e;
      found = true; // AlreadyExists: the policy of this incident (its name is the incident's), from an earlier attempt.
    }
    return {
      outcome: 'changed',
      detail: w.said(
        `labelled pod ${ref.namespace}/${ref.pod} ${quarantineLabel}=${value}${existing === value ? ' (label already in place)' : ''}; NetworkPolicy ${ref.namespace}/${name} denies all ingress and egress${found ? ' (already in place)' : ''}`,
      ),
    };
  }

  /** Undoes `quarantine`: deletes the incident's NetworkPolicy and removes its label from the pod. */
  async release(ref: PodRef): Promise<string> {
    const w = this.writer(ref.mode);
    const name = quarantinePolicyName(ref.incidentId);
    const parts: string[] = [];
    if (await w.networkPolicies.delete(ref.namespace, name)) parts.push(`deleted NetworkPolicy ${ref.namespace}/${name}`);
    else parts.push(`NetworkPolicy ${ref.namespace}/${name} was already gone`);
    const pod = await this.readPod(ref);
    const value = incidentLabelValue(ref.incidentId);
    if (pod === undefined) parts.push(`pod ${ref.namespace}/${ref.pod} is gone`);
    else if (pod.metadata?.labels?.[quarantineLabel] !== value) parts.push(`pod ${ref.namespace}/${ref.pod} no longer had this incident's quarantine label`);
    else {
      const patched = await w.pods.patch(ref.namespace, ref.pod, { metadata: { labels: { [quarantineLabel]: null }, annotations: { [incidentAnnotation]: null } } });
      parts.push(patched === undefined ? `pod ${ref.namespace}/${ref.pod} is gone` : `removed label ${quarantineLabel} from pod ${ref.namespace}/${ref.pod}`);
    }
    return w.said(parts.join('; '));
  }

  /**
   * Removes the labels that make the pod's ReplicaSet (or other controller)
   * and the namespace's Services select it, so it leaves rotation without
   * being deleted. The removed labels are recorded on the pod and returned.
   */
  async detach(ref: PodRef): Promise<DetachResult> {
    const pod = await this.readPod(ref);
    if (pod === undefined) return { ...podGone(ref, 'take out of rotation'), removed: {} };
    const labels = pod.metadata?.labels ?? {};
    const recorded = parseRemoved(pod.metadata?.annotations?.[removedLabelsAnnotation]);
    if (recorded !== undefined && recorded.incident === ref.incidentId && ref.mode === 'live') {
      return { outcome: 'changed', removed: recorded.labels, detail: `removed labels ${describeLabels(recorded.labels)} from pod ${ref.namespace}/${ref.pod} (found already removed by this incident)` };
    }
    const keys = new Set<string>();
    const why: string[] = [];
    const controller = (pod.metadata?.ownerReferences ?? []).find((o) => o.controller === true);
    if (controller !== undefined) {
      const selector = await this.ownerSelector(ref.namespace, controller);
      for (const k of selectorKeys(selector)) keys.add(k);
      if (selector !== undefined) why.push(`${controller.kind} ${controller.name}`);
    }
    const services = expectList(
      await call('list', 'services', `in namespace ${ref.namespace}`, () => this.core.listNamespacedService({ namespace: ref.namespace })),
      { kind: 'ServiceList', namespace: ref.namespace },
    );
    for (const svc of services.items) {
      const sel = svc.spec?.selector ?? {};
      const entries = Object.entries(sel);
      if (entries.length > 0 && entries.every(([k, v]) => labels[k] === v)) {
        for (const [k] of entries) keys.add(k);
        why.push(`Service ${svc.metadata?.name ?? '?'}`);
      }
    }
    keys.delete(quarantineLabel);
    const removed = Object.fromEntries([...keys].filter((k) => k in labels).sort().map((k) => [k, labels[k]!]));
    if (Object.keys(removed).length === 0) {
      return { outcome: 'already-done', removed: {}, detail: `no label of pod ${ref.namespace}/${ref.pod} ties it to a controller or Service` };
    }
    const w = this.writer(ref.mode);
    const patched = await w.pods.patch(ref.namespace, ref.pod, {
      metadata: {
        labels: Object.fromEntries(Object.keys(removed).map((k) => [k, null])),
        annotations: { [removedLabelsAnnotation]: JSON.stringify({ incident: ref.incidentId, labels: removed }) },
      },
    });
    if (patched === undefined) return { ...podGone(ref, 'take out of rotation'), removed: {} };
    return { outcome: 'changed', removed, detail: w.said(`removed labels ${describeLabels(removed)} from pod ${ref.namespace}/${ref.pod} (selected by ${why.join(', ')})`) };
  }

  /** Undoes `detach`: puts the removed labels back. */
  async restoreLabels(ref: PodRef & { labels: Record<string, string> }): Promise<string> {
    const pod = await this.readPod(ref);
    if (pod === undefined) return `pod ${ref.namespace}/${ref.pod} is gone: no labels to restore`;
    const recorded = parseRemoved(pod.metadata?.annotations?.[removedLabelsAnnotation]);
    const labels = Object.keys(ref.labels).length > 0 ? ref.labels : recorded?.incident === ref.incidentId ? recorded.labels : {};
    const w = this.writer(ref.mode);
    const patched = await w.pods.patch(ref.namespace, ref.pod, { metadata: { labels, annotations: { [removedLabelsAnnotation]: null } } });
    if (patched === undefined) return `pod ${ref.namespace}/${ref.pod} is gone: no labels to restore`;
    return w.said(`restored labels ${describeLabels(labels)} on pod ${ref.namespace}/${ref.pod}`);
  }

  private async ownerSelector(namespace: string, o: V1OwnerReference): Promise<V1LabelSelector | Record<string, string> | undefined> {
    const p = { name: o.name, namespace };
    const where = `in namespace ${namespace}`;
    // The owner read must be the owner named: its selector decides which labels are removed from the pod.
    const owner = <T extends { kind?: string; metadata?: { name?: string; namespace?: string } }>(object: T): T => expectObject(object, { kind: o.kind, name: o.name, namespace });
    try {
      switch (o.kind) {
        case 'ReplicaSet':
          return owner(await call('get', 'replicasets.apps', where, () => this.apps.readNamespacedReplicaSet(p), [404])).spec?.selector;
        case 'StatefulSet':
          return owner(await call('get', 'statefulsets.apps', where, () => this.apps.readNamespacedStatefulSet(p), [404])).spec?.selector;
        case 'DaemonSet':
          return owner(await call('get', 'daemonsets.apps', where, () => this.apps.readNamespacedDaemonSet(p), [404])).spec?.selector;
        case 'Job':
          return owner(await call('get', 'jobs.batch', where, () => this.batch.readNamespacedJob(p), [404])).spec?.selector;
        case 'ReplicationController':
          return owner(await call('get', 'replicationcontrollers', where, () => this.core.readNamespacedReplicationController(p), [404])).spec?.selector;
        default:
          return undefined;
      }
    } catch (e) {
      if (statusOf(e) === 404) return undefined; // The owner is gone: nothing selects the pod through it.
      throw e;
    }
  }

  /**
   * Cordons the node (spec.unschedulable) and annotates it with the incident.
   * Never drains. A node someone else cordoned is annotated but left for them
   * to uncordon.
   */
  async cordon(input: { incidentId: string; node: string; mode: KubeMode }): Promise<KubeActionResult> {
    const node = await this.readNode(input.node);
    if (node === undefined) return { outcome: 'target-gone', detail: `node ${input.node} is gone: nothing to cordon` };
    const annotations = node.metadata?.annotations ?? {};
    const cordonedBy = annotations[cordonedByAnnotation];
    const alreadyCordoned = node.spec?.unschedulable === true;
    const weCordon = !alreadyCordoned || cordonedBy === input.incidentId;
    const body = {
      metadata: {
        annotations: { [nodeIncidentAnnotation(input.incidentId)]: input.incidentId, ...(weCordon ? { [cordonedByAnnotation]: input.incidentId } : {}) },
      },
      ...(weCordon ? { spec: { unschedulable: true } } : {}),
    };
    const w = this.writer(input.mode);
    await w.nodes.patch(input.node, body);
    return {
      outcome: 'changed',
      detail: w.said(
        weCordon
          ? `cordoned node ${input.node} (spec.unschedulable=true) and annotated it with the incident; no pod was evicted`
          : `annotated node ${input.node} with the incident; it was already cordoned by someone else, who keeps it`,
      ),
    };
  }

  /** Undoes `cordon`: removes the incident's annotation and uncordons the node if this incident cordoned it and no other incident holds it. */
  async uncordon(input: { incidentId: string; node: string; mode: KubeMode }): Promise<string> {
    const node = await this.readNode(input.node);
    if (node === undefined) return `node ${input.node} is gone: nothing to uncordon`;
    const annotations = node.metadata?.annotations ?? {};
    const ours = nodeIncidentAnnotation(input.incidentId);
    const others = Object.entries(annotations).filter(([k]) => k.startsWith(nodeIncidentPrefix) && k !== ours);
    const cordonedByUs = annotations[cordonedByAnnotation] === input.incidentId;
    const patch: { metadata: { annotations: Record<string, string | null> }; spec?: { unschedulable: boolean | null } } = {
      metadata: { annotations: { [ours]: null } },
    };
    let detail: string;
    if (!cordonedByUs) detail = `removed the incident's annotation from node ${input.node}; this incident had not cordoned it, so it stays as it was`;
    else if (others.length > 0) {
      patch.metadata.annotations[cordonedByAnnotation] = others[0]![1];
      detail = `removed the incident's annotation from node ${input.node}; it stays cordoned for incident ${others[0]![1]}`;
    } else {
      patch.metadata.annotations[cordonedByAnnotation] = null;
      patch.spec = { unschedulable: null };
      detail = `uncordoned node ${input.node} and removed the incident's annotations`;
    }
    const w = this.writer(input.mode);
    await w.nodes.patch(input.node, patch);
    return w.said(detail);
  }

  /** Deletes the pod, only the very one evidence was taken of (uid precondition). */
  async removePod(ref: PodRef & { uid: string }): Promise<KubeActionResult> {
    const w = this.writer(ref.mode);
    try {
      if ((await w.pods.delete(ref.namespace, ref.pod, ref.uid)) === undefined) return podGone(ref, 'delete');
    } catch (e) {
      if (statusOf(e) === 409) {
        return { outcome: 'target-gone', podGone: true, detail: `pod ${ref.namespace}/${ref.pod} is now another pod (uid differs from the one in evidence): not deleted` };
      }
      throw e;
    }
    return { outcome: 'changed', detail: w.said(`deleted pod ${ref.namespace}/${ref.pod} (uid ${ref.uid})`) };
  }

  /** The node, checked to be the node asked for (a node named `..` reads as the API's resource list); undefined when it is gone. */
  private async readNode(name: string): Promise<V1Node | undefined> {
    try {
      return expectObject(await call('get', 'nodes', '(cluster-scoped)', () => this.core.readNode({ name }), [404]), { kind: 'Node', apiVersion: 'v1', name });
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }
}

function selectorKeys(selector: V1LabelSelector | Record<string, string> | undefined): string[] {
  if (selector === undefined) return [];
  if ('matchLabels' in selector || 'matchExpressions' in selector) {
    const s = selector as V1LabelSelector;
    return [...Object.keys(s.matchLabels ?? {}), ...(s.matchExpressions ?? []).filter((e) => e.operator === 'In' || e.operator === 'Exists').map((e) => e.key)];
  }
  return Object.keys(selector);
}

function parseRemoved(text: string | undefined): { incident: string; labels: Record<string, string> } | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as { incident?: unknown; labels?: unknown };
    if (typeof parsed.incident === 'string' && typeof parsed.labels === 'object' && parsed.labels !== null) {
      return { incident: parsed.incident, labels: parsed.labels as Record<string, string> };
    }
  } catch {
    // An annotation someone edited by hand: ignored.
  }
  return undefined;
}

function describeLabels(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(', ') || '(none)';
}
