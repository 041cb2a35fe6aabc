/**
 * Seeds the local sandbox with a small, realistic estate to run runbooks
 * against: a shop workload in Kubernetes (no kubelet runs, so pod status is
 * written through the status subresource), a CI deployer user in AWS, and
 * images with SBOMs in the OCI registry.
 */
import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  EntityAlreadyExistsException,
  GetUserCommand,
  type IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import type { CloudTrailRecord } from './cloudtrail.ts';
import { OciPusher } from './oci.ts';
import { ApiException, AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';

export const demoNamespace = 'demo-shop';
export const demoNode = 'sandbox-node-1';
export const demoIamUser = 'demo-ci-deployer';

/** Creates an object unless it exists already (409), so seeding can run again. */
async function ensure<T>(create: () => Promise<T>): Promise<void> {
  try {
    await create();
  } catch (e) {
    if (e instanceof ApiException && e.code === 409) return;
    throw e;
  }
}

export interface DemoWorkload {
  namespace: string;
  deployment: string;
  pods: string[];
  node: string;
}

/** Writes a running, ready status for a seeded pod through the status subresource (no kubelet runs in the sandbox). */
export async function markRunning(
  core: CoreV1Api,
  namespace: string,
  name: string,
  o: { podIP: string; container: { name: string; image: string; imageID: string; containerID: string } },
): Promise<void> {
  const pod: V1Pod = await core.readNamespacedPod({ name, namespace });
  const now = new Date();
  await core.replaceNamespacedPodStatus({
    name,
    namespace,
    body: {
      ...pod,
      status: {
        phase: 'Running',
        podIP: o.podIP,
        hostIP: '10.0.0.10',
        startTime: now,
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
        containerStatuses: [{ ...o.container, ready: true, restartCount: 0, state: { running: { startedAt: now } } }],
      },
    },
  });
}

export async function seedKubernetes(kc: KubeConfig): Promise<DemoWorkload> {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const labels = { app: 'storefront', tier: 'web' };
  const hash = '7d9c6b5f8';

  await ensure(() =>
    core.createNode({
      body: { metadata: { name: demoNode, labels: { 'kubernetes.io/hostname': demoNode } } },
    }),
  );
  await core.replaceNodeStatus({
    name: demoNode,
    body: {
      ...(await core.readNode({ name: demoNode })),
      status: {
        conditions: [
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'sandbox node (no kubelet runs)' },
        ],
        nodeInfo: {
          architecture: 'amd64',
          bootID: '',
          containerRuntimeVersion: 'containerd://1.7.0',
          kernelVersion: '6.1.0',
          kubeProxyVersion: '',
          kubeletVersion: 'v1.34.4',
          machineID: '',
          operatingSystem: 'linux',
          osImage: 'Debian GNU/Linux 12 (bookworm)',
          systemUUID: '',
        },
      },
    },
  });

  await ensure(() => core.createNamespace({ body: { metadata: { name: demoNamespace } } }));
  await ensure(() =>
    core.createNamespacedServiceAccount({ namespace: demoNamespace, body: { metadata: { name: 'storefront' } } }),
  );
  await ensure(() =>
    core.createNamespacedService({
      namespace: demoNamespace,
      body: {
        metadata: { name: 'storefront', labels },
        spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    }),
  );
  const podSpec = {
    serviceAccountName: 'storefront',
    containers: [
      {
        name: 'web',
        image: 'ghcr.io/example/storefront@sha256:4f1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b',
        ports: [{ containerPort: 8080 }],
      },
    ],
  };
  await ensure(() =>
    apps.createNamespacedDeployment({
      namespace: demoNamespace,
      body: {
        metadata: { name: 'storefront', labels },
        spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec } },
      },
    }),
  );
  const deployment = await apps.readNamespacedDeployment({ name: 'storefront', namespace: demoNamespace });
  const rsName = `storefront-${hash}`;
  await ensure(() =>
    apps.createNamespacedReplicaSet({
      namespace: demoNamespace,
      body: {
        metadata: {
          name: rsName,
          labels: { ...labels, 'pod-template-hash': hash },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: 'storefront',
              uid: deployment.metadata!.uid!,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: {
          replicas: 2,
          selector: { matchLabels: { ...labels, 'pod-template-hash': hash } },
          template: { metadata: { labels: { ...labels, 'pod-template-hash': hash } }, spec: podSpec },
        },
      },
    }),
  );
  const rs = await apps.readNamespacedReplicaSet({ name: rsName, namespace: demoNamespace });
  const pods = [`${rsName}-x7k2p`, `${rsName}-q9m4d`];
  for (const [i, name] of pods.entries()) {
    await ensure(() =>
      core.createNamespacedPod({
        namespace: demoNamespace,
        body: {
          metadata: {
            name,
            labels: { ...labels, 'pod-template-hash': hash },
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'ReplicaSet',
                name: rsName,
                uid: rs.metadata!.uid!,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: { ...podSpec, nodeName: demoNode },
        },
      }),
    );
    await markRunning(core, demoNamespace, name, {
      podIP: `10.244.0.${10 + i}`,
      container: { name: 'web', image: podSpec.containers[0]!.image, imageID: podSpec.containers[0]!.image, containerID: `containerd://${(i + 1).toString(16).padStart(64, 'a')}` },
    });
  }
  return { namespace: demoNamespace, deployment: 'storefront', pods, node: demoNode };
}

export interface DemoAws {
  user: string;
  accessKeyId: string;
  account: string;
  /** What the demo "attacker" did with the leaked key: a second key, a user with an admin policy. */
  attackerKeyId: string;
  attackerUser: string;
  attackerPolicyArn: string;
}

export const demoAttackerUser = 'svc-backup-sync';

async function ensureIam(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (e) {
    if (!(e instanceof EntityAlreadyExistsException)) throw e;
  }
}

/**
 * Creates the demo IAM user with a console password and its access key, and
 * what a demo attacker made with that key: a second access key for the user,
 * a new user with an admin policy attached (once; the CloudTrail demo events
 * tell the story, see demoCloudTrailEvents).
 */
export async function seedAws(iam: IAMClient): Promise<DemoAws> {
  await ensureIam(() => iam.send(new CreateUserCommand({ UserName: demoIamUser, Path: '/ci/' })));
  await ensureIam(() => iam.send(new CreateLoginProfileCommand({ UserName: demoIamUser, Password: `Sandbox-${Date.now()}-pw!`, PasswordResetRequired: true })));
  const account = (await iam.send(new GetUserCommand({ UserName: demoIamUser }))).User?.Arn?.split(':')[4] ?? '123456789012';
  let keys = (await iam.send(new ListAccessKeysCommand({ UserName: demoIamUser }))).AccessKeyMetadata ?? [];
  while (keys.length < 2) {
    await iam.send(new CreateAccessKeyCommand({ UserName: demoIamUser }));
    keys = (await iam.send(new ListAccessKeysCommand({ UserName: demoIamUser }))).AccessKeyMetadata ?? [];
  }
  await ensureIam(() => iam.send(new CreateUserCommand({ UserName: demoAttackerUser })));
  const policyName = 'backup-sync-full-access';
  const attackerPolicyArn = `arn:aws:iam::${account}:policy/${policyName}`;
  await ensureIam(() =>
    iam.send(
      new CreatePolicyCommand({
        PolicyName: policyName,
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
      }),
    ),
  );
  await iam.send(new AttachUserPolicyCommand({ UserName: demoAttackerUser, PolicyArn: attackerPolicyArn }));
  return {
    user: demoIamUser,
    accessKeyId: keys[0]!.AccessKeyId!,
    account,
    attackerKeyId: keys[1]!.AccessKeyId!,
    attackerUser: demoAttackerUser,
    attackerPolicyArn,
  };
}

/** CloudTrail records of the demo story: the leaked key used from outside, a key and an admin user made with it. */
export function demoCloudTrailEvents(demo: DemoAws, now = Date.now()): CloudTrailRecord[] {
  const identity = {
    type: 'IAMUser',
    principalId: 'AIDASANDBOXDEMO00001',
    arn: `arn:aws:iam::${demo.account}:user/ci/${demo.user}`,
    accountId: demo.account,
    accessKeyId: demo.accessKeyId,
    userName: demo.user,
  };
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
  const base = { eventVersion: '1.09', awsRegion: 'us-east-1', sourceIPAddress: '198.51.100.23', userAgent: 'aws-cli/2.17.0', userIdentity: identity };
  return [
    { ...base, eventTime: at(95), eventSource: 'sts.amazonaws.com', eventName: 'GetCallerIdentity', readOnly: true, requestParameters: null, responseElements: null },
    { ...base, eventTime: at(93), eventSource: 's3.amazonaws.com', eventName: 'ListBuckets', readOnly: true, requestParameters: null, responseElements: null },
    { ...base, eventTime: at(90), eventSource: 'iam.amazonaws.com', eventName: 'ListUsers', readOnly: true, requestParameters: null, responseElements: null },
    {
      ...base,
      eventTime: at(88),
      eventSource: 'iam.amazonaws.com',
      eventName: 'CreateAccessKey',
      readOnly: false,
      requestParameters: { userName: demo.user },
      responseElements: { accessKey: { accessKeyId: demo.attackerKeyId, status: 'Active', userName: demo.user, createDate: at(88) } },
    },
    { ...base, eventTime: at(85), eventSource: 'iam.amazonaws.com', eventName: 'CreateUser', readOnly: false, requestParameters: { userName: demo.attackerUser }, responseElements: { user: { userName: demo.attackerUser } } },
    {
      ...base,
      eventTime: at(84),
      eventSource: 'iam.amazonaws.com',
      eventName: 'AttachUserPolicy',
      readOnly: false,
      requestParameters: { userName: demo.attackerUser, policyArn: demo.attackerPolicyArn },
      responseElements: null,
    },
  ];
}

/** A CycloneDX SBOM of the storefront; on amd64 it carries chalk 5.6.1, from the 2025-09-08 npm compromise. */
function storefrontSbom(chalk: string): string {
  return JSON.stringify({
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    metadata: { component: { type: 'container', name: `${demoNamespace}/storefront`, version: '1.0' } },
    components: [
      { type: 'library', name: 'chalk', version: chalk, purl: `pkg:npm/chalk@${chalk}` },
      { type: 'library', name: 'debug', version: '4.4.1', purl: 'pkg:npm/debug@4.4.1' },
    ],
  });
}

/**
 * Pushes `demo-shop/storefront:1.0` (linux/amd64 and linux/arm64, an SBOM
 * attached to each platform) and `demo-shop/ingest-worker:0.9` (no SBOM), so
 * the registry source has an index to resolve and an image to list as "no SBOM".
 */
export async function seedRegistry(url: string): Promise<{ images: string[]; description: string }> {
  const registry = new OciPusher(url);
  const repo = `${demoNamespace}/storefront`;
  const { platforms } = await registry.multiArch(repo, '1.0', [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' },
  ]);
  await registry.attachSbom(repo, platforms[0]!, storefrontSbom('5.6.1'), 'application/vnd.cyclonedx+json');
  await registry.attachSbom(repo, platforms[1]!, storefrontSbom('5.6.0'), 'application/vnd.cyclonedx+json');
  await registry.image(`${demoNamespace}/ingest-worker`, { os: 'linux', architecture: 'amd64' }, '0.9');
  const images = [`${repo}:1.0`, `${demoNamespace}/ingest-worker:0.9`];
  return { images, description: `demo images ${images.join(', ')}; SBOMs attached as OCI referrers` };
}
