/**
 * The main paths of every runbook, run on the test servers (the real worker
 * bundle and activities, moto, kube-apiserver, the dev server) the way the
 * runbook tests run them, each incident's history written to test/histories/
 * by `npm run histories:capture`. Not part of `npm test` (its name does not
 * end in .test.ts): test/replay/histories.test.ts replays what it wrote.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CoreV1Api } from '@kubernetes/client-node';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunbookPolicy } from '../../../src/runbooks/schema.ts';
import { decideUpdate, statusQuery, type IncidentStatus } from '../../../workflows/engine/messages.ts';
import { awsDeps, cloudTrailServer, policy as credentialPolicy, roleEvent, seedAttackerChanges, seedRole, seedUser, startCredentialIncident } from '../../aws/support.ts';
import { approveEveryGate, requester, rollBack } from '../../dryrun/gates.ts';
import { falcoEvent, fromFalco, policy as escapePolicy, seedWorkload, startEscape, startRunbookWorker } from '../../kubernetes/support.ts';
import { waitForStatus } from '../../support/engine.ts';
import { shippedPolicy } from '../../support/policies.ts';
import { awsClient, kubeConfig, temporalClient, testAccountId, testNamespace, uniqueName } from '../../support/servers.ts';
import { seedEstate, sharedScope, startSupplyChain, supplyChainInput } from '../../supply-chain/support.ts';
import { captureHistory, seededSecrets } from './write.ts';

const client = await temporalClient();
const iam = awsClient(IAMClient);
const secrets = awsClient(SecretsManagerClient);
const kms = awsClient(KMSClient);
const core = kubeConfig().makeApiClient(CoreV1Api);
const trail = await cloudTrailServer();
const dir = await mkdtemp(join(tmpdir(), 'firebreak-capture-'));
const sbomDir = join(dir, 'sboms');
const scope = sharedScope();
scope.sbomSources.push({ directory: sbomDir });
let taskQueue: string;

beforeAll(async () => {
  ({ taskQueue } = await startRunbookWorker(await awsDeps(trail, { secrets, kms, supplyChainScope: scope })));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const done = new Set(['succeeded', 'failed', 'skipped', 'denied']);
const settled = (s: IncidentStatus) => s.pendingApprovals.length === 0 && s.steps.filter((x) => x.id !== 'rollback').every((x) => done.has(x.status));

/** Denies every gate the incident opens (one refusal ends a gate) until every step has settled. */
async function denyEveryGate(handle: WorkflowHandle): Promise<IncidentStatus> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await handle.query(statusQuery);
    if (settled(status)) return status;
    for (const p of status.pendingApprovals) {
      await handle.executeUpdate(decideUpdate, { args: [{ step: p.step, decision: 'deny', actor: p.approvers.find((a) => a !== requester)!, reason: 'history capture: denied' }] });
    }
    if (Date.now() > deadline) throw new Error(`the incident did not settle; last status: ${JSON.stringify(status, null, 2)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const waitingOnApproval = (handle: WorkflowHandle) => waitForStatus(handle, (s) => s.pendingApprovals.length > 0, 60_000);

/** The policy with every approval gate timing out after a second, denied (rollback stays as shipped). */
function timingOut(p: RunbookPolicy): Record<string, unknown> {
  const gate = { approvers: ['cli:alice', 'cli:bob', 'cli:carol'], required: 1, timeout: '1s', onTimeout: 'deny' };
  return Object.fromEntries(p.steps.filter((s) => s.gate !== 'none').map((s) => [s.id, gate]));
}

describe('credential-compromise', () => {
  const leakedKey = async () => {
    const u = await seedUser(iam);
    await seedAttackerChanges(iam, trail, u);
    return [{ kind: 'access-key' as const, id: u.key }];
  };

  it('waiting on its first approval', async () => {
    const handle = await startCredentialIncident(client, taskQueue, { policy: await credentialPolicy(), targets: await leakedKey(), requester });
    await waitingOnApproval(handle);
    expect(await captureHistory(handle, 'credential-compromise', 'waiting-approval')).toMatch(/json$/);
  });

  it('every gate approved', async () => {
    const handle = await startCredentialIncident(client, taskQueue, { policy: await credentialPolicy(), targets: await leakedKey(), requester });
    expect((await approveEveryGate(handle)).counts.failures).toBe(0);
    await captureHistory(handle, 'credential-compromise', 'approve-all');
  });

  it('every gate denied', async () => {
    const handle = await startCredentialIncident(client, taskQueue, { policy: await credentialPolicy(), targets: await leakedKey(), requester });
    const status = await denyEveryGate(handle);
    expect(status.steps.some((s) => s.status === 'denied')).toBe(true);
    await captureHistory(handle, 'credential-compromise', 'deny-all');
  });

  it('every gate timed out (denied on timeout)', async () => {
    const shipped = await credentialPolicy();
    const handle = await startCredentialIncident(client, taskQueue, { policy: await credentialPolicy(timingOut(shipped)), targets: await leakedKey(), requester });
    const status = await waitForStatus(handle, settled, 60_000);
    expect(status.steps.some((s) => s.status === 'denied')).toBe(true);
    await captureHistory(handle, 'credential-compromise', 'timeout');
  });

  it('approved, then rolled back', async () => {
    const handle = await startCredentialIncident(client, taskQueue, { policy: await credentialPolicy(), targets: await leakedKey(), requester });
    await approveEveryGate(handle);
    await rollBack(handle);
    await captureHistory(handle, 'credential-compromise', 'rollback');
  });

  it('in dry-run, approved and rolled back', async () => {
    const handle = await startCredentialIncident(client, taskQueue, { policy: await credentialPolicy(), targets: await leakedKey(), mode: 'dry-run', requester });
    await approveEveryGate(handle);
    await rollBack(handle);
    await captureHistory(handle, 'credential-compromise', 'dry-run');
  });
});

describe('container-escape', () => {
  const start = async (p: RunbookPolicy, mode: 'live' | 'dry-run' = 'live', rule?: string) => {
    const w = await seedWorkload(await testNamespace('capture'));
    return startEscape(client, taskQueue, { ...fromFalco(p, rule ? falcoEvent(w, w.pods[0], rule, 'Error') : falcoEvent(w, w.pods[0]), mode), childPolicies: { credentialCompromise: await credentialPolicy() } });
  };

  it('waiting on approval after auto-containment', async () => {
    const handle = await start(await escapePolicy());
    await waitingOnApproval(handle);
    await captureHistory(handle, 'container-escape', 'waiting-approval');
  });

  it('every gate approved', async () => {
    const handle = await start(await escapePolicy());
    expect((await approveEveryGate(handle)).counts.failures).toBe(0);
    await captureHistory(handle, 'container-escape', 'approve-all');
  });

  it('every gate denied (a shell: nothing auto-contained)', async () => {
    const handle = await start(await escapePolicy(), 'live', 'Terminal shell in container');
    await denyEveryGate(handle);
    await captureHistory(handle, 'container-escape', 'deny-all');
  });

  it('every gate timed out (denied on timeout)', async () => {
    const shipped = await escapePolicy();
    const handle = await start(await escapePolicy(timingOut(shipped)), 'live', 'Terminal shell in container');
    await waitForStatus(handle, settled, 60_000);
    await captureHistory(handle, 'container-escape', 'timeout');
  });

  it('approved, then rolled back', async () => {
    const handle = await start(await escapePolicy());
    await approveEveryGate(handle);
    await rollBack(handle);
    await captureHistory(handle, 'container-escape', 'rollback');
  });

  it('in dry-run on a pod with an IRSA role, with the credential-compromise incident it starts', async () => {
    const namespace = await testNamespace('capture-irsa');
    const w = await seedWorkload(namespace);
    const role = await seedRole(iam);
    await core.patchNamespacedServiceAccount({ name: 'storefront', namespace, body: [{ op: 'replace', path: '/metadata/annotations/eks.amazonaws.com~1role-arn', value: role.arn }] });
    const backdoor = uniqueName('backdoor');
    await iam.send(new CreateUserCommand({ UserName: backdoor }));
    trail.seed([roleEvent(role, 'storefront-session', 'CreateUser', 20, { requestParameters: { userName: backdoor } })], testAccountId);
    const parent = await startEscape(client, taskQueue, {
      ...fromFalco(await escapePolicy(), falcoEvent(w, w.pods[0], 'Terminal shell in container', 'Error'), 'dry-run'),
      childPolicies: { credentialCompromise: await credentialPolicy() },
    });
    await approveEveryGate(parent);
    const child = client.workflow.getHandle(`${parent.workflowId}.credential-compromise`);
    await approveEveryGate(child);
    await rollBack(parent);
    await rollBack(child);
    await captureHistory(parent, 'container-escape', 'dry-run');
    await captureHistory(child, 'credential-compromise', 'child-of-container-escape');
  });
});

describe('supply-chain', () => {
  const policyFile = fileURLToPath(new URL('../../../runbooks/supply-chain.yaml', import.meta.url));
  /** A poisoned image running in the estate, a secret the workload uses and the repository's signing key. */
  const poisoned = async () => {
    const e = await seedEstate(sbomDir);
    const secretName = `${e.namespace}/payments-key`;
    const secretValue = `capture-secret-${uniqueName('v')}`;
    seededSecrets.push(secretValue);
    const secretArn = (await secrets.send(new CreateSecretCommand({ Name: secretName, SecretString: secretValue }))).ARN!;
    scope.secrets.push({ name: secretName, store: 'aws-secrets-manager', id: secretArn, rotation: 'generate', usedBy: [`workload:${e.namespace}/Deployment/web`] });
    const keyId = (await kms.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256' }))).KeyMetadata!.KeyId!;
    scope.signingKeys.push({ keyId, repositories: [e.repository] });
    return [{ kind: 'image' as const, id: e.image }];
  };
  const start = async (p: RunbookPolicy, mode: 'live' | 'dry-run' = 'live') => startSupplyChain(client, taskQueue, supplyChainInput(p, await poisoned(), { mode, requester }));

  it('waiting on its first approval', async () => {
    const handle = await start(await shippedPolicy(policyFile));
    await waitingOnApproval(handle);
    await captureHistory(handle, 'supply-chain', 'waiting-approval');
  });

  it('every gate approved', async () => {
    const handle = await start(await shippedPolicy(policyFile));
    const status = await approveEveryGate(handle);
    expect(status.steps.filter((s) => s.status === 'failed')).toEqual([]);
    await captureHistory(handle, 'supply-chain', 'approve-all');
  });

  it('every gate denied', async () => {
    const handle = await start(await shippedPolicy(policyFile));
    await denyEveryGate(handle);
    await captureHistory(handle, 'supply-chain', 'deny-all');
  });

  it('every gate timed out (denied on timeout)', async () => {
    const shipped = await shippedPolicy(policyFile);
    const handle = await start(await shippedPolicy(policyFile, timingOut(shipped)));
    await waitForStatus(handle, settled, 90_000);
    await captureHistory(handle, 'supply-chain', 'timeout');
  });

  it('approved, then rolled back', async () => {
    const handle = await start(await shippedPolicy(policyFile));
    await approveEveryGate(handle);
    await rollBack(handle);
    await captureHistory(handle, 'supply-chain', 'rollback');
  });

  it('in dry-run, approved and rolled back', async () => {
    const handle = await start(await shippedPolicy(policyFile), 'dry-run');
    await approveEveryGate(handle);
    await rollBack(handle);
    await captureHistory(handle, 'supply-chain', 'dry-run');
  });
});
