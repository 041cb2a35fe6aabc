import { ApplicationFailure } from '@temporalio/common';
import type { EvidenceStore } from '../evidence/index.ts';
import { AdmissionBlock, type ProveInput, type ProveResult } from './admission.ts';
import { imagesProblem, named, refuseInvalidName, workloadProblem, type KubeNames } from './checks.ts';
import { Containment } from './containment.ts';
import { kubeFailure } from './errors.ts';
import { EvidenceCapture, type CaptureInput, type CaptureResult, type ContainmentCapture, type ContextCapture, type ContextInput } from './evidence.ts';
import { SupplyChainEvidence, type EvidenceRefSummary, type SupplyChainCaptureInput } from './supply-chain-evidence.ts';
import type { ImageUsage, KubeActionResult, KubeClients, KubeMode, PodRef, WorkloadRef } from './types.ts';
import { ImageUsageScan } from './usage.ts';
import { Workloads } from './workloads.ts';

export { type CaptureInput, type CaptureResult, type ContainmentCapture, type ContextCapture, type ContextInput } from './evidence.ts';
export type { DetachResult } from './containment.ts';
export { kubeFailure } from './errors.ts';
export * from './names.ts';
export type {
  AffectedPod,
  AffectedWorkload,
  ImageUsage,
  ImageUse,
  KubeActionResult,
  KubeClients,
  KubeMode,
  PodFacts,
  PodRef,
  WorkloadKind,
  WorkloadRef,
} from './types.ts';
export type { ProveInput, ProveResult } from './admission.ts';
export type { EvidenceRefSummary, SupplyChainCaptureInput } from './supply-chain-evidence.ts';

/** The supply-chain inputs' own checks (digests, image references, workload refs), on top of `named`. */
function checked<T extends { digests?: unknown; images?: unknown; workload?: unknown; workloads?: unknown; pods?: unknown; image?: unknown; controlImage?: unknown; digest?: unknown }>(input: T): T {
  refuseInvalidName(
    imagesProblem({
      digests: input.digest === undefined ? input.digests : [input.digest, ...((input.digests as unknown[] | undefined) ?? [])],
      images: [input.image, input.controlImage, ...((input.images as unknown[] | undefined) ?? [])].filter((x) => x !== undefined),
    }),
  );
  if (input.workload !== undefined) refuseInvalidName(workloadProblem(input.workload));
  if (Array.isArray(input.workloads)) for (const w of input.workloads) refuseInvalidName(workloadProblem(w));
  if (Array.isArray(input.pods)) for (const p of input.pods as { namespace: string; pod: string }[]) named({ namespace: p.namespace, pod: p.pod });
  named(input as KubeNames);
  return input;
}

export interface KubernetesDeps {
  kube: KubeClients | undefined;
  evidence: EvidenceStore;
}

/**
 * The container-escape runbook's Kubernetes activities: evidence capture and
 * idempotent containment, each write sent with dryRun=All in dry-run mode.
 */
