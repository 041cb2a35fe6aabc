/**
 * The supply-chain block: one shared ValidatingAdmissionPolicy and binding
 * (`firebreak-blocked-images`) whose parameters are ConfigMaps, one per
 * incident, in the block namespace. Lifting one incident's block deletes its
 * ConfigMap only: the policy and other incidents' entries stay.
 */
import type { V1ConfigMap, V1Pod, V1ValidatingAdmissionPolicy, V1ValidatingAdmissionPolicyBinding } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { createHash } from 'node:crypto';
import { expectList, expectObject } from './checks.ts';
import { call, kubeFailure, reasonOf, statusOf } from './errors.ts';
import { blockConfigMapName, blockIncidentLabel, blockParamLabel, blockParamLabelValue, blockPolicyName, incidentAnnotation, incidentLabelValue } from './names.ts';
import type { KubeActionResult, KubeClients, KubeMode } from './types.ts';
import { KubeWriter } from './writes.ts';

const managedBy = { 'app.kubernetes.io/managed-by': 'firebreak' };

/** The images of a pod spec, as CEL over a Pod or a workload's template (a CronJob's is in its jobTemplate). */
const specOf = (o: string) =>
  `${o}.kind == 'Pod' ? ${o}.spec : (${o}.kind == 'CronJob' ? ${o}.spec.jobTemplate.spec.template.spec : ${o}.spec.template.spec)`;
const imagesOf = (spec: string) =>
  `(has(${spec}.containers) ? ${spec}.containers.map(c, c.image) : []) + ` +
  `(has(${spec}.initContainers) ? ${spec}.initContainers.map(c, c.image) : []) + ` +
  `(has(${spec}.ephemeralContainers) ? ${spec}.ephemeralContainers.map(c, c.image) : [])`;

/**
 * The policy. On UPDATE only images that were not already there are checked,
 * so a label patch on a running affected pod (quarantine) and a re-pin away
 * from a blocked image are allowed, while adding or switching to a blocked
 * image (containers, init containers, the ephemeralcontainers subresource,
 * a workload template) is denied.
 */
export function blockPolicy(): V1ValidatingAdmissionPolicy {
  const ops = ['CREATE', 'UPDATE'];
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: blockPolicyName, labels: managedBy },
    spec: {
      failurePolicy: 'Fail',
      paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
      matchConstraints: {
        resourceRules: [
          { apiGroups: [''], apiVersions: ['v1'], operations: ops, resources: ['pods', 'pods/ephemeralcontainers'] },
          { apiGroups: ['apps'], apiVersions: ['v1'], operations: ops, resources: ['deployments', 'statefulsets', 'daemonsets'] },
          { apiGroups: ['batch'], apiVersions: ['v1'], operations: ops, resources: ['jobs', 'cronjobs'] },
        ],
      },
      variables: [
        { name: 'spec', expression: specOf('object') },
        { name: 'images', expression: imagesOf('variables.spec') },
        { name: 'oldImages', expression: `request.operation == 'UPDATE' && oldObject != null ? (${imagesOf(`(${specOf('oldObject')})`)}) : []` },
        { name: 'candidates', expression: `variables.images.filter(i, !(i in variables.oldImages))` },
        { name: 'digests', expression: `has(params.data) && 'digests' in params.data ? params.data['digests'].split('\\n').filter(d, d != '') : []` },
        { name: 'refs', expression: `has(params.data) && 'images' in params.data ? params.data['images'].split('\\n').filter(d, d != '') : []` },
        {
          name: 'blocked',
          expression: `variables.candidates.filter(i, i in variables.refs || (i.contains('@') && i.split('@')[1] in variables.digests))`,
        },
        { name: 'incident', expression: `has(params.data) && 'incident' in params.data ? params.data['incident'] : params.metadata.name` },
      ],
      validations: [
        {
          expression: 'variables.blocked.size() == 0',
          reason: 'Forbidden',
          messageExpression:
            `'image ' + variables.blocked[0] + ' is blocked by Firebreak incident ' + variables.incident + ' (supply-chain block by digest; blocked digests: ' + variables.digests.join(', ') + '; tags were resolved to digests at block time). ` +
            `Use an image pinned to a clean digest. To lift the block, roll back the incident in Firebreak, or delete ConfigMap ' + params.metadata.namespace + '/' + params.metadata.name + '.'`,
        },
      ],
    },
  };
}

