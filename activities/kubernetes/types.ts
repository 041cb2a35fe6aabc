/** Shared shapes of the Kubernetes activities (workflows import these as types only). */
import type { AdmissionregistrationV1Api, AppsV1Api, AuthorizationV1Api, BatchV1Api, CoreV1Api, KubeConfig, NetworkingV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { ActionOutcome } from '../../domain/actions.ts';

/** The API clients of one cluster, built once by the composition root (src/wiring/clients.ts) and shared by every activity. */
export interface KubeClients {
  config: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  net: NetworkingV1Api;
  rbac: RbacAuthorizationV1Api;
  authz: AuthorizationV1Api;
  /** ValidatingAdmissionPolicies and their bindings (the supply-chain block). */
  admission: AdmissionregistrationV1Api;
}

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

/** The workload kinds whose pod templates start more pods. */
export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';

export interface WorkloadRef {
  kind: WorkloadKind;
  namespace: string;
  name: string;
}

/** One container's image, as a pod or template uses it. */
export interface ImageUse {
  container: string;
  kind: 'container' | 'init' | 'ephemeral';
  image: string;
  /** sha256:… resolved from status imageID or the spec image; absent when neither names a digest */
  digest?: string;
}

export interface AffectedPod {
  namespace: string;
  pod: string;
  uid: string;
  node?: string;
  serviceAccount: string;
  awsRoleArn?: string;
  /** The workload at the top of the pod's ownerReferences chain (ReplicaSet → Deployment, Job → CronJob). */
  owner?: WorkloadRef;
  /** Only the affected images. */
  images: ImageUse[];
  /** Names of the Secrets the pod mounts or references: volumes, projected, env secretKeyRef, envFrom, imagePullSecrets. */
  secrets: string[];
}

export interface AffectedWorkload extends WorkloadRef {
  uid: string;
  replicas?: number;
  serviceAccount: string;
  awsRoleArn?: string;
  images: ImageUse[];
  secrets: string[];
}

export interface ImageUsage {
  pods: AffectedPod[];
  workloads: AffectedWorkload[];
  scanned: { pods: number; workloads: number; namespaces: number };
}
