/**
 * KMS for the supply-chain runbook: disable a signing key named in the scope
 * so nothing new is signed with it, and enable it again on rollback. A
 * disabled key does not invalidate signatures made before: the digests it
 * signed stay blocked by the admission policy, not by this.
 */
import { DescribeKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { ActionResult } from '../../domain/actions.ts';
import { orMissing } from './errors.ts';
import type { AwsMode } from './types.ts';
import { SupplyChainWriter } from './writes.ts';

async function keyOf(kms: KMSClient, keyId: string): Promise<{ id: string; state: string } | undefined> {
  const res = await orMissing('kms:DescribeKey', `KMS key ${keyId}`, () => kms.send(new DescribeKeyCommand({ KeyId: keyId })));
  const m = res?.KeyMetadata;
  if (m?.KeyId === undefined) return undefined;
  return { id: m.KeyId, state: m.KeyState ?? (m.Enabled === true ? 'Enabled' : 'Disabled') };
}

export async function disableSigningKey(kms: KMSClient, input: { incidentId: string; keyId: string; mode: AwsMode }): Promise<ActionResult & { previousState?: string }> {
  const key = await keyOf(kms, input.keyId);
  if (key === undefined) return { outcome: 'target-gone', detail: `KMS key ${input.keyId} does not exist` };
  const previousState = key.state;
  // Disabled, pending deletion or import: it cannot sign now, so there is nothing to do (and KMS would refuse DisableKey).
  if (key.state !== 'Enabled') return { outcome: 'already-done', detail: `KMS key ${input.keyId} is already ${key.state}: it cannot sign`, previousState };
  const w = new SupplyChainWriter({ kms }, input.mode);
  // By key id: an alias could be moved to another key between the read and the write.
  await w.setKeyEnabled(key.id, false);
  return { outcome: 'changed', detail: w.said(`disabled KMS key ${input.keyId} (${key.id}), which was Enabled`), previousState };
}

export async function enableSigningKey(kms: KMSClient, input: { incidentId: string; keyId: string; mode: AwsMode }): Promise<string> {
  const key = await keyOf(kms, input.keyId);
  if (key === undefined) return `KMS key ${input.keyId} no longer exists: nothing to enable`;
  if (key.state === 'Enabled') return `KMS key ${input.keyId} is already enabled`;
  const w = new SupplyChainWriter({ kms }, input.mode);
  await w.setKeyEnabled(key.id, true);
  return w.said(`enabled KMS key ${input.keyId} (${key.id}) again`);
}
