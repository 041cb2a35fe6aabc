/**
 * The supply-chain runbook end to end: the real worker bundle and activities
 * against the real kube-apiserver (admission policy enforcement), moto
 * (Secrets Manager, KMS) and SBOM files, through the shipped policy.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateSecretCommand, DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ApiException } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quarantineLabel } from '../../activities/kubernetes/index.ts';
import { decideUpdate, rollbackUpdate, type IncidentStatus } from '../../workflows/engine/messages.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { testDeps } from '../support/deps.ts';
import { waitForStatus } from '../support/engine.ts';
import { shippedPolicy } from '../support/policies.ts';
import { awsClient, temporalClient, uniqueName } from '../support/servers.ts';
import { startRunbookWorker, timeline } from '../kubernetes/support.ts';
import { apps, core, seedEstate, sharedScope, startSupplyChain, supplyChainInput, type Estate } from './support.ts';

const policyFile = fileURLToPath(new URL('../../runbooks/supply-chain.yaml', import.meta.url));
const client = await temporalClient();
const secrets = awsClient(SecretsManagerClient);
const kms = awsClient(KMSClient);
const scope = sharedScope();
const dir = await mkdtemp(join(tmpdir(), 'firebreak-supply-'));
const sbomDir = join(dir, 'sboms');
scope.sbomSources.push({ directory: sbomDir });
const deps = await testDeps({ secrets, kms, supplyChainScope: scope });
let taskQueue: string;

beforeAll(async () => {
  ({ taskQueue } = await startRunbookWorker(deps));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const approvers = ['cli:alice', 'cli:bob', 'cli:carol'];
/** Every gate lifted, so an incident runs straight through; the shipped rollback.keep stays. */
const straight = () =>
  shippedPolicy(
    policyFile,
    Object.fromEntries(['block-digests', 'registry-tags', 'quarantine-pods', 'scale-down-workloads', 'repin-workloads', 'rotate-secrets', 'offer-credential-compromise', 'disable-signing-keys', 'rollback'].map((s) => [s, 'none'])),
  );
const done = new Set(['succeeded', 'failed', 'skipped', 'denied']);
const settled = (s: IncidentStatus) => s.steps.filter((x) => x.id !== 'rollback').every((x) => done.has(x.status));
const step = (s: IncidentStatus, id: string) => s.steps.find((x) => x.id === id);

async function denial(create: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await create();
    return undefined;
  } catch (e) {
    if (e instanceof ApiException && (e.code === 403 || e.code === 422)) return String((e.body as { message?: string } | string | undefined) && typeof e.body === 'string' ? e.body : JSON.stringify(e.body));
    throw e;
  }
}

/** A pod using the image, created in the estate's namespace. */
const podOn = (e: Estate, image: string, name: string) => () =>
  core().createNamespacedPod({ namespace: e.namespace, body: { metadata: { name }, spec: { containers: [{ name: 'c', image }] } } });

async function secretWithInventory(e: Estate): Promise<string> {
  const name = `${e.namespace}/payments-key`;
  const arn = (await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'leaked-value' }))).ARN!;
  scope.secrets.push({ name, store: 'aws-secrets-manager', id: arn, rotation: 'generate', usedBy: [`workload:${e.namespace}/Deployment/web`] });
  return arn;
}

async function signingKey(e: Estate): Promise<string> {
  const key = await kms.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256' }));
  scope.signingKeys.push({ keyId: key.KeyMetadata!.KeyId!, repositories: [e.repository] });
  return key.KeyMetadata!.KeyId!;
}