export function createKubernetesActivities(deps: KubernetesDeps) {
  let clients:
    | { capture: EvidenceCapture; contain: Containment; usage: ImageUsageScan; block: AdmissionBlock; workloads: Workloads; supplyChain: SupplyChainEvidence }
    | undefined;
  const kube = () => {
    if (deps.kube === undefined) {
      throw ApplicationFailure.create({
        type: kubeFailure.notConfigured,
        nonRetryable: true,
        message: 'No Kubernetes cluster is configured for this worker: set KUBECONFIG.',
      });
    }
    if (clients === undefined) {
      const block = new AdmissionBlock(deps.kube);
      clients = {
        capture: new EvidenceCapture(deps.kube, deps.evidence),
        contain: new Containment(deps.kube),
        usage: new ImageUsageScan(deps.kube),
        block,
        workloads: new Workloads(deps.kube, block),
        supplyChain: new SupplyChainEvidence(deps.kube, deps.evidence, block),
      };
    }
    return clients;
  };
  // Arrow functions: Temporal calls activities detached from this object. Each input's names are checked first (`named`).
  return {
    /** Seals the pod, its owners, node, service account and bindings, NetworkPolicies, events and logs; returns references only. */
    captureContainerEscapeEvidence: async (input: CaptureInput): Promise<CaptureResult> => kube().capture.capture(named(input)),
    /** The first part, sealed in one batch: what isolation alters (the pod, the namespace's NetworkPolicies). */
    captureContainmentEvidence: async (input: CaptureInput): Promise<ContainmentCapture> => kube().capture.captureForContainment(named(input)),
    /** The rest, sealed in one batch alongside containment: owner chain, node, service account and bindings, events, logs. */
    captureContainerEscapeContext: async (input: ContextInput): Promise<ContextCapture> =>
      kube().capture.captureContext(named(input)),
    quarantinePod: async (ref: PodRef): Promise<KubeActionResult> => kube().contain.quarantine(named(ref)),
    releasePod: async (ref: PodRef): Promise<string> => kube().contain.release(named(ref)),
    detachPodFromRotation: async (ref: PodRef) => kube().contain.detach(named(ref)),
    restorePodLabels: async (ref: PodRef & { labels: Record<string, string> }): Promise<string> => kube().contain.restoreLabels(named(ref)),
    cordonNode: async (input: { incidentId: string; node: string; mode: KubeMode }): Promise<KubeActionResult> => kube().contain.cordon(named(input)),
    uncordonNode: async (input: { incidentId: string; node: string; mode: KubeMode }): Promise<string> => kube().contain.uncordon(named(input)),
    deletePod: async (ref: PodRef & { uid: string }): Promise<KubeActionResult> => kube().contain.removePod(named(ref)),

    // The supply-chain runbook (issue #14): scope, preserve, block by digest, scale, re-pin.
    /** Read-only, whole cluster: pods running and workload templates naming an affected digest or image reference. */
    findImageUsage: async (input: { digests: string[]; images?: string[] }): Promise<ImageUsage> => kube().usage.find(checked(input)),
    /** Seals the pods and workloads as found now and the Firebreak block objects in place; gone ones are listed in the manifest. */
    captureSupplyChainKubeEvidence: async (input: SupplyChainCaptureInput): Promise<{ refs: EvidenceRefSummary[] }> => kube().supplyChain.capture(checked(input)),
    /** Ensures the shared block policy and binding and writes this incident's parameter ConfigMap. */
    blockImages: async (input: { incidentId: string; digests: string[]; images: string[]; blockNamespace: string; mode: KubeMode }): Promise<KubeActionResult> =>
      kube().block.block(checked(input)),
    /** Undoes blockImages: deletes this incident's ConfigMap only. */
    unblockImages: async (input: { incidentId: string; blockNamespace: string; mode: KubeMode }): Promise<string> => kube().block.unblock(named(input)),
    /** Dry-run canary denied by the block and control allowed, polled until both hold (retryable failure after timeoutMs). */
    proveBlock: async (input: ProveInput): Promise<ProveResult> => kube().block.prove(checked(input)),
    scaleWorkload: async (input: { incidentId: string; workload: WorkloadRef; replicas: number; mode: KubeMode }): Promise<KubeActionResult & { previousReplicas?: number }> =>
      kube().workloads.scale(checked(input)),
    restoreWorkloadScale: async (input: { incidentId: string; workload: WorkloadRef; replicas: number; mode: KubeMode }): Promise<string> =>
      kube().workloads.restoreScale(checked(input)),
    repinWorkload: async (input: {
      incidentId: string;
      workload: WorkloadRef;
      container: string;
      image: string;
      blockNamespace: string;
      mode: KubeMode;
    }): Promise<KubeActionResult & { previousImage?: string }> => kube().workloads.repin(checked(input)),
    restoreWorkloadImage: async (input: { incidentId: string; workload: WorkloadRef; container: string; image: string; mode: KubeMode }): Promise<string> =>
      kube().workloads.restoreImage(checked(input)),
  };
}

export type KubernetesActivities = ReturnType<typeof createKubernetesActivities>;