export function blockBinding(blockNamespace: string): V1ValidatingAdmissionPolicyBinding {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: blockPolicyName, labels: managedBy },
    spec: {
      policyName: blockPolicyName,
      validationActions: ['Deny'],
      paramRef: { namespace: blockNamespace, selector: { matchLabels: { [blockParamLabel]: blockParamLabelValue } }, parameterNotFoundAction: 'Allow' },
    },
  };
}

/** The incident's parameter ConfigMap: one digest or reference a line, sorted, so a retry writes the same data. */
export function blockConfigMap(incidentId: string, digests: string[], images: string[]): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: blockConfigMapName(incidentId),
      labels: { [blockParamLabel]: blockParamLabelValue, [blockIncidentLabel]: incidentLabelValue(incidentId), ...managedBy },
      annotations: { [incidentAnnotation]: incidentId },
    },
    data: { incident: incidentId, digests: [...new Set(digests)].sort().join('\n'), images: [...new Set(images)].sort().join('\n') },
  };
}

/** What a denial of this policy says, as kube-apiserver words it. */
const deniedByUs = `ValidatingAdmissionPolicy '${blockPolicyName}' with binding '${blockPolicyName}' denied request`;

export interface ProveInput {
  incidentId: string;
  digest: string;
  image: string;
  controlImage: string;
  namespace: string;
  timeoutMs?: number;
}

export interface ProveResult {
  denied: boolean;
  controlAllowed: boolean;
  elapsedMs: number;
  attempts: number;
  message?: string;
}

export class AdmissionBlock {
  constructor(private readonly kube: KubeClients) {}

  private writer(mode: KubeMode): KubeWriter {
    return new KubeWriter(this.kube.core, this.kube.net, mode, { admission: this.kube.admission });
  }

  async block(input: { incidentId: string; digests: string[]; images: string[]; blockNamespace: string; mode: KubeMode }): Promise<KubeActionResult> {
    const w = this.writer(input.mode);
    const ns = input.blockNamespace;
    const parts: string[] = [];
    let changed = false;
    // Before any write: the shared binding must read this namespace (one block namespace per cluster).
    const existingBinding = await this.readOrUndefined('ValidatingAdmissionPolicyBinding', () =>
      this.kube.admission.readValidatingAdmissionPolicyBinding({ name: blockPolicyName }),
    );
    if (existingBinding !== undefined) sameBlockNamespace(existingBinding, ns);
    const namespaceExists = await this.namespaceExists(ns);
    if (!namespaceExists) {
      try {
        await w.namespaces.create({ metadata: { name: ns, labels: managedBy } });
        parts.push(`created namespace ${ns}`);
        changed = true;
      } catch (e) {
        if (statusOf(e) !== 409) throw e; // Created meanwhile: as good.
      }
    }
    const policy = await this.ensure(
      'ValidatingAdmissionPolicy',
      blockPolicy(),
      () => this.kube.admission.readValidatingAdmissionPolicy({ name: blockPolicyName }),
      (b) => w.admissionPolicies.create(b),
      (b) => w.admissionPolicies.replace(blockPolicyName, b),
    );
    const binding = await this.ensure(
      'ValidatingAdmissionPolicyBinding',
      blockBinding(ns),
      () => this.kube.admission.readValidatingAdmissionPolicyBinding({ name: blockPolicyName }),
      (b) => w.admissionBindings.create(b),
      (b) => w.admissionBindings.replace(blockPolicyName, b),
      (found) => sameBlockNamespace(found, ns),
    );
    for (const [what, r] of [
      [`ValidatingAdmissionPolicy ${blockPolicyName}`, policy],
      [`ValidatingAdmissionPolicyBinding ${blockPolicyName} (Deny, params from ${ns})`, binding],
    ] as const) {
      parts.push(r === 'present' ? `${what} already in place` : `${r} ${what}`);
      if (r !== 'present') changed = true;
    }
    const cm = blockConfigMap(input.incidentId, input.digests, input.images);
    const name = cm.metadata!.name!;
    const entries = `${input.digests.length} digest(s), ${input.images.length} image reference(s)`;
    if (!namespaceExists && input.mode === 'dry-run') {
      // A dry-run namespace is not persisted, so a dry-run create inside it would answer 404.
      parts.push(`would create ConfigMap ${ns}/${name} listing ${entries} (not sent: its namespace does not exist yet)`);
      changed = true;
    } else {
      const existing = await this.readConfigMap(ns, name);
      if (existing === undefined) {
        try {
          await w.configMaps.create(ns, cm);
          parts.push(`created ConfigMap ${ns}/${name} listing ${entries}`);
          changed = true;
        } catch (e) {
          if (statusOf(e) !== 409) throw e;
          parts.push(`ConfigMap ${ns}/${name} already in place`);
        }
      } else if (existing.data?.digests === cm.data!.digests && existing.data?.images === cm.data!.images && existing.metadata?.labels?.[blockParamLabel] === blockParamLabelValue) {
        // This incident's own entries, from an attempt whose result was lost: still its change, so its undo is registered.
        parts.push(`ConfigMap ${ns}/${name} already lists ${entries} (this incident's, from an earlier attempt)`);
        changed = true;
      } else {
        await w.configMaps.patch(ns, name, { metadata: { labels: cm.metadata!.labels }, data: cm.data });
        parts.push(`updated ConfigMap ${ns}/${name} to list ${entries}`);
        changed = true;
      }
    }
    return { outcome: changed ? 'changed' : 'already-done', detail: w.said(parts.join('; ')) };
  }

