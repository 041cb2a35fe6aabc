/**
 * Every failure type Firebreak raises, defined once: workflows, activities,
 * the CLI and Slack import these values and tell failures apart by them, never
 * by message text. Whether a failure is retried is decided where it is raised
 * (`nonRetryable`), by its type.
 *
 * Pure values with no imports, so workflow code may use them.
 */

/** Failures of the engine and of runbook workflows. */
export const engineFailure = {
  /** The policy in the input does not give exactly one entry per step of the workflow. */
  policyMismatch: 'PolicyMismatch',
  /** A change was asked for before any evidence was sealed. */
  evidenceNotSealed: 'EvidenceNotSealed',
  /** A target that breaks its system's naming rule, or the wrong kind of target for the runbook. */
  invalidTarget: 'InvalidTarget',
  /**
   * An undo refused as unsafe for now (e.g. it would re-admit sessions issued
   * before a revocation while they may still be valid): the engine keeps it
   * owed and runs it on a later rollback.
   */
  rollbackUnsafe: 'RollbackUnsafe',
} as const;

/** Why an update to an incident (a vote, a rollback, a close) was refused. */
export const rejection = {
  unknownStep: 'UnknownStep',
  notAwaitingDecision: 'StepNotAwaitingDecision',
  notAnApprover: 'NotAnApprover',
  requesterCannotApprove: 'RequesterCannotApprove',
  alreadyVoted: 'AlreadyVoted',
  reasonRequired: 'ReasonRequired',
  incidentClosed: 'IncidentClosed',
  rollbackInProgress: 'RollbackInProgress',
} as const;
export type RejectionType = (typeof rejection)[keyof typeof rejection];

/** Failures of the AWS activities. */
export const awsFailure = {
  accessDenied: 'AwsAccessDenied',
  throttled: 'AwsThrottled',
  notFound: 'AwsNotFound',
  invalid: 'AwsInvalid',
  unavailable: 'AwsUnavailable',
  notConfigured: 'AwsNotConfigured',
  invalidTarget: engineFailure.invalidTarget,
  /** A user, role, group or policy name, key id or ARN in the activity's input breaks IAM's rule: refused before any call. */
  invalidName: 'AwsInvalidName',
  rollbackUnsafe: engineFailure.rollbackUnsafe,
} as const;

/** Failures of the Kubernetes activities. */
export const kubeFailure = {
  forbidden: 'KubernetesForbidden',
  unauthorized: 'KubernetesUnauthorized',
  notFound: 'KubernetesNotFound',
  invalid: 'KubernetesInvalid',
  conflict: 'KubernetesConflict',
  unavailable: 'KubernetesUnavailable',
  notConfigured: 'KubernetesNotConfigured',
  podNotFound: 'PodNotFound',
  /** A name in the activity's input breaks Kubernetes' naming rule: refused before any request. */
  invalidName: 'KubernetesInvalidName',
  /** The API server answered with another object than the one asked for (e.g. a dot segment resolved the path). */
  unexpectedObject: 'KubernetesUnexpectedObject',
  /** The admission block was not seen denying the canary (or allowing the control) in time: retried. */
  blockNotEnforced: 'KubernetesBlockNotEnforced',
  /** A workload kind that has no scale subresource and no suspend (a DaemonSet): quarantine its pods instead. */
  notScalable: 'KubernetesWorkloadNotScalable',
  /** A re-pin to an image that is not pinned by digest, or whose digest is blocked. */
  imageRefused: 'KubernetesImageRefused',
  /** The workload has no container of the name given. */
  containerNotFound: 'KubernetesContainerNotFound',
  /** An admission policy or webhook denied the write (not RBAC): the same write is denied again. */
  admissionDenied: 'KubernetesAdmissionDenied',
  /** The shared block binding reads its parameters from another namespace than the one asked for. */
  blockNamespaceMismatch: 'KubernetesBlockNamespaceMismatch',
} as const;

/** Failures of Slack calls. */
export const slackFailure = {
  /** HTTP 429: retried after the Retry-After Slack gave. */
  rateLimited: 'SlackRateLimited',
  /** Network errors, HTTP 5xx, Slack's own transient errors: retried. */
  unavailable: 'SlackUnavailable',
  channelNotFound: 'SlackChannelNotFound',
  notInChannel: 'SlackNotInChannel',
  invalidAuth: 'SlackInvalidAuth',
  missingScope: 'SlackMissingScope',
  /** The incident has no channel to post in (its creation failed). */
  noRoom: 'SlackNoIncidentChannel',
  /** Any other error Slack answered with: the request itself is wrong and is not retried. */
  rejected: 'SlackRequestRejected',
} as const;
export type SlackFailureType = (typeof slackFailure)[keyof typeof slackFailure];

/** Failures of the supply-chain runbook's matching. */
export const supplyChainFailure = {
  /** An advisory, package URL or action the incident names cannot be used: refused, not retried. */
  invalidAdvisory: 'SupplyChainInvalidAdvisory',
  /** The worker lacks what a configured source needs (an S3 client). */
  notConfigured: 'SupplyChainNotConfigured',
  /** An SBOM source could not be listed; retryable or not by the source's own error type. */
  sourceUnavailable: 'SbomSourceUnavailable',
} as const;

export const drillFailure = {
  /** A drill's activity reached a real worker: refused, never run (domain/drills.ts). */
  refusedByRealWorker: 'DrillRefusedByRealWorker',
} as const;

/** A failure and its causes, outermost first (bounded: a cause chain is never this deep). */
function* causesOf(e: unknown): Generator<{ type?: unknown }> {
  for (let current: unknown = e, depth = 0; typeof current === 'object' && current !== null && depth < 16; depth += 1) {
    yield current;
    current = (current as { cause?: unknown }).cause;
  }
}

/**
 * True when the failure, or one of its causes, has the type: an activity's
 * ApplicationFailure arrives wrapped in an ActivityFailure, a child's in a
 * ChildWorkflowFailure, a workflow's in a WorkflowFailedError.
 */
export function hasFailureType(e: unknown, type: string): boolean {
  for (const f of causesOf(e)) if (f.type === type) return true;
  return false;
}
