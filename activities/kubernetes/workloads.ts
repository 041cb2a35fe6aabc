/**
 * Running workloads of a supply-chain incident: scale down (or suspend) and
 * re-pin a template to a clean digest, each recording what it was before in a
 * per-incident annotation on the workload, so a retry after the first write
 * still knows the original. Nothing is ever deleted.
 */
import type { V1Container } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { AdmissionBlock } from './admission.ts';
import { expectObject } from './checks.ts';
import { call, kubeFailure, statusOf } from './errors.ts';
import { incidentAnnotation, repinAnnotation, scaleAnnotation } from './names.ts';
import type { KubeActionResult, KubeClients, KubeMode, WorkloadRef } from './types.ts';
import { templateOf } from './usage.ts';
import { KubeWriter, workloadResource } from './writes.ts';

interface WorkloadObject {
  kind?: string;
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: object;
}

/** The replica count and suspend flag of a workload's spec, where its kind has them. */
const specOf = (o: WorkloadObject) => (o.spec ?? {}) as { replicas?: number; suspend?: boolean };

/** What scaleWorkload recorded: the replica count (Deployment, StatefulSet) or the suspend flag (Job, CronJob) before. */
interface ScaleRecord {
  replicas?: number;
  suspend?: boolean;
}

const describe = (w: WorkloadRef) => `${w.kind} ${w.namespace}/${w.name}`;

function gone(w: WorkloadRef, doing: string): KubeActionResult {
  return { outcome: 'target-gone', detail: `${describe(w)} is gone: nothing to ${doing}` };
}

function parse<T>(value: string | undefined): T | undefined {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as T;
  } catch {
    return undefined;
  }
}

export class Workloads {
  constructor(
    private readonly kube: KubeClients,
    private readonly block: AdmissionBlock,
  ) {}

  private writer(mode: KubeMode): KubeWriter {
    return new KubeWriter(this.kube.core, this.kube.net, mode, { apps: this.kube.apps, batch: this.kube.batch });
  }

