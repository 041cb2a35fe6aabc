/**
 * The supply-chain admission block on the real kube-apiserver: the shared
 * ValidatingAdmissionPolicy denies blocked digests and references on every
 * path that starts a container, allows what does not change images, and is
 * lifted one incident at a time.
 */
import { ApiException, AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockConfigMapName, createKubernetesActivities, kubeFailure } from '../../activities/kubernetes/index.ts';
import { testDeps } from '../support/deps.ts';
import { kubeConfig, testNamespace, uniqueName } from '../support/servers.ts';

const deps = await testDeps();
const kube = createKubernetesActivities(deps);
const core = kubeConfig().makeApiClient(CoreV1Api);
const apps = kubeConfig().makeApiClient(AppsV1Api);
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

const hex = (c: string) => c.repeat(64);
const bad = `sha256:${hex('b')}`;
const badImage = `127.0.0.1:5000/shop/web@${bad}`;
const badTag = '127.0.0.1:5000/shop/web:1.4';
const clean = `127.0.0.1:5000/shop/web@sha256:${hex('c')}`;

/** The API error a request failed with, or undefined when it succeeded. */
async function refusal(fn: () => Promise<unknown>): Promise<ApiException<unknown> | undefined> {
  try {
    await fn();
    return undefined;
  } catch (e) {
    if (e instanceof ApiException) return e;
    throw e;
  }
}
const message = (e: ApiException<unknown> | undefined) => (e === undefined ? 'allowed' : `${e.code} ${typeof e.body === 'string' ? e.body : JSON.stringify(e.body)}`);

const pod = (name: string, containers: { name: string; image: string }[], initContainers: { name: string; image: string }[] = []): V1Pod => ({
  metadata: { name, labels: { app: 'web' } },
  spec: { containers, ...(initContainers.length > 0 ? { initContainers } : {}) },
});

let blockNamespace: string;
let ns: string;
let incidentId: string;
/** A pod created before the block, running the bad digest. */
let running: string;

beforeAll(async () => {
  // One block namespace per cluster (the binding is shared): every test file uses this one; blockImages creates it.
  blockNamespace = 'firebreak-blocks';
  ns = await testNamespace('sc-admission');
  incidentId = uniqueName('inc-sc');
  running = 'web-running';
  await core.createNamespacedPod({ namespace: ns, body: pod(running, [{ name: 'web', image: badImage }]) });
  const result = await kube.blockImages({ incidentId, digests: [bad], images: [badTag], blockNamespace, mode: 'live' });
  expect(result.outcome).toBe('changed');
  await kube.proveBlock({ incidentId, digest: bad, image: badImage, controlImage: clean, namespace: ns });
});

// The block is cluster-wide: lift it for the other files of the run.
afterAll(() => kube.unblockImages({ incidentId, blockNamespace, mode: 'live' }));

describe('blockImages on the real kube-apiserver', () => {
  it('proves the block with a dry-run canary denied and a control allowed, within 10 s, creating nothing', async () => {
    const proof = await kube.proveBlock({ incidentId, digest: bad, image: badImage, controlImage: clean, namespace: ns });
    expect(proof).toMatchObject({ denied: true, controlAllowed: true });
    expect(proof.elapsedMs).toBeLessThan(10_000);
    expect(proof.message).toContain(bad);
    expect((await core.listNamespacedPod({ namespace: ns })).items.map((p) => p.metadata?.name)).toEqual([running]);
  });

  it('denies a pod whose container uses the blocked digest, naming the digest, the incident and how to lift it', async () => {
    const denied = await refusal(() => core.createNamespacedPod({ namespace: ns, body: pod('web-new', [{ name: 'web', image: badImage }]) }));
    expect(denied?.code).toBe(403);
    expect(message(denied)).toContain(bad);
    expect(message(denied)).toContain(incidentId);
    expect(message(denied)).toContain(`delete ConfigMap ${blockNamespace}/${blockConfigMapName(incidentId)}`);
  });

  it('denies a pod whose init container uses the blocked digest', async () => {
    const denied = await refusal(() => core.createNamespacedPod({ namespace: ns, body: pod('web-init', [{ name: 'web', image: clean }], [{ name: 'setup', image: badImage }]) }));
    expect(denied?.code).toBe(403);
  });

  it('denies a pod using a blocked tag reference verbatim', async () => {
    const denied = await refusal(() => core.createNamespacedPod({ namespace: ns, body: pod('web-tag', [{ name: 'web', image: badTag }]) }));
    expect(message(denied)).toContain(badTag);
  });

  it('denies adding an ephemeral container on the blocked digest through the pods/ephemeralcontainers subresource', async () => {
    const name = 'web-debug';
    await core.createNamespacedPod({ namespace: ns, body: pod(name, [{ name: 'web', image: clean }]) });
    const denied = await refusal(() =>
      core.patchNamespacedPodEphemeralcontainers({ name, namespace: ns, body: { spec: { ephemeralContainers: [{ name: 'debug', image: badImage }] } } }, strategic),
    );
    expect(denied?.code).toBe(403);
    expect(message(denied)).toContain('firebreak-blocked-images');
  });

  it('denies an UPDATE that switches a container to the blocked digest', async () => {
    const name = 'web-switch';
    await core.createNamespacedPod({ namespace: ns, body: pod(name, [{ name: 'web', image: clean }]) });
    const denied = await refusal(() => core.patchNamespacedPod({ name, namespace: ns, body: { spec: { containers: [{ name: 'web', image: badImage }] } } }, strategic));
    expect(denied?.code).toBe(403);
  });

  it('allows a label patch (quarantine) on a running pod that already uses the blocked digest', async () => {
    const allowed = await refusal(() =>
      core.patchNamespacedPod({ name: running, namespace: ns, body: { metadata: { labels: { 'firebreak.io/quarantine': 'x' } } } }, merge),
    );
    expect(message(allowed)).toBe('allowed');
  });

  it('denies a Deployment whose template uses the blocked digest, and a template update to it', async () => {
    const template = (image: string) => ({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } });
    const denied = await refusal(() =>
      apps.createNamespacedDeployment({ namespace: ns, body: { metadata: { name: 'web-bad' }, spec: { selector: { matchLabels: { app: 'web' } }, template: template(badImage) } } }),
    );
    expect(denied?.code).toBe(403);
    await apps.createNamespacedDeployment({ namespace: ns, body: { metadata: { name: 'web-ok' }, spec: { selector: { matchLabels: { app: 'web' } }, template: template(clean) } } });
    const update = await refusal(() => apps.patchNamespacedDeployment({ name: 'web-ok', namespace: ns, body: { spec: { template: template(badImage) } } }, strategic));
    expect(update?.code).toBe(403);
  });

  it('allows a pod on a clean digest', async () => {
    expect(message(await refusal(() => core.createNamespacedPod({ namespace: ns, body: pod('web-clean', [{ name: 'web', image: clean }]) })))).toBe('allowed');
  });

  it('finds its own ConfigMap and the policy in place on a retry, and still reports the block as its change so its undo is kept', async () => {
    const again = await kube.blockImages({ incidentId, digests: [bad], images: [badTag], blockNamespace, mode: 'live' });
    expect(again.outcome).toBe('changed');
    expect(again.detail).toMatch(/already lists .*from an earlier attempt/);
    expect(again.detail).toMatch(/ValidatingAdmissionPolicy firebreak-blocked-images already in place/);
  });
});

