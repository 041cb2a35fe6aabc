/**
 * Dry-run changes nothing, for the supply-chain runbook: an incident on a
 * poisoned image runs in dry-run through every gate of the shipped policy
 * (two approvers where it says so), then rollback, against the real
 * kube-apiserver and moto. Every object of the estate's namespace, every IAM
 * and S3 object of the account, the inventory's Secrets Manager secret and the
 * signing key are read before and after: any difference fails; the block
 * namespace holds no entry of this incident. (The cluster-wide admission policy is shared with other
 * test files running at the same time, so its effect is checked instead: a
 * pod on the blocked digest is still admitted.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IAMClient } from '@aws-sdk/client-iam';
import { CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateSecretCommand, DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockConfigMapName } from '../../activities/kubernetes/names.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { testDeps } from '../support/deps.ts';
import { shippedPolicy } from '../support/policies.ts';
import { awsClient, kubeConfig, temporalClient } from '../support/servers.ts';
import { startRunbookWorker, timeline } from '../kubernetes/support.ts';
import { core, seedEstate, sharedScope, startSupplyChain, supplyChainInput } from '../supply-chain/support.ts';
import { approveEveryGate, requester, rollBack } from './gates.ts';
import { awsWorld, differences, kubernetesWorld } from './world.ts';

const client = await temporalClient();
const iam = awsClient(IAMClient);
const s3 = awsClient(S3Client);
const secrets = awsClient(SecretsManagerClient);
const kms = awsClient(KMSClient);
const kc = kubeConfig();
const dir = await mkdtemp(join(tmpdir(), 'firebreak-supply-dryrun-'));
const sbomDir = join(dir, 'sboms');
// The cluster's one block namespace, as every supply-chain test uses: the shared binding refuses any other once it exists.
const scope = sharedScope();
scope.sbomSources.push({ directory: sbomDir });
let taskQueue: string;

beforeAll(async () => {
  ({ taskQueue } = await startRunbookWorker(await testDeps({ secrets, kms, supplyChainScope: scope })));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const policyFile = fileURLToPath(new URL('../../runbooks/supply-chain.yaml', import.meta.url));
const granted = (events: TimelineEvent[]) => [...new Set(events.filter((e) => e.type === 'approval.granted').map((e) => e.step ?? ''))].sort();
const succeeded = (events: TimelineEvent[]) => [...new Set(events.filter((e) => e.type === 'action.succeeded').map((e) => e.step ?? ''))].sort();

async function secretsAndKeys(secretArn: string, keyId: string) {
  const s = await secrets.send(new DescribeSecretCommand({ SecretId: secretArn }));
  const k = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
  return { versions: s.VersionIdsToStages, rotated: s.LastChangedDate?.toISOString() ?? null, keyState: k.KeyMetadata?.KeyState };
}

/** This incident's block entry: other test files write theirs to the same namespace meanwhile. */
async function blockEntry(namespace: string, incidentId: string): Promise<string | undefined> {
  try {
    return (await core().readNamespacedConfigMap({ namespace, name: blockConfigMapName(incidentId) })).metadata?.name;
  } catch {
    return undefined;
  }
}

describe('a dry run of the supply-chain runbook through every gate', () => {
  it('leaves the estate, IAM, the rotated secret and the signing key as they were, and blocks nothing', async () => {
    const e = await seedEstate(sbomDir);
    const secretName = `${e.namespace}/payments-key`;
    const secretArn = (await secrets.send(new CreateSecretCommand({ Name: secretName, SecretString: 'leaked-value' }))).ARN!;
    scope.secrets.push({ name: secretName, store: 'aws-secrets-manager', id: secretArn, rotation: 'generate', usedBy: [`workload:${e.namespace}/Deployment/web`] });
    const keyId = (await kms.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256' }))).KeyMetadata!.KeyId!;
    scope.signingKeys.push({ keyId, repositories: [e.repository] });
    const policy = await shippedPolicy(policyFile);

    const kubeBefore = await kubernetesWorld(kc, e.namespace);
    const awsBefore = await awsWorld(iam, s3);
    const storesBefore = await secretsAndKeys(secretArn, keyId);

    const handle = await startSupplyChain(client, taskQueue, supplyChainInput(policy, [{ kind: 'image', id: e.image }], { mode: 'dry-run', requester }));
    const status = await approveEveryGate(handle);
    expect(status.steps.filter((s) => s.status === 'failed')).toEqual([]);
    await rollBack(handle);
    const events = await timeline(handle);

    // Every gate the estate gives a reason to open was passed, and each of those steps acted (in dry-run).
    const acting = ['block-digests', 'quarantine-pods', 'scale-down-workloads', 'repin-workloads', 'rotate-secrets', 'disable-signing-keys'];
    expect(granted(events)).toEqual(expect.arrayContaining([...acting, 'rollback']));
    expect(succeeded(events)).toEqual(expect.arrayContaining(acting));
    expect(events.filter((x) => x.type === 'action.started').every((x) => x.type === 'action.started' && x.data.mode === 'dry-run')).toBe(true);

    expect(differences(kubeBefore, await kubernetesWorld(kc, e.namespace))).toEqual([]);
    expect(await blockEntry(scope.blockNamespace, handle.workflowId)).toBeUndefined();
    expect(differences(awsBefore, await awsWorld(iam, s3))).toEqual([]);
    expect(await secretsAndKeys(secretArn, keyId)).toEqual(storesBefore);
    const pod = await core().createNamespacedPod({ namespace: e.namespace, body: { metadata: { name: 'after-dry-run' }, spec: { containers: [{ name: 'c', image: e.image }] } } });
    expect(pod.metadata?.name).toBe('after-dry-run');
  });
});
