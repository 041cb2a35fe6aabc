/**
 * Shared by the supply-chain runbook tests: an estate per test (a namespace
 * with a Deployment, its ReplicaSet and a running pod on a bad digest, a
 * Secret it reads), SBOM files naming the digest, and a scope object the
 * worker reads at each call, so each test adds its own SBOM directory,
 * registries, inventory and keys to one worker's scope.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { SupplyChainScope } from '../../activities/supply-chain/index.ts';
import { emptyScope } from '../../src/config/scope.ts';
import { openIncident } from '../../src/incidents/open.ts';
import type { RunbookPolicy } from '../../src/runbooks/schema.ts';
import type { IncidentInput, Target } from '../../workflows/engine/types.ts';
import { kubeConfig, testNamespace, uniqueName } from '../support/servers.ts';

export const core = () => kubeConfig().makeApiClient(CoreV1Api);
export const apps = () => kubeConfig().makeApiClient(AppsV1Api);

/** One mutable scope for the file's worker: tests append to it before they start an incident. The block namespace is the other block tests' (one per cluster). */
export function sharedScope(): SupplyChainScope {
  return structuredClone({ ...emptyScope, blockNamespace: 'firebreak-blocks', canaryNamespace: 'firebreak-blocks' });
}

export const digestOf = (seed: string) => `sha256:${Buffer.from(`${seed}................................`).toString('hex').slice(0, 64)}`;

export function cyclonedx(name: string, digest: string, chalk: string): string {
  return JSON.stringify({
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    metadata: { component: { type: 'container', name, version: digest } },
    components: [{ type: 'library', name: 'chalk', version: chalk, purl: `pkg:npm/chalk@${chalk}` }],
  });
}

export interface Estate {
  namespace: string;
  deployment: string;
  pod: string;
  image: string;
  digest: string;
  cleanImage: string;
  repository: string;
}

/**
 * A namespace with Deployment `web` (2 replicas) on `repository@digest`, its
 * ReplicaSet, one running pod whose status imageID is the digest, and the
 * Secret `web-db` the pod reads; SBOM files for the bad and a clean digest in `sbomDir`.
 */
export async function seedEstate(sbomDir: string, opts: { imageIdForm?: 'docker-pullable' | 'plain' } = {}): Promise<Estate> {
  const namespace = await testNamespace('supply');
  const repository = `registry.test/${namespace}/web`;
  const digest = digestOf(`${namespace}-bad`);
  const clean = digestOf(`${namespace}-good`);
  const image = `${repository}@${digest}`;
  await mkdir(sbomDir, { recursive: true });
  await writeFile(join(sbomDir, `${namespace}-bad.cdx.json`), cyclonedx(repository, digest, '5.6.1'));
  await writeFile(join(sbomDir, `${namespace}-good.cdx.json`), cyclonedx(repository, clean, '5.6.2'));

  const labels = { app: 'web' };
  const spec = { containers: [{ name: 'main', image, envFrom: [{ secretRef: { name: 'web-db' } }] }] };
  await core().createNamespacedSecret({ namespace, body: { metadata: { name: 'web-db' }, stringData: { password: 'test-only' } } });
  const d = await apps().createNamespacedDeployment({
    namespace,
    body: { metadata: { name: 'web', labels }, spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec } } },
  });
  const rs = await apps().createNamespacedReplicaSet({
    namespace,
    body: {
      metadata: { name: 'web-6d4f', labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d.metadata!.uid!, controller: true }] },
      spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec } },
    },
  });
  const pod = 'web-6d4f-x1';
  const created = await core().createNamespacedPod({
    namespace,
    body: {
      metadata: { name: pod, labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-6d4f', uid: rs.metadata!.uid!, controller: true }] },
      spec,
    },
  });
  const imageID = opts.imageIdForm === 'plain' ? image : `docker-pullable://${image}`;
  await core().replaceNamespacedPodStatus({
    name: pod,
    namespace,
    body: { ...created, status: { phase: 'Running', containerStatuses: [{ name: 'main', ready: true, restartCount: 0, image, imageID }] } },
  });
  return { namespace, deployment: 'web', pod, image, digest, cleanImage: `${repository}@${clean}`, repository };
}

export function supplyChainInput(policy: RunbookPolicy, targets: Target[], extra: Partial<IncidentInput> = {}): Omit<IncidentInput, 'incidentId'> {
  return {
    policy,
    groups: {},
    requester: 'cli:alice',
    mode: 'live',
    trigger: { source: 'cli', severity: 'critical', summary: 'supply-chain test', receivedAt: '2026-12-03T10:00:00.000Z' },
    targets,
    autoContainSteps: [],
    ...extra,
  };
}

export async function startSupplyChain(client: Client, taskQueue: string, input: Omit<IncidentInput, 'incidentId'>): Promise<WorkflowHandle> {
  const { incidentId } = await openIncident(client, { workflowType: 'supplyChain', taskQueue, correlationKey: uniqueName('supply'), input });
  return client.workflow.getHandle(incidentId);
}