describe('unblockImages and dry-run', () => {
  it('lifts only this incident\'s entries: another incident blocking the same digest still denies', async () => {
    const other = uniqueName('inc-other');
    const mine = uniqueName('inc-mine');
    const digest = `sha256:${hex('d')}`;
    const image = `127.0.0.1:5000/shop/api@${digest}`;
    const otherDigest = `sha256:${hex('e')}`;
    await kube.blockImages({ incidentId: other, digests: [otherDigest], images: [], blockNamespace, mode: 'live' });
    await kube.blockImages({ incidentId: mine, digests: [digest, otherDigest], images: [], blockNamespace, mode: 'live' });
    await kube.proveBlock({ incidentId: mine, digest, image, controlImage: clean, namespace: ns });
    expect(await kube.unblockImages({ incidentId: mine, blockNamespace, mode: 'live' })).toContain('deleted ConfigMap');
    // The policy's informer sees the deletion shortly after: poll until the lifted digest is allowed.
    await expect.poll(async () => message(await refusal(() => core.createNamespacedPod({ namespace: ns, body: pod('lifted', [{ name: 'a', image }]), dryRun: 'All' }))), { timeout: 10_000 }).toBe('allowed');
    await expect(kube.proveBlock({ incidentId: other, digest: otherDigest, image: `127.0.0.1:5000/shop/api@${otherDigest}`, controlImage: clean, namespace: ns })).resolves.toMatchObject({ denied: true });
    await kube.unblockImages({ incidentId: other, blockNamespace, mode: 'live' });
  });

  it('refuses another block namespace than the shared binding reads, before any write', async () => {
    const elsewhere = uniqueName('elsewhere').toLowerCase();
    await expect(kube.blockImages({ incidentId: uniqueName('inc-elsewhere'), digests: [bad], images: [], blockNamespace: elsewhere, mode: 'live' })).rejects.toMatchObject({
      type: kubeFailure.blockNamespaceMismatch,
      nonRetryable: true,
      message: expect.stringContaining(`use blockNamespace ${blockNamespace}`),
    });
    expect((await refusal(() => core.readNamespace({ name: elsewhere })))?.code).toBe(404);
  });

  it('changes nothing in dry-run: no ConfigMap is created and the digest stays allowed', async () => {
    const dry = uniqueName('inc-dry');
    const result = await kube.blockImages({ incidentId: dry, digests: [`sha256:${hex('f')}`], images: [], blockNamespace, mode: 'dry-run' });
    expect(result.detail).toContain('dry-run');
    expect((await refusal(() => core.readNamespacedConfigMap({ name: blockConfigMapName(dry), namespace: blockNamespace })))?.code).toBe(404);
    await expect(
      kube.proveBlock({ incidentId: dry, digest: `sha256:${hex('f')}`, image: `127.0.0.1:5000/x@sha256:${hex('f')}`, controlImage: clean, namespace: ns, timeoutMs: 500 }),
    ).rejects.toMatchObject({ type: kubeFailure.blockNotEnforced, nonRetryable: false });
  });
});
