/**
 * The local sandbox's supply-chain estate: a `checkout` workload running an
 * image whose SBOM carries chalk 5.6.1 (the 2025-09-08 npm compromise), a
 * clean later build of it, a Secrets Manager secret and a Kubernetes Secret
 * the workload reads, a KMS signing key, a CI checkout whose workflow uses
 * tj-actions/changed-files@v44 (GHSA-mrrh-fwg8-r2c3), and the scope file
 * (FIREBREAK_SUPPLY_CHAIN_SCOPE) that tells the worker where all of it is.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, type KMSClient, NotFoundException } from '@aws-sdk/client-kms';
import { CreateSecretCommand, DescribeSecretCommand, ResourceNotFoundException, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ApiException, AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { demoNamespace, demoNode, markRunning } from './demo.ts';
import { OciPusher } from './oci.ts';

export const demoSigningKeyAlias = 'alias/demo-image-signing';
export const demoPaymentsSecret = 'demo-shop/checkout-payments-key';

async function ensure(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (e) {
    if (e instanceof ApiException && e.code === 409) return;
    throw e;
  }
}

function checkoutSbom(chalk: string, version: string): string {
  return JSON.stringify({
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    metadata: { component: { type: 'container', name: `${demoNamespace}/checkout`, version } },
    components: [
      { type: 'library', name: 'chalk', version: chalk, purl: `pkg:npm/chalk@${chalk}` },
      { type: 'library', name: 'express', version: '4.21.2', purl: 'pkg:npm/express@4.21.2' },
    ],
  });
}

const ciWorkflow = `name: ci
on: [pull_request]
jobs:
  changed:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: files
        uses: tj-actions/changed-files@v44
      - run: npm publish --dry-run
        env:
          NODE_AUTH_TOKEN: \${{ secrets.NPM_TOKEN }}
`;

export interface SupplyChainDemo {
  scopeFile: string;
  badImage: string;
  cleanImage: string;
  description: string;
}

/** Images in the registry, the workload in the cluster, AWS secrets and key when the sandbox has AWS, then the scope file. */
export async function seedSupplyChain(o: {
  kc: KubeConfig | undefined;
  registryUrl: string;
  dir: string;
  secrets?: SecretsManagerClient;
  kms?: KMSClient;
}): Promise<SupplyChainDemo> {
  const registry = new OciPusher(o.registryUrl);
  const repo = `${demoNamespace}/checkout`;
  const bad = await registry.image(repo, { os: 'linux', architecture: 'amd64' }, '2.1');
  await registry.attachSbom(repo, bad, checkoutSbom('5.6.1', '2.1'), 'application/vnd.cyclonedx+json');
  const good = await registry.image(repo, { os: 'linux', architecture: 'amd64' }, '2.2');
  await registry.attachSbom(repo, good, checkoutSbom('5.6.2', '2.2'), 'application/vnd.cyclonedx+json');
  const badImage = `${registry.host}/${repo}@${bad.digest}`;
  const cleanImage = `${registry.host}/${repo}@${good.digest}`;

  if (o.kc !== undefined) await seedWorkload(o.kc, `${registry.host}/${repo}:2.1`, badImage);

  let secretArn: string | undefined;
  if (o.secrets !== undefined) {
    try {
      secretArn = (await o.secrets.send(new DescribeSecretCommand({ SecretId: demoPaymentsSecret }))).ARN;
    } catch (e) {
      if (!(e instanceof ResourceNotFoundException)) throw e;
      secretArn = (await o.secrets.send(new CreateSecretCommand({ Name: demoPaymentsSecret, SecretString: 'sandbox-only-not-a-real-key' }))).ARN;
    }
  }
  if (o.kms !== undefined) {
    try {
      await o.kms.send(new DescribeKeyCommand({ KeyId: demoSigningKeyAlias }));
    } catch (e) {
      if (!(e instanceof NotFoundException)) throw e;
      const key = await o.kms.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256', Description: 'sandbox image signing key' }));
      await o.kms.send(new CreateAliasCommand({ AliasName: demoSigningKeyAlias, TargetKeyId: key.KeyMetadata!.KeyId! }));
    }
  }

  const checkout = join(o.dir, 'checkouts', 'demo-shop');
  await mkdir(join(checkout, '.github', 'workflows'), { recursive: true });
  await writeFile(join(checkout, '.github', 'workflows', 'ci.yml'), ciWorkflow);
  const scope = {
    sbomSources: [{ registry: o.registryUrl, images: [{ repository: repo, reference: '2.1' }, { repository: repo, reference: '2.2' }, { repository: `${demoNamespace}/storefront`, reference: '1.0' }, { repository: `${demoNamespace}/ingest-worker`, reference: '0.9' }] }],
    registries: [{ url: o.registryUrl, repositories: [repo, `${demoNamespace}/storefront`] }],
    checkouts: [checkout],
    secrets: [
      ...(secretArn === undefined
        ? []
        : [{ name: demoPaymentsSecret, store: 'aws-secrets-manager', id: secretArn, rotation: 'generate', usedBy: [`workload:${demoNamespace}/Deployment/checkout`] }]),
      { name: 'NPM_TOKEN', store: 'third-party', rotation: 'manual', issuer: 'https://www.npmjs.com/settings/demo-shop/tokens', usedBy: [`workflow:${checkout}/.github/workflows/ci.yml`] },
    ],
    signingKeys: o.kms === undefined ? [] : [{ keyId: demoSigningKeyAlias, repositories: [`${registry.host}/${repo}`] }],
    blockNamespace: 'firebreak',
    canaryNamespace: 'firebreak',
  };
  const scopeFile = join(o.dir, 'supply-chain-scope.yaml');
  await writeFile(scopeFile, `# Written by \`npm start\`: the sandbox's supply-chain scope (docs/supply-chain.md).\n${stringify(scope)}`);
  return {
    scopeFile,
    badImage,
    cleanImage,
    description: `deployment ${demoNamespace}/checkout runs ${repo}:2.1 (chalk 5.6.1); ${repo}:2.2 is clean; CI checkout uses tj-actions/changed-files@v44`,
  };
}

