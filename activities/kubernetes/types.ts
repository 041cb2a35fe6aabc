/** Shared shapes of the Kubernetes activities (workflows import these as types only). */
import type { ActionOutcome } from '../../domain/actions.ts';

export type KubeMode = 'live' | 'dry-run';

/** The pod an incident acts on. */
export interface PodRef {
  incidentId: string;
  namespace: string;
  pod: string;
  mode: KubeMode;
}

/** What the workflow needs to know about the pod after evidence: names, never content. */
export interface PodFacts {
  uid: string;
  node?: string;
  serviceAccount: string;
  containers: string[];
  /** The AWS role the service account maps to (IRSA annotation), if any. */
  awsRoleArn?: string;
}

/** The outcome of one containment call, as the engine records it. */
export interface KubeActionResult {
  outcome: ActionOutcome;
  detail: string;
  /** Set when the pod no longer exists (404 after evidence was sealed). */
  podGone?: boolean;
}