describe('the supply-chain runbook', () => {
  it('seals the scope, pods, templates and the secret inventory before its first change, and names no secret value', async () => {
    const e = await seedEstate(sbomDir);
    await secretWithInventory(e);
    const handle = await startSupplyChain(client, taskQueue, supplyChainInput(await straight(), [{ kind: 'package', id: 'pkg:npm/chalk@5.6.1' }]));
    await waitForStatus(handle, settled, 60_000);
    const events = await timeline(handle);

    const lastSeal = events.findLastIndex((x) => x.type === 'evidence.sealed');
    const firstChange = events.findIndex((x) => x.type === 'action.started');
    expect(firstChange).toBeGreaterThan(lastSeal);
    const names = events.flatMap((x) => (x.type === 'evidence.sealed' ? [x.data.name] : []));
    expect(names).toEqual(expect.arrayContaining([expect.stringMatching(/^sbom .*-bad\.cdx\.json$/), 'secret-inventory.json', 'scope.json']));
    const inventory = events.find((x): x is Extract<TimelineEvent, { type: 'evidence.sealed' }> => x.type === 'evidence.sealed' && x.data.name === 'secret-inventory.json')!;
    expect(await readFile(fileURLToPath(inventory.data.uri), 'utf8')).not.toContain('leaked-value');
  });

  it('blocks the digest at admission, proved by a canary, while a label patch on the running pod is still allowed', async () => {
    const e = await seedEstate(sbomDir);
    const handle = await startSupplyChain(client, taskQueue, supplyChainInput(await straight(), [{ kind: 'image', id: e.image }]));
    const status = await waitForStatus(handle, settled, 60_000);
    const events = await timeline(handle);

    expect(step(status, 'block-digests')?.status).toBe('succeeded');
    expect(events.find((x) => x.type === 'check.passed' && x.step === 'block-digests')).toBeDefined();
    expect(await denial(podOn(e, e.image, 'new-bad'))).toContain(e.digest);
    expect(await denial(podOn(e, e.cleanImage, 'new-clean'))).toBeUndefined();
    await core().patchNamespacedPod({ name: e.pod, namespace: e.namespace, body: [{ op: 'add', path: '/metadata/labels/checked', value: 'yes' }] });
  });

  it('quarantines the running pod, scales its Deployment to zero, re-pins it to the clean digest, rotates its secret and disables its signing key', async () => {
    const e = await seedEstate(sbomDir);
    const arn = await secretWithInventory(e);
    const keyId = await signingKey(e);
    const before = await secrets.send(new DescribeSecretCommand({ SecretId: arn }));
    const handle = await startSupplyChain(client, taskQueue, supplyChainInput(await straight(), [{ kind: 'image', id: e.image }]));
    const status = await waitForStatus(handle, settled, 60_000);

    expect(status.steps.filter((s) => s.status === 'failed')).toEqual([]);
    expect((await core().readNamespacedPod({ name: e.pod, namespace: e.namespace })).metadata?.labels?.[quarantineLabel]).toBeTruthy();
    const d = await apps().readNamespacedDeployment({ name: 'web', namespace: e.namespace });
    expect(d.spec?.replicas).toBe(0);
    expect(d.spec?.template.spec?.containers[0]?.image).toBe(e.cleanImage);
    const after = await secrets.send(new DescribeSecretCommand({ SecretId: arn }));
    expect(Object.keys(after.VersionIdsToStages ?? {})).toHaveLength(Object.keys(before.VersionIdsToStages ?? {}).length + 1);
    // moto still signs with a disabled key: the key's state is what is asserted.
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe('Disabled');
  });

  it('names the Kubernetes Secret the pod reads as a follow-up, since Firebreak cannot reissue it', async () => {
    const e = await seedEstate(sbomDir);
    const handle = await startSupplyChain(client, taskQueue, supplyChainInput(await straight(), [{ kind: 'image', id: e.image }]));
    await waitForStatus(handle, settled, 60_000);
    const followUps = (await timeline(handle)).filter((x) => x.type === 'follow-up.raised');

    expect(followUps).toContainEqual(expect.objectContaining({ data: expect.objectContaining({ what: `Rotate ${e.namespace}/web-db`, target: `${e.namespace}/web-db` }) }));
  });

  it('rolls back quarantine, replicas and signing key, keeps the block and the rotation as the policy says, and refuses to put the bad digest back in the template', async () => {
    const e = await seedEstate(sbomDir);
    await secretWithInventory(e);
    const keyId = await signingKey(e);
    const handle = await startSupplyChain(client, taskQueue, supplyChainInput(await straight(), [{ kind: 'image', id: e.image }]));
    await waitForStatus(handle, settled, 60_000);
    await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:alice', reason: 'test' }] });
    await waitForStatus(handle, (s) => s.phase === 'rolled-back', 60_000);
    const events = await timeline(handle);

    expect((await core().readNamespacedPod({ name: e.pod, namespace: e.namespace })).metadata?.labels?.[quarantineLabel]).toBeUndefined();
    const d = await apps().readNamespacedDeployment({ name: 'web', namespace: e.namespace });
    expect(d.spec?.replicas).toBe(2);
    // The block is kept, so admission denies restoring the template to the blocked digest: it stays on the clean one, and the report says so.
    expect(d.spec?.template.spec?.containers[0]?.image).toBe(e.cleanImage);
    expect(events.find((x) => x.type === 'rollback.failed' && x.step === 'repin-workloads')?.data).toMatchObject({ errorType: 'KubernetesAdmissionDenied' });
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe('Enabled');
    expect(events.filter((x) => x.type === 'rollback.kept').map((x) => x.step).sort()).toEqual(['block-digests', 'rotate-secrets']);
    expect(await denial(podOn(e, e.image, 'after-rollback'))).toContain(e.digest);
  });

  it('changes nothing in dry-run: no block, pod unlabelled, replicas and template as they were', async () => {
    const e = await seedEstate(sbomDir);
    const handle = await startSupplyChain(client, taskQueue, supplyChainInput(await straight(), [{ kind: 'image', id: e.image }], { mode: 'dry-run' }));
    const status = await waitForStatus(handle, settled, 60_000);

    expect(status.steps.filter((s) => s.status === 'failed')).toEqual([]);
    expect((await core().readNamespacedPod({ name: e.pod, namespace: e.namespace })).metadata?.labels?.[quarantineLabel]).toBeUndefined();
    const d = await apps().readNamespacedDeployment({ name: 'web', namespace: e.namespace });
    expect([d.spec?.replicas, d.spec?.template.spec?.containers[0]?.image]).toEqual([2, e.image]);
    expect(await denial(podOn(e, e.image, 'dry-run-check'))).toBeUndefined();
  });

  it('waits at each gate of the shipped policy: nothing is blocked before block-digests is approved', async () => {
    const e = await seedEstate(sbomDir);
    const handle = await startSupplyChain(client, taskQueue, supplyChainInput(await shippedPolicy(policyFile), [{ kind: 'image', id: e.image }]));
    await waitForStatus(handle, (s) => s.pendingApprovals.some((p) => p.step === 'block-digests'), 60_000);

    expect(await denial(podOn(e, e.image, 'before-approval'))).toBeUndefined();
    await handle.executeUpdate(decideUpdate, { args: [{ step: 'block-digests', decision: 'approve', actor: approvers[1]! }] });
    await waitForStatus(handle, (s) => s.pendingApprovals.some((p) => p.step === 'quarantine-pods'), 60_000);
    expect(await denial(podOn(e, e.image, 'after-approval'))).toContain(e.digest);
  });
});

