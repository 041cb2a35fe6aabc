/**
 * The sandbox's supply-chain estate (`npm start`): seeded on the test servers,
 * its scope file is valid and the runbook's own reads find the affected
 * workload through it, so the README walk-through has something to find.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.ts';
import { loadScope } from '../../src/config/scope.ts';
import { seedKubernetes } from '../../src/sandbox/demo.ts';
import { seedSupplyChain } from '../../src/sandbox/supply-chain-demo.ts';
import { testDeps } from '../support/deps.ts';
import { awsClient, kubeConfig, sandbox } from '../support/servers.ts';

const dir = await mkdtemp(join(tmpdir(), 'firebreak-demo-sc-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the sandbox supply-chain estate', () => {
  it('writes a valid scope through which the chalk advisory finds the checkout workload, its tag, its secret and its signing key', async () => {
    await seedKubernetes(kubeConfig());
    const secrets = awsClient(SecretsManagerClient);
    const kms = awsClient(KMSClient);
    const demo = await seedSupplyChain({ kc: kubeConfig(), registryUrl: sandbox().registryUrl, dir, secrets, kms });
    const scope = loadScope(demo.scopeFile);
    const a = createActivities({ ...(await testDeps({ secrets, kms })), supplyChainScope: scope });

    const matched = await a.matchSupplyChain({ incidentId: 'demo-sc', advisories: [], packages: ['pkg:npm/chalk@5.6.1'], images: [], actions: [] });
    const tags = await a.findTags({ registries: scope.registries, digests: matched.digests });
    // The Deployment names its image by tag, as the runbook passes the tags that resolve to a bad digest.
    const usage = await a.findImageUsage({ digests: matched.digests, images: tags.tags.map((t) => `${new URL(t.registry).host}/${t.repository}:${t.tag}`) });

    expect(matched.digests).toContain(demo.badImage.slice(demo.badImage.indexOf('@') + 1));
    expect(Object.values(matched.clean)).toContain(demo.cleanImage);
    expect(usage.workloads.map((w) => `${w.namespace}/${w.kind}/${w.name}`)).toContain('demo-shop/Deployment/checkout');
    expect(tags.tags.map((t) => `${t.repository}:${t.tag}`)).toContain('demo-shop/checkout:2.1');
    expect(scope.secrets.map((s) => s.store)).toEqual(['aws-secrets-manager', 'third-party']);
    expect(scope.signingKeys.map((k) => k.keyId)).toEqual(['alias/demo-image-signing']);
  });
});