  /** The workload, checked to be the one asked for; undefined when it is gone. */
  async read(w: WorkloadRef): Promise<WorkloadObject | undefined> {
    const p = { name: w.name, namespace: w.namespace };
    const { apps, batch } = this.kube;
    const reads: Record<WorkloadRef['kind'], () => Promise<WorkloadObject>> = {
      Deployment: () => apps.readNamespacedDeployment(p),
      StatefulSet: () => apps.readNamespacedStatefulSet(p),
      DaemonSet: () => apps.readNamespacedDaemonSet(p),
      Job: () => batch.readNamespacedJob(p),
      CronJob: () => batch.readNamespacedCronJob(p),
    };
    try {
      const o = await call('get', workloadResource[w.kind], `in namespace ${w.namespace}`, reads[w.kind], [404]);
      return expectObject(o, { kind: w.kind, name: w.name, namespace: w.namespace });
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  /**
   * Scales a Deployment or StatefulSet through its scale subresource, or
   * suspends a Job or CronJob; a DaemonSet is refused (it runs one pod per
   * node whatever the count). The count before is annotated first.
   */
  async scale(input: { incidentId: string; workload: WorkloadRef; replicas: number; mode: KubeMode }): Promise<KubeActionResult & { previousReplicas?: number }> {
    const wl = input.workload;
    if (wl.kind === 'DaemonSet') {
      throw ApplicationFailure.create({
        type: kubeFailure.notScalable,
        nonRetryable: true,
        message: `${describe(wl)} cannot be scaled: a DaemonSet has no replica count (it runs one pod per node). Quarantine its pods instead (quarantinePod).`,
      });
    }
    if (!Number.isInteger(input.replicas) || input.replicas < 0) {
      throw ApplicationFailure.create({ type: kubeFailure.invalid, nonRetryable: true, message: `replicas ${input.replicas} is not a whole number of zero or more.` });
    }
    const o = await this.read(wl);
    if (o === undefined) return gone(wl, 'scale');
    const key = scaleAnnotation(input.incidentId);
    const recorded = parse<ScaleRecord>(o.metadata?.annotations?.[key]);
    const w = this.writer(input.mode);
    if (wl.kind === 'Job' || wl.kind === 'CronJob') {
      const suspend = input.replicas === 0;
      const before = recorded?.suspend ?? specOf(o).suspend === true;
      if ((specOf(o).suspend === true) === suspend && recorded === undefined) return { outcome: 'already-done', detail: `${describe(wl)} already has suspend: ${suspend}` };
      const done = await w.workloads.patch(wl, {
        metadata: { annotations: { [key]: JSON.stringify({ suspend: before }), [incidentAnnotation]: input.incidentId } },
        spec: { suspend },
      });
      if (done === undefined) return gone(wl, 'suspend');
      return { outcome: 'changed', detail: w.said(`set suspend: ${suspend} on ${describe(wl)} (was ${before}; recorded in annotation ${key})`) };
    }
    const current = specOf(o).replicas ?? 1;
    const previousReplicas = recorded?.replicas ?? current;
    if (current === input.replicas && recorded === undefined) {
      return { outcome: 'already-done', previousReplicas: current, detail: `${describe(wl)} already has ${current} replica(s)` };
    }
    // The count before goes on the workload first: a retry after the scale still finds it there.
    if (recorded === undefined || input.mode === 'dry-run') {
      if ((await w.workloads.patch(wl, { metadata: { annotations: { [key]: JSON.stringify({ replicas: previousReplicas }), [incidentAnnotation]: input.incidentId } } })) === undefined) {
        return gone(wl, 'scale');
      }
    }
    if ((await w.workloads.scale({ kind: wl.kind, namespace: wl.namespace, name: wl.name }, input.replicas)) === undefined) return gone(wl, 'scale');
    return {
      outcome: 'changed',
      previousReplicas,
      detail: w.said(`scaled ${describe(wl)} from ${previousReplicas} to ${input.replicas} replica(s) through its scale subresource${recorded === undefined ? '' : ' (count before found recorded by this incident)'}`),
    };
  }

  /** Undoes `scale`: back to `replicas` (or the suspend flag recorded), and the incident's annotation removed. */
  async restoreScale(input: { incidentId: string; workload: WorkloadRef; replicas: number; mode: KubeMode }): Promise<string> {
    const wl = input.workload;
    const o = await this.read(wl);
    if (o === undefined) return `${describe(wl)} is gone: no scale to restore`;
    const key = scaleAnnotation(input.incidentId);
    const recorded = parse<ScaleRecord>(o.metadata?.annotations?.[key]);
    const w = this.writer(input.mode);
    if (wl.kind === 'Job' || wl.kind === 'CronJob') {
      // Without this incident's record the flag is someone else's (or already restored): leave it.
      if (recorded?.suspend === undefined) return `${describe(wl)} carries no suspend flag recorded by this incident: left as it is`;
      const suspend = recorded.suspend;
      if ((await w.workloads.patch(wl, { metadata: { annotations: { [key]: null } }, spec: { suspend } })) === undefined) return `${describe(wl)} is gone: no scale to restore`;
      return w.said(`set suspend: ${suspend} on ${describe(wl)} again`);
    }
    if (wl.kind === 'DaemonSet') return `${describe(wl)} is a DaemonSet: it was never scaled`;
    if ((await w.workloads.scale({ kind: wl.kind, namespace: wl.namespace, name: wl.name }, input.replicas)) === undefined) return `${describe(wl)} is gone: no scale to restore`;
    await w.workloads.patch(wl, { metadata: { annotations: { [key]: null } } });
    return w.said(`scaled ${describe(wl)} back to ${input.replicas} replica(s)`);
  }

  /**
   * Points the template's container at a clean image pinned by digest, the
   * previous image annotated in the same patch; refused while any Firebreak
   * block lists that digest.
   */
  async repin(input: { incidentId: string; workload: WorkloadRef; container: string; image: string; blockNamespace: string; mode: KubeMode }): Promise<KubeActionResult & { previousImage?: string }> {
    const wl = input.workload;
    const digest = /@(sha256:[a-f0-9]{64})$/.exec(input.image)?.[1];
    if (digest === undefined) {
      throw ApplicationFailure.create({
        type: kubeFailure.imageRefused,
        nonRetryable: true,
        message: `Refused to re-pin ${describe(wl)} to ${input.image}: the image must be pinned by digest (repository@sha256:…), so the template cannot drift to another image under the same tag.`,
      });
    }
    const blockedBy = await this.block.blockingIncidents(input.blockNamespace, digest);
    if (blockedBy.length > 0) {
      throw ApplicationFailure.create({
        type: kubeFailure.imageRefused,
        nonRetryable: true,
        message: `Refused to re-pin ${describe(wl)} to ${input.image}: digest ${digest} is itself blocked by Firebreak incident(s) ${blockedBy.join(', ')}. Choose a clean digest.`,
        details: [{ digest, blockedBy }],
      });
    }
    const o = await this.read(wl);
    if (o === undefined) return gone(wl, 're-pin');
    const container = this.container(wl, o, input.container);
    const key = repinAnnotation(input.incidentId);
    const recorded = parse<Record<string, string>>(o.metadata?.annotations?.[key]) ?? {};
    const previousImage = recorded[input.container] ?? container.image ?? '';
    if (container.image === input.image && recorded[input.container] === undefined) {
      return { outcome: 'already-done', previousImage, detail: `container ${input.container} of ${describe(wl)} already runs ${input.image}` };
    }
    const w = this.writer(input.mode);
    const done = await w.workloads.patch(wl, {
      metadata: { annotations: { [key]: JSON.stringify({ ...recorded, [input.container]: previousImage }), [incidentAnnotation]: input.incidentId } },
      ...this.templatePatch(wl, o, input.container, input.image),
    });
    if (done === undefined) return gone(wl, 're-pin');
    return { outcome: 'changed', previousImage, detail: w.said(`re-pinned container ${input.container} of ${describe(wl)} from ${previousImage} to ${input.image}`) };
  }

  /** Undoes `repin`: the container's image back to `image`, and its entry removed from the incident's annotation. */
  async restoreImage(input: { incidentId: string; workload: WorkloadRef; container: string; image: string; mode: KubeMode }): Promise<string> {
    const wl = input.workload;
    const o = await this.read(wl);
    if (o === undefined) return `${describe(wl)} is gone: no image to restore`;
    this.container(wl, o, input.container);
    const key = repinAnnotation(input.incidentId);
    const { [input.container]: _restored, ...rest } = parse<Record<string, string>>(o.metadata?.annotations?.[key]) ?? {};
    const w = this.writer(input.mode);
    const done = await w.workloads.patch(wl, {
      metadata: { annotations: { [key]: Object.keys(rest).length === 0 ? null : JSON.stringify(rest) } },
      ...this.templatePatch(wl, o, input.container, input.image),
    });
    if (done === undefined) return `${describe(wl)} is gone: no image to restore`;
    return w.said(`set container ${input.container} of ${describe(wl)} back to ${input.image}`);
  }

  private container(wl: WorkloadRef, o: WorkloadObject, name: string): V1Container {
    const spec = templateOf(wl.kind, o)?.spec;
    const found = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].find((c) => c.name === name);
    if (found === undefined) {
      throw ApplicationFailure.create({
        type: kubeFailure.containerNotFound,
        nonRetryable: true,
        message: `${describe(wl)} has no container named ${name} in its pod template: check the container name from the scope.`,
      });
    }
    return found;
  }

  /** A strategic merge patch of one template container's image (containers merge by name). */
  private templatePatch(wl: WorkloadRef, o: WorkloadObject, container: string, image: string): { spec: unknown } {
    const spec = templateOf(wl.kind, o)?.spec;
    const list = (spec?.initContainers ?? []).some((c) => c.name === container) ? 'initContainers' : 'containers';
    const template = { spec: { [list]: [{ name: container, image }] } };
    return { spec: wl.kind === 'CronJob' ? { jobTemplate: { spec: { template } } } : { template } };
  }
}
