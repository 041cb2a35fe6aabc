import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { STSClient } from '@aws-sdk/client-sts';
import { ApplicationFailure } from '@temporalio/common';
import type { EvidenceStore } from '../evidence/index.ts';
import { named } from './checks.ts';
import { Containment, type KeyInput, type PolicyHolder, type RevokeInput } from './containment.ts';
import { restoreEcrTagImmutability, setEcrTagImmutability, type TagMutability } from './ecr.ts';
import { awsFailure } from './errors.ts';
import { disableSigningKey, enableSigningKey } from './kms.ts';
import { describeSecrets, rotateSecret, undoSecretRotation, type SecretFacts } from './secrets.ts';
import { captureCredentialEvidence, type CredentialCaptureInput, type CredentialCaptureResult } from './evidence.ts';
import { triage, type TriageInput } from './triage.ts';
import type { AwsActionResult, AwsMode, CredentialFacts } from './types.ts';

export type { KeyInput, PolicyHolder, RevokeInput } from './containment.ts';
export { attackerChanges, policyText, type CredentialCaptureInput, type CredentialCaptureResult } from './evidence.ts';
export { awsFailure, toAwsFailure } from './errors.ts';
export { ecrTagsAt, type EcrTag, type TagMutability } from './ecr.ts';
export { rotationVersionId, type SecretFacts } from './secrets.ts';
export { roleNameOf, type CredentialTarget, type TriageInput } from './triage.ts';
export * from './types.ts';

/** The CloudTrail window evidence looks back over when the worker does not say: 7 days. */
export const defaultCloudTrailLookbackMs = 7 * 86_400_000;

export interface AwsDeps {
  iam?: IAMClient | undefined;
  sts: STSClient | undefined;
  cloudtrail?: CloudTrailClient | undefined;
  evidence: EvidenceStore;
  /** How far back CloudTrail evidence reaches (FIREBREAK_CLOUDTRAIL_LOOKBACK). */
  cloudTrailLookbackMs?: number;
  /** The supply-chain runbook's: ECR tags, Secrets Manager rotation, KMS signing keys. */
  ecr?: ECRClient | undefined;
  secrets?: SecretsManagerClient | undefined;
  kms?: KMSClient | undefined;
}

function configured<T>(client: T | undefined, service: string): T {
  if (client === undefined) {
    throw ApplicationFailure.create({
      type: awsFailure.notConfigured,
      nonRetryable: true,
      message: `No AWS ${service} client is configured for this worker: give it AWS credentials (the SDK default chain) and AWS_REGION.`,
    });
  }
  return client;
}

/**
 * The supply-chain runbook's AWS activities: ECR tag immutability, the secret
 * inventory and rotation, KMS signing keys, each write with its undo. Names
 * are checked before any call; in dry-run writes are only recorded.
 */
export function createSupplyChainAwsActivities(deps: Pick<AwsDeps, 'ecr' | 'secrets' | 'kms'>) {
  const ecr = () => configured(deps.ecr, 'ECR');
  const sm = () => configured(deps.secrets, 'Secrets Manager');
  const kms = () => configured(deps.kms, 'KMS');
  // Names first, then the client: a crafted name is refused even on a worker without the client.
  return {
    setEcrTagImmutability: async (input: { incidentId: string; repository: string; mode: AwsMode }): Promise<AwsActionResult & { previous?: TagMutability }> => {
      const checked = named(input);
      return setEcrTagImmutability(ecr(), checked);
    },
    restoreEcrTagImmutability: async (input: { incidentId: string; repository: string; previous: TagMutability; mode: AwsMode }): Promise<string> => {
      const checked = named(input);
      return restoreEcrTagImmutability(ecr(), checked);
    },
    describeSecrets: async (input: { incidentId: string; secretIds: string[] }): Promise<{ secrets: SecretFacts[] }> => {
      const checked = named(input);
      return describeSecrets(sm(), checked);
    },
    rotateSecret: async (input: { incidentId: string; secretId: string; mode: AwsMode }): Promise<AwsActionResult & { versionId?: string; previousVersionId?: string }> => {
      const checked = named(input);
      return rotateSecret(sm(), checked);
    },
    undoSecretRotation: async (input: { incidentId: string; secretId: string; versionId: string; previousVersionId: string; mode: AwsMode }): Promise<string> => {
      const checked = named(input);
      return undoSecretRotation(sm(), checked);
    },
    disableSigningKey: async (input: { incidentId: string; keyId: string; mode: AwsMode }): Promise<AwsActionResult & { previousState?: string }> => {
      const checked = named(input);
      return disableSigningKey(kms(), checked);
    },
    enableSigningKey: async (input: { incidentId: string; keyId: string; mode: AwsMode }): Promise<string> => {
      const checked = named(input);
      return enableSigningKey(kms(), checked);
    },
  };
}

