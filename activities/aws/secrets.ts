/**
 * Secrets Manager for the supply-chain runbook: the inventory by name and
 * version (never a value), rotation of generated secrets, and its undo.
 *
 * A rotation is `PutSecretValue` under a ClientRequestToken derived from
 * (incident, secret): the version id is known before the call, so a retried
 * activity finds its own version already there and rotates once. The new
 * value is generated here, sent, and forgotten: it never reaches a result,
 * a log or the evidence.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DescribeSecretCommand, GetRandomPasswordCommand, type DescribeSecretCommandOutput, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ApplicationFailure } from '@temporalio/common';
import type { ActionResult } from '../../domain/actions.ts';
import { aws, awsFailure, orMissing } from './errors.ts';
import type { AwsMode } from './types.ts';
import { SupplyChainWriter } from './writes.ts';

export interface SecretFacts {
  id: string;
  arn?: string;
  name?: string;
  /** The version holding AWSCURRENT. */
  currentVersion?: string;
  rotationEnabled?: boolean;
  found: boolean;
}

type Described = DescribeSecretCommandOutput;

const describe = (sm: SecretsManagerClient, secretId: string): Promise<Described | undefined> =>
  orMissing('secretsmanager:DescribeSecret', `secret ${secretId}`, () => sm.send(new DescribeSecretCommand({ SecretId: secretId })));

const holding = (d: Described, stage: string): string | undefined => Object.entries(d.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes(stage))?.[0];

/**
 * The version id of this incident's rotation of this secret: a UUID made from
 * SHA-256 of both, so every attempt of the activity sends the same token.
 * Keyed by the secret's ARN, which a name or an ARN given as input resolve to alike.
 */
export function rotationVersionId(incidentId: string, secretArn: string): string {
  const h = createHash('sha256').update(`firebreak rotation\0${incidentId}\0${secretArn}`).digest('hex');
  // Shaped as an RFC 4122 version 5-style UUID (Secrets Manager takes 32-64 characters).
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

export async function describeSecrets(sm: SecretsManagerClient, input: { incidentId: string; secretIds: string[] }): Promise<{ secrets: SecretFacts[] }> {
  const secrets: SecretFacts[] = [];
  // A few at a time: an inventory may list hundreds, and Secrets Manager throttles DescribeSecret.
  for (let i = 0; i < input.secretIds.length; i += 8) {
    const batch = input.secretIds.slice(i, i + 8);
    const described = await Promise.all(batch.map((id) => describe(sm, id)));
    batch.forEach((id, j) => {
      const d = described[j];
      if (d === undefined) {
        secrets.push({ id, found: false });
        return;
      }
      const current = holding(d, 'AWSCURRENT');
      secrets.push({
        id,
        found: true,
        ...(d.ARN === undefined ? {} : { arn: d.ARN }),
        ...(d.Name === undefined ? {} : { name: d.Name }),
        ...(current === undefined ? {} : { currentVersion: current }),
        // Secrets Manager leaves RotationEnabled out for a secret that never had rotation.
        rotationEnabled: d.RotationEnabled === true,
      });
    });
  }
  return { secrets };
}

async function newValue(sm: SecretsManagerClient, secretId: string): Promise<string> {
  const res = await aws('secretsmanager:GetRandomPassword', `a new value for secret ${secretId}`, () =>
    sm.send(new GetRandomPasswordCommand({ PasswordLength: 40, ExcludePunctuation: true })),
  );
  // Node's generator when the service answers without one, never an empty secret.
  return res.RandomPassword !== undefined && res.RandomPassword.length >= 32 ? res.RandomPassword : randomBytes(30).toString('base64url');
}

export async function rotateSecret(
  sm: SecretsManagerClient,
  input: { incidentId: string; secretId: string; mode: AwsMode },
): Promise<ActionResult & { versionId?: string; previousVersionId?: string }> {
  const { secretId } = input;
  const d = await describe(sm, secretId);
  if (d === undefined || d.ARN === undefined) return { outcome: 'target-gone', detail: `secret ${secretId} does not exist` };
  if (d.DeletedDate !== undefined) return { outcome: 'target-gone', detail: `secret ${secretId} is scheduled for deletion: not rotated` };
  const versionId = rotationVersionId(input.incidentId, d.ARN);
  const current = holding(d, 'AWSCURRENT');
  const stages = d.VersionIdsToStages?.[versionId];
  if (stages !== undefined) {
    const previous = current === versionId ? holding(d, 'AWSPREVIOUS') : current;
    return {
      outcome: 'already-done',
      detail: `secret ${secretId} was already rotated by this incident (version ${versionId}${current === versionId ? ', current' : `, now ${stages.join(', ') || 'unlabelled'}`})`,
      versionId,
      ...(previous === undefined ? {} : { previousVersionId: previous }),
    };
  }
  const w = new SupplyChainWriter({ secrets: sm }, input.mode);
  await w.putSecretValue(d.ARN, versionId, () => newValue(sm, secretId));
  return {
    outcome: 'changed',
    detail: w.said(`rotated secret ${secretId}: new current version ${versionId}${current === undefined ? '' : `, previous ${current}`}`),
    versionId,
    ...(current === undefined ? {} : { previousVersionId: current }),
  };
}

export async function undoSecretRotation(
  sm: SecretsManagerClient,
  input: { incidentId: string; secretId: string; versionId: string; previousVersionId: string; mode: AwsMode },
): Promise<string> {
  const { secretId, versionId, previousVersionId } = input;
  const d = await describe(sm, secretId);
  if (d === undefined || d.ARN === undefined) return `secret ${secretId} no longer exists: nothing to restore`;
  const current = holding(d, 'AWSCURRENT');
  if (current === previousVersionId) return `secret ${secretId} already has version ${previousVersionId} current`;
  if (d.VersionIdsToStages?.[previousVersionId] === undefined) {
    throw ApplicationFailure.create({
      type: awsFailure.rollbackUnsafe,
      nonRetryable: true,
      message: `Cannot undo the rotation of secret ${secretId}: its previous version ${previousVersionId} is no longer stored (Secrets Manager drops unlabelled versions). Restore the old value by hand if it is still wanted.`,
    });
  }
  if (current !== versionId) {
    throw ApplicationFailure.create({
      type: awsFailure.rollbackUnsafe,
      nonRetryable: true,
      message: `Did not undo the rotation of secret ${secretId}: its current version is ${current ?? 'none'}, not this incident's ${versionId}, so someone rotated it since. Decide by hand which version should be current.`,
    });
  }
  const w = new SupplyChainWriter({ secrets: sm }, input.mode);
  await w.moveCurrentStage(d.ARN, previousVersionId, versionId);
  return w.said(`made version ${previousVersionId} of secret ${secretId} current again (was ${versionId})`);
}
