/**
 * The whole world a dry run must leave as it found it, read with the real
 * clients: every Kubernetes object in a namespace (every namespaced resource
 * the API server serves, found by discovery), the Namespace object and the
 * Node, by uid and resourceVersion; and every IAM and S3 object of this file's
 * moto account, by content.
 */
import { get, type RequestOptions } from 'node:https';
import {
  GetLoginProfileCommand,
  GetGroupPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  type IAMClient,
  NoSuchEntityException,
  paginateGetGroup,
  paginateListAccessKeys,
  paginateListAttachedGroupPolicies,
  paginateListAttachedRolePolicies,
  paginateListAttachedUserPolicies,
  paginateListGroupPolicies,
  paginateListGroups,
  paginateListGroupsForUser,
  paginateListInstanceProfiles,
  paginateListMFADevices,
  paginateListPolicies,
  paginateListPolicyVersions,
  paginateListRolePolicies,
  paginateListRoles,
  paginateListUserPolicies,
  paginateListRoleTags,
  paginateListUserTags,
  paginateListUsers,
} from '@aws-sdk/client-iam';
import { ListBucketsCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { KubeConfig } from '@kubernetes/client-node';

/** One entry per object: a stable key and what identifies its exact state. */
export type World = Record<string, unknown>;

async function getJson<T>(kc: KubeConfig, path: string): Promise<T> {
  const server = new URL(kc.getCurrentCluster()!.server);
  const opts: RequestOptions = { hostname: server.hostname, port: server.port, path, method: 'GET', headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  return new Promise<T>((resolve, reject) => {
    get(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
        else resolve(JSON.parse(text) as T);
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

interface ResourceList {
  groupVersion: string;
  resources: { name: string; namespaced: boolean; verbs: string[] }[];
}
interface ObjectMeta {
  metadata: { name: string; uid: string; resourceVersion: string; deletionTimestamp?: string };
}

/** The base paths of every served group version (core first). */
async function groupVersions(kc: KubeConfig): Promise<string[]> {
  const groups = await getJson<{ groups: { versions: { groupVersion: string }[] }[] }>(kc, '/apis');
  return ['/api/v1', ...groups.groups.flatMap((g) => g.versions.map((v) => `/apis/${v.groupVersion}`))];
}

/**
 * Every object in the namespace, of every namespaced resource that can be
 * listed, plus the Namespace and the Node (when given): `<groupVersion>/<resource>/<name>`
 * → uid, resourceVersion and deletion timestamp.
 */
export async function kubernetesWorld(kc: KubeConfig, namespace: string, node?: string): Promise<World> {
  const world: World = {};
  const state = (o: ObjectMeta) => ({ uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, deletionTimestamp: o.metadata.deletionTimestamp ?? null });
  for (const base of await groupVersions(kc)) {
    const list = await getJson<ResourceList>(kc, base);
    for (const r of list.resources) {
      if (!r.namespaced || r.name.includes('/') || !r.verbs.includes('list')) continue;
      const items = await getJson<{ items: ObjectMeta[] }>(kc, `${base}/namespaces/${namespace}/${r.name}`);
      for (const o of items.items) world[`${list.groupVersion}/${r.name}/${o.metadata.name}`] = state(o);
    }
  }
  world[`v1/namespaces/${namespace}`] = state(await getJson<ObjectMeta>(kc, `/api/v1/namespaces/${namespace}`));
  if (node !== undefined) world[`v1/nodes/${node}`] = state(await getJson<ObjectMeta>(kc, `/api/v1/nodes/${node}`));
  return world;
}


async function all<P, T>(pages: AsyncIterable<P>, pick: (p: P) => T[] | undefined): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...(pick(page) ?? []));
  return out;
}

async function orNone<T>(fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof NoSuchEntityException) return null;
    throw e;
  }
}

/**
 * Every IAM object of the account — users (keys and their status, login
 * profile, MFA devices, groups, inline and attached policies), roles (trust
 * policy, inline and attached policies), groups (members, policies), customer
 * managed policies (every version), instance profiles — and every S3 bucket
 * with every object version: key → content.
 */
export async function awsWorld(iam: IAMClient, s3: S3Client): Promise<World> {
  const world: World = {};
  const c = { client: iam };
  for (const u of await all(paginateListUsers(c, {}), (p) => p.Users)) {
    const UserName = u.UserName!;
    world[`user/${UserName}`] = { arn: u.Arn, id: u.UserId, path: u.Path, boundary: u.PermissionsBoundary?.PermissionsBoundaryArn ?? null };
    for (const k of await all(paginateListAccessKeys(c, { UserName }), (p) => p.AccessKeyMetadata)) world[`user/${UserName}/access-key/${k.AccessKeyId}`] = k.Status;
    const profile = await orNone(() => iam.send(new GetLoginProfileCommand({ UserName })));
    world[`user/${UserName}/login-profile`] = profile === null ? null : { created: profile.LoginProfile?.CreateDate?.toISOString() };
    world[`user/${UserName}/mfa`] = (await all(paginateListMFADevices(c, { UserName }), (p) => p.MFADevices)).map((d) => d.SerialNumber);
    world[`user/${UserName}/tags`] = await all(paginateListUserTags(c, { UserName }), (p) => p.Tags);
    world[`user/${UserName}/groups`] = (await all(paginateListGroupsForUser(c, { UserName }), (p) => p.Groups)).map((g) => g.GroupName);
    for (const name of await all(paginateListUserPolicies(c, { UserName }), (p) => p.PolicyNames)) {
      world[`user/${UserName}/inline/${name}`] = (await iam.send(new GetUserPolicyCommand({ UserName, PolicyName: name }))).PolicyDocument;
    }
    world[`user/${UserName}/attached`] = (await all(paginateListAttachedUserPolicies(c, { UserName }), (p) => p.AttachedPolicies)).map((a) => a.PolicyArn);
  }
  for (const r of await all(paginateListRoles(c, {}), (p) => p.Roles)) {
    const RoleName = r.RoleName!;
    world[`role/${RoleName}`] = { arn: r.Arn, id: r.RoleId, trust: r.AssumeRolePolicyDocument, maxSession: r.MaxSessionDuration ?? null };
    for (const name of await all(paginateListRolePolicies(c, { RoleName }), (p) => p.PolicyNames)) {
      world[`role/${RoleName}/inline/${name}`] = (await iam.send(new GetRolePolicyCommand({ RoleName, PolicyName: name }))).PolicyDocument;
    }
    world[`role/${RoleName}/tags`] = await all(paginateListRoleTags(c, { RoleName }), (p) => p.Tags);
    world[`role/${RoleName}/attached`] = (await all(paginateListAttachedRolePolicies(c, { RoleName }), (p) => p.AttachedPolicies)).map((a) => a.PolicyArn);
  }
  for (const g of await all(paginateListGroups(c, {}), (p) => p.Groups)) {
    const GroupName = g.GroupName!;
    world[`group/${GroupName}`] = { arn: g.Arn, members: (await all(paginateGetGroup(c, { GroupName }), (p) => p.Users)).map((u) => u.UserName) };
    for (const name of await all(paginateListGroupPolicies(c, { GroupName }), (p) => p.PolicyNames)) {
      world[`group/${GroupName}/inline/${name}`] = (await iam.send(new GetGroupPolicyCommand({ GroupName, PolicyName: name }))).PolicyDocument;
    }
    world[`group/${GroupName}/attached`] = (await all(paginateListAttachedGroupPolicies(c, { GroupName }), (p) => p.AttachedPolicies)).map((a) => a.PolicyArn);
  }
  for (const p of await all(paginateListPolicies(c, { Scope: 'Local' }), (x) => x.Policies)) {
    const PolicyArn = p.Arn!;
    world[`policy/${PolicyArn}`] = { defaultVersion: p.DefaultVersionId, attachments: p.AttachmentCount };
    for (const v of await all(paginateListPolicyVersions(c, { PolicyArn }), (x) => x.Versions)) {
      world[`policy/${PolicyArn}/${v.VersionId}`] = (await iam.send(new GetPolicyVersionCommand({ PolicyArn, VersionId: v.VersionId! }))).PolicyVersion?.Document;
    }
  }
  for (const ip of await all(paginateListInstanceProfiles(c, {}), (p) => p.InstanceProfiles)) {
    world[`instance-profile/${ip.InstanceProfileName}`] = ip.Roles?.map((r) => r.RoleName);
  }
  for (const b of (await s3.send(new ListBucketsCommand({}))).Buckets ?? []) {
    const Bucket = b.Name!;
    world[`s3/${Bucket}`] = { created: b.CreationDate?.toISOString() };
    let marker: { KeyMarker?: string; VersionIdMarker?: string } = {};
    for (;;) {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket, ...marker }));
      for (const v of page.Versions ?? []) world[`s3/${Bucket}/${v.Key}@${v.VersionId}`] = { etag: v.ETag, size: v.Size };
      for (const m of page.DeleteMarkers ?? []) world[`s3/${Bucket}/${m.Key}@${m.VersionId}`] = 'delete-marker';
      if (page.IsTruncated !== true) break;
      marker = { ...(page.NextKeyMarker === undefined ? {} : { KeyMarker: page.NextKeyMarker }), ...(page.NextVersionIdMarker === undefined ? {} : { VersionIdMarker: page.NextVersionIdMarker }) };
    }
  }
  return world;
}

/** What differs between two worlds: each key added, removed or changed, with both states. */
export function differences(before: World, after: World): { key: string; before: unknown; after: unknown }[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => ({ key: k, before: before[k] ?? 'absent', after: after[k] ?? 'absent' }));
}