export type SupplyChainAwsActivities = ReturnType<typeof createSupplyChainAwsActivities>;

/**
 * The credential-compromise runbook's AWS activities: read-only triage and
 * evidence, idempotent containment and eradication with their undos. In
 * dry-run mode nothing is sent to AWS for a write: it is only recorded.
 */
export function createAwsActivities(deps: AwsDeps) {
  const iam = (): IAMClient => {
    if (deps.iam === undefined) {
      throw ApplicationFailure.create({
        type: awsFailure.notConfigured,
        nonRetryable: true,
        message: 'No AWS IAM client is configured for this worker: give it AWS credentials (the SDK default chain) and AWS_REGION.',
      });
    }
    return deps.iam;
  };
  const lookbackMs = deps.cloudTrailLookbackMs ?? defaultCloudTrailLookbackMs;
  let contain: Containment | undefined;
  const c = () => (contain ??= new Containment(iam()));
  // Arrow functions: Temporal calls activities detached from this object. Each input's names are checked first (`named`; triage checks its targets).
  return {
    triageCredential: async (input: TriageInput): Promise<CredentialFacts> =>
      triage({ iam: iam(), sts: deps.sts, cloudtrail: deps.cloudtrail, lookbackMs }, input),
    captureCredentialEvidence: async (input: CredentialCaptureInput): Promise<CredentialCaptureResult> =>
      captureCredentialEvidence({ iam: iam(), cloudtrail: deps.cloudtrail, store: deps.evidence, lookbackMs }, named(input)),
    deactivateAccessKey: async (input: KeyInput): Promise<AwsActionResult> => c().deactivateKey(named(input)),
    reactivateAccessKey: async (input: KeyInput): Promise<string> => c().reactivateKey(named(input)),
    revokeOlderSessions: async (input: RevokeInput): Promise<AwsActionResult> => c().revokeSessions(named(input)),
    restoreRevokePolicy: async (input: RevokeInput): Promise<string> => c().restoreRevokePolicy(named(input)),
    deleteLoginProfile: async (input: { incidentId: string; userName: string; mode: AwsMode }): Promise<AwsActionResult> => c().deleteLoginProfile(named(input)),
    quarantinePrincipal: async (input: { incidentId: string; on: PolicyHolder; mode: AwsMode }): Promise<AwsActionResult> => c().quarantinePrincipal(named(input)),
    releasePrincipal: async (input: { incidentId: string; on: PolicyHolder; mode: AwsMode }): Promise<string> => c().releasePrincipal(named(input)),
    detachAttackerPolicy: async (input: { incidentId: string; on: PolicyHolder; policyArn: string; mode: AwsMode }): Promise<AwsActionResult> => c().detachPolicy(named(input)),
    reattachPolicy: async (input: { incidentId: string; on: PolicyHolder; policyArn: string; mode: AwsMode }): Promise<string> => c().reattachPolicy(named(input)),
    removeAttackerInlinePolicy: async (input: { incidentId: string; on: PolicyHolder; policyName: string; mode: AwsMode }): Promise<AwsActionResult> =>
      c().removeInlinePolicy(named(input)),
    restoreInlinePolicy: async (input: { incidentId: string; on: PolicyHolder; policyName: string; document: string; mode: AwsMode }): Promise<string> =>
      c().restoreInlinePolicy(named(input)),
    setTrustPolicy: async (input: { incidentId: string; roleName: string; document: string; mode: AwsMode; why: string }): Promise<AwsActionResult> =>
      c().setTrustPolicy(named(input)),
  };
}

export type AwsActivities = ReturnType<typeof createAwsActivities>;