describe('the supply-chain runbook across a worker restart', () => {
  it('resumes after the worker died right after scaling down, and rollback still restores the original replica count', async () => {
    const queue = uniqueName('supply-restart');
    let died = false;
    const first = await startRunbookWorker(deps, {
      taskQueue: queue,
      wrap: (a, worker) => ({
        ...a,
        scaleWorkload: async (input) => {
          const result = await a.scaleWorkload(input);
          if (!died) {
            // Scaled to zero; the worker goes away before reporting it, so the retry finds zero replicas.
            died = true;
            worker().shutdown();
            throw new Error('worker lost before reporting the result');
          }
          return result;
        },
      }),
    });
    const e = await seedEstate(sbomDir);
    const handle = await startSupplyChain(client, queue, supplyChainInput(await straight(), [{ kind: 'image', id: e.image }]));
    await first.running;
    expect(died).toBe(true);
    await startRunbookWorker(deps, { taskQueue: queue });
    await waitForStatus(handle, settled, 60_000);
    const events = await timeline(handle);

    expect(events.filter((x) => x.type === 'action.started' && x.step === 'scale-down-workloads')).toHaveLength(1);
    expect((await apps().readNamespacedDeployment({ name: 'web', namespace: e.namespace })).spec?.replicas).toBe(0);
    await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'cli:alice' }] });
    await waitForStatus(handle, (s) => s.phase === 'rolled-back', 60_000);
    expect((await apps().readNamespacedDeployment({ name: 'web', namespace: e.namespace })).spec?.replicas).toBe(2);
  });
});

describe('the supply-chain runbook on a compromised CI action', () => {
  it('finds the workflow files using tj-actions/changed-files at an affected ref and names the secrets they reference', async () => {
    const checkout = join(dir, 'checkouts', uniqueName('shop'));
    await mkdir(join(checkout, '.github', 'workflows'), { recursive: true });
    const uses = (ref: string, secret: string) =>
      `on: [pull_request]\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: tj-actions/changed-files@${ref}\n      - run: npm publish\n        env:\n          TOKEN: \${{ secrets.${secret} }}\n`;
    await writeFile(join(checkout, '.github', 'workflows', 'ci.yml'), uses('v44', 'NPM_TOKEN'));
    await writeFile(join(checkout, '.github', 'workflows', 'release.yml'), uses('v46.0.1', 'RELEASE_TOKEN'));
    scope.checkouts.push(checkout);
    const text = await readFile(fileURLToPath(new URL('fixtures/GHSA-mrrh-fwg8-r2c3.json', import.meta.url)), 'utf8');
    const handle = await startSupplyChain(
      client,
      taskQueue,
      supplyChainInput(await straight(), [{ kind: 'advisory', id: 'GHSA-mrrh-fwg8-r2c3' }], { documents: [{ name: 'GHSA-mrrh-fwg8-r2c3.json', kind: 'osv-advisory', text }] }),
    );
    await waitForStatus(handle, settled, 60_000);
    const events = await timeline(handle);

    const sealed = events.flatMap((x) => (x.type === 'evidence.sealed' ? [x.data.name] : []));
    expect(sealed).toEqual(expect.arrayContaining(['advisory GHSA-mrrh-fwg8-r2c3.json', expect.stringContaining('ci.yml')]));
    expect(sealed.some((n) => n.includes('release.yml'))).toBe(false);
    const followUps = events.flatMap((x) => (x.type === 'follow-up.raised' ? [`${x.data.what} ${x.data.why}`] : []));
    expect(followUps).toContainEqual(expect.stringMatching(/^Rotate CI secret NPM_TOKEN .*ci\.yml/));
    expect(followUps.some((f) => f.includes('RELEASE_TOKEN'))).toBe(false);
  });
});