/** Deployment, ReplicaSet and one running pod of the bad image (pod status written through the status subresource: no kubelet). */
async function seedWorkload(kc: KubeConfig, image: string, imageId: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const labels = { app: 'checkout' };
  const hash = '5c8f7d9b4';
  await ensure(() => core.createNamespacedServiceAccount({ namespace: demoNamespace, body: { metadata: { name: 'checkout' } } }));
  await ensure(() =>
    core.createNamespacedSecret({ namespace: demoNamespace, body: { metadata: { name: 'checkout-db' }, stringData: { password: 'sandbox-only' } } }),
  );
  const podSpec = {
    serviceAccountName: 'checkout',
    containers: [{ name: 'api', image, envFrom: [{ secretRef: { name: 'checkout-db' } }], ports: [{ containerPort: 8080 }] }],
  };
  await ensure(() =>
    apps.createNamespacedDeployment({
      namespace: demoNamespace,
      body: { metadata: { name: 'checkout', labels }, spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec } } },
    }),
  );
  const deployment = await apps.readNamespacedDeployment({ name: 'checkout', namespace: demoNamespace });
  const rsName = `checkout-${hash}`;
  const rsLabels = { ...labels, 'pod-template-hash': hash };
  await ensure(() =>
    apps.createNamespacedReplicaSet({
      namespace: demoNamespace,
      body: {
        metadata: {
          name: rsName,
          labels: rsLabels,
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'checkout', uid: deployment.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
        },
        spec: { replicas: 1, selector: { matchLabels: rsLabels }, template: { metadata: { labels: rsLabels }, spec: podSpec } },
      },
    }),
  );
  const rs = await apps.readNamespacedReplicaSet({ name: rsName, namespace: demoNamespace });
  const name = `${rsName}-t4v8n`;
  await ensure(() =>
    core.createNamespacedPod({
      namespace: demoNamespace,
      body: {
        metadata: {
          name,
          labels: rsLabels,
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rsName, uid: rs.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
        },
        spec: { ...podSpec, nodeName: demoNode },
      },
    }),
  );
  await markRunning(core, demoNamespace, name, { podIP: '10.244.0.20', container: { name: 'api', image, imageID: `docker-pullable://${imageId}`, containerID: `containerd://${'c'.repeat(64)}` } });
}
