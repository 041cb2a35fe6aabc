import { ApplicationFailure } from '@temporalio/common';
import type { EvidenceStore } from '../evidence/index.ts';
import { named } from './checks.ts';
import { Containment } from './containment.ts';
import { kubeFailure } from './errors.ts';
import { EvidenceCapture, type CaptureInput, type CaptureResult } from './evidence.ts';
import type { KubeActionResult, KubeClients, KubeMode, PodRef } from './types.ts';

export { type CaptureInput, type CaptureResult } from './evidence.ts';
export type { DetachResult } from './containment.ts';
export { kubeFailure } from './errors.ts';
export * from './names.ts';
export type { KubeActionResult, KubeClients, KubeMode, PodFacts, PodRef } from './types.ts';

export interface KubernetesDeps {
  kube: KubeClients | undefined;
  evidence: EvidenceStore;
}

/**
 * The container-escape runbook's Kubernetes activities: evidence capture and
 * idempotent containment, each write sent with dryRun=All in dry-run mode.
 */
export function createKubernetesActivities(deps: KubernetesDeps) {
  let clients: { capture: EvidenceCapture; contain: Containment } | undefined;
  const kube = () => {
    if (deps.kube === undefined) {
      throw ApplicationFailure.create({
        type: kubeFailure.notConfigured,
        nonRetryable: true,
        message: 'No Kubernetes cluster is configured for this worker: set KUBECONFIG.',
      });
    }
    clients ??= { capture: new EvidenceCapture(deps.kube, deps.evidence), contain: new Containment(deps.kube) };
    return clients;
  };
  // Arrow functions: Temporal calls activities detached from this object. Each input's names are checked first (`named`).
  return {
    /** Seals the pod, its owners, node, service account and bindings, NetworkPolicies, events and logs; returns references only. */
    captureContainerEscapeEvidence: async (input: CaptureInput): Promise<CaptureResult> => kube().capture.capture(named(input)),
    quarantinePod: async (ref: PodRef): Promise<KubeActionResult> => kube().contain.quarantine(named(ref)),
    releasePod: async (ref: PodRef): Promise<string> => kube().contain.release(named(ref)),
    detachPodFromRotation: async (ref: PodRef) => kube().contain.detach(named(ref)),
    restorePodLabels: async (ref: PodRef & { labels: Record<string, string> }): Promise<string> => kube().contain.restoreLabels(named(ref)),
    cordonNode: async (input: { incidentId: string; node: string; mode: KubeMode }): Promise<KubeActionResult> => kube().contain.cordon(named(input)),
    uncordonNode: async (input: { incidentId: string; node: string; mode: KubeMode }): Promise<string> => kube().contain.uncordon(named(input)),
    deletePod: async (ref: PodRef & { uid: string }): Promise<KubeActionResult> => kube().contain.removePod(named(ref)),
  };
}

export type KubernetesActivities = ReturnType<typeof createKubernetesActivities>;