  /** Undoes `block`: deletes this incident's ConfigMap only; the shared policy and binding, and other incidents' entries, stay. */
  async unblock(input: { incidentId: string; blockNamespace: string; mode: KubeMode }): Promise<string> {
    const w = this.writer(input.mode);
    const name = blockConfigMapName(input.incidentId);
    const deleted = await w.configMaps.delete(input.blockNamespace, name);
    return w.said(
      deleted
        ? `deleted ConfigMap ${input.blockNamespace}/${name}: this incident's digests are no longer blocked (policy ${blockPolicyName} and other incidents' entries stay)`
        : `ConfigMap ${input.blockNamespace}/${name} was already gone: nothing of this incident was blocked`,
    );
  }

  /**
   * Proves enforcement by asking admission: a dry-run canary pod on the
   * blocked image must be denied by this policy, a control pod allowed.
   * Nothing is ever created (every canary is sent with dryRun=All).
   */
  async prove(input: ProveInput): Promise<ProveResult> {
    const timeoutMs = input.timeoutMs ?? 10_000;
    const w = this.writer('dry-run');
    const started = Date.now();
    const suffix = createHash('sha256').update(input.incidentId).digest('hex').slice(0, 10);
    const canary = (role: string, image: string): V1Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `firebreak-${role}-${suffix}`, namespace: input.namespace, labels: managedBy, annotations: { [incidentAnnotation]: input.incidentId } },
      spec: { containers: [{ name: 'canary', image }], automountServiceAccountToken: false },
    });
    let attempts = 0;
    for (;;) {
      attempts++;
      const [c, k] = await Promise.all([this.ask(w, input.namespace, canary('canary', input.image)), this.ask(w, input.namespace, canary('control', input.controlImage))]);
      // Denied by this policy, not by anything else (quota, another policy, a missing namespace).
      const denied = c.denied && c.message.includes(deniedByUs);
      const controlAllowed = k.allowed;
      const elapsedMs = Date.now() - started;
      if (denied && controlAllowed) return { denied, controlAllowed, elapsedMs, attempts, message: c.message };
      if (elapsedMs >= timeoutMs) {
        const seen = `canary ${input.image}: ${c.allowed ? 'allowed' : c.message}; control ${input.controlImage}: ${k.allowed ? 'allowed' : k.message}`;
        throw ApplicationFailure.create({
          type: kubeFailure.blockNotEnforced,
          nonRetryable: false,
          message: `The admission block of digest ${input.digest} was not proven within ${timeoutMs} ms (${attempts} attempts): ${seen}. Expected the canary denied by ${blockPolicyName} and the control allowed; check that blockImages ran and that the ValidatingAdmissionPolicy admission plugin is enabled.`,
          details: [{ denied, controlAllowed, attempts }],
        });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** What admission answers a dry-run create: allowed, or denied with the API server's message. */
  private async ask(w: KubeWriter, namespace: string, pod: V1Pod): Promise<{ allowed: boolean; denied: boolean; message: string }> {
    try {
      await w.canaryPods.dryRunCreate(namespace, pod);
      return { allowed: true, denied: false, message: '' };
    } catch (e) {
      return { allowed: false, denied: statusOf(e) === 403 || statusOf(e) === 422, message: reasonOf(e) };
    }
  }

  /** Ensures a cluster-scoped object: created when missing, replaced when its spec differs (an older Firebreak's). */
  private async ensure<T extends { metadata?: { resourceVersion?: string }; spec?: unknown }>(
    kind: string,
    desired: T,
    read: () => Promise<T>,
    create: (b: T) => Promise<void>,
    replace: (b: T) => Promise<void>,
    check: (found: T) => void = () => undefined,
  ): Promise<'created' | 'updated' | 'present'> {
    const found = await this.readOrUndefined(kind, read);
    if (found === undefined) {
      try {
        await create(desired);
        return 'created';
      } catch (e) {
        if (statusOf(e) !== 409) throw e;
        return 'present'; // Created by a concurrent attempt from the same desired state.
      }
    }
    check(found);
    if (sameSpec(found.spec, desired.spec)) return 'present';
    await replace({ ...desired, metadata: { ...desired.metadata, resourceVersion: found.metadata?.resourceVersion } });
    return 'updated';
  }

  private async readOrUndefined<T>(kind: string, read: () => Promise<T>): Promise<T | undefined> {
    try {
      const o = await call('get', `${kind.toLowerCase()}s.admissionregistration.k8s.io`, '(cluster-scoped)', read, [404]);
      return expectObject(o as { kind?: string; metadata?: { name?: string } }, { kind, name: blockPolicyName }) as T;
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  private async namespaceExists(name: string): Promise<boolean> {
    try {
      expectObject(await call('get', 'namespaces', '(cluster-scoped)', () => this.kube.core.readNamespace({ name }), [404]), { kind: 'Namespace', apiVersion: 'v1', name });
      return true;
    } catch (e) {
      if (statusOf(e) === 404) return false;
      throw e;
    }
  }

  private async readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    try {
      return expectObject(await call('get', 'configmaps', `in namespace ${namespace}`, () => this.kube.core.readNamespacedConfigMap({ name, namespace }), [404]), {
        kind: 'ConfigMap',
        apiVersion: 'v1',
        name,
        namespace,
      });
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  /** Every Firebreak block ConfigMap in the namespace (none when the namespace does not exist). */
  async blockEntries(namespace: string): Promise<V1ConfigMap[]> {
    try {
      const list = await call(
        'list',
        'configmaps',
        `in namespace ${namespace}`,
        () => this.kube.core.listNamespacedConfigMap({ namespace, labelSelector: `${blockParamLabel}=${blockParamLabelValue}` }),
        [404],
      );
      return expectList(list, { kind: 'ConfigMapList', namespace }).items;
    } catch (e) {
      if (statusOf(e) === 404) return [];
      throw e;
    }
  }

  /** The incidents (their ids) whose block lists the digest. */
  async blockingIncidents(namespace: string, digest: string): Promise<string[]> {
    return (await this.blockEntries(namespace))
      .filter((cm) => (cm.data?.digests ?? '').split('\n').includes(digest))
      .map((cm) => cm.data?.incident ?? cm.metadata?.name ?? '?');
  }
}

function sameBlockNamespace(found: V1ValidatingAdmissionPolicyBinding, ns: string): void {
  const foundNs = found.spec?.paramRef?.namespace;
  if (foundNs !== undefined && foundNs !== ns) {
    throw ApplicationFailure.create({
      type: kubeFailure.blockNamespaceMismatch,
      nonRetryable: true,
      message: `The shared binding ${blockPolicyName} reads block ConfigMaps from namespace ${foundNs}, not ${ns}: use blockNamespace ${foundNs} (one block namespace per cluster), or move the existing entries there first.`,
    });
  }
}

/** Whether the spec read back equals the desired one, ignoring the defaults the API server fills in. */
function sameSpec(found: unknown, desired: unknown): boolean {
  if (desired === undefined || desired === null || typeof desired !== 'object') return found === desired;
  if (Array.isArray(desired)) return Array.isArray(found) && found.length === desired.length && desired.every((d, i) => sameSpec(found[i], d));
  if (found === undefined || found === null || typeof found !== 'object') return false;
  return Object.entries(desired as Record<string, unknown>).every(([k, v]) => sameSpec((found as Record<string, unknown>)[k], v));
}
