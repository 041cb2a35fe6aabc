/**
 * The supply-chain runbook's registry activities against the real `registry`
 * binary (distribution v3, deletes enabled by the sandbox) and moto's ECR:
 * which tags point at affected digests, the manifests and tag listing sealed
 * as served, untagging and its undo, dry-run sending no write.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEvidenceStore } from '../../activities/evidence/index.ts';
import { createRegistryActivities, registryFailure, type TagRef } from '../../activities/registry/index.ts';
import { tempDir } from '../evidence/helpers.ts';
import { refusal } from '../support/failures.ts';
import { TestRegistry, type Descriptor } from '../support/registry.ts';
import { awsClient, sandbox, uniqueName } from '../support/servers.ts';

const registry = new TestRegistry();
const url = sandbox().registryUrl;
const ecr = awsClient(ECRClient);
const linux = { os: 'linux', architecture: 'amd64' };

/** Every request the registry sees from the activities, as `METHOD path`. */
const requests: string[] = [];
const realFetch = globalThis.fetch;
async function counting<T>(fn: () => Promise<T>): Promise<T> {
  requests.length = 0;
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const u = new URL(input instanceof Request ? input.url : input);
    requests.push(`${init?.method ?? 'GET'} ${u.pathname}`);
    return realFetch(input, init);
  });
  try {
    return await fn();
  } finally {
    globalThis.fetch = realFetch;
  }
}

async function activities(extra: { registryPageSize?: number } = {}) {
  const dir = await tempDir('registry');
  const evidence = new LocalEvidenceStore(dir);
  return { evidence, acts: createRegistryActivities({ evidence, ecr, ...extra }) };
}

/** What the tag resolves to now, as a client pulling it would see. */
async function tagDigest(repo: string, tag: string): Promise<string | undefined> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' } });
  return res.ok ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
}

const repoName = () => `shop/${uniqueName('web')}`.toLowerCase();

describe('finding the tags on affected digests', () => {
  let repo: string;
  let bad: Descriptor;
  let good: Descriptor;
  let multi: { index: Descriptor; platforms: Descriptor[] };
  beforeAll(async () => {
    repo = repoName();
    bad = await registry.image(repo, linux, 'v1.2.3');
    // A second tag on the same image: the pusher serialises as it did, so the bytes (and digest) are the same.
    const doc = (await (await fetch(`${url}/v2/${repo}/manifests/${bad.digest}`, { headers: { accept: bad.mediaType } })).json()) as object;
    expect((await registry.manifest(repo, doc, 'latest')).digest).toBe(bad.digest);
    good = await registry.image(repo, linux, 'v1.2.4');
    multi = await registry.multiArch(repo, 'multi', [linux, { os: 'linux', architecture: 'arm64' }]);
  });

  it('finds every tag pointing at an affected digest and not the tag on a clean one', async () => {
    const { acts } = await activities();
    const { tags, problems } = await acts.findTags({ registries: [{ url, repositories: [repo] }], digests: [bad.digest] });
    expect(tags.map((t) => `${t.tag}@${t.digest}`)).toEqual([`latest@${bad.digest}`, `v1.2.3@${bad.digest}`]);
    expect(tags.map((t) => t.tag)).not.toContain('v1.2.4');
    expect(problems).toEqual([]);
    expect(good.digest).not.toBe(bad.digest);
  });

  it('counts a tag on an image index when one of its platform manifests is affected', async () => {
    const { acts } = await activities();
    const arm = multi.platforms[1]!.digest;
    const { tags } = await acts.findTags({ registries: [{ url, repositories: [repo] }], digests: [arm] });
    expect(tags).toEqual([{ registry: url, repository: repo, tag: 'multi', digest: multi.index.digest, mediaType: 'application/vnd.oci.image.index.v1+json', matched: [arm] }]);
  });

  it('follows the tag list pagination to the last page', async () => {
    const { acts } = await activities({ registryPageSize: 1 });
    const { tags } = await acts.findTags({ registries: [{ url, repositories: [repo] }], digests: [bad.digest, good.digest] });
    expect(tags.map((t) => t.tag)).toEqual(['latest', 'v1.2.3', 'v1.2.4']);
  });

  it('reports a repository the registry does not have as a problem, not as clean', async () => {
    const { acts } = await activities();
    const { tags, problems } = await acts.findTags({ registries: [{ url, repositories: ['shop/never-pushed'] }], digests: [bad.digest] });
    expect(tags).toEqual([]);
    expect(problems).toEqual([expect.stringContaining('shop/never-pushed: no such repository')]);
  });

  it('refuses a crafted repository before any request', async () => {
    const { acts } = await activities();
    const f = await counting(() => refusal(() => acts.findTags({ registries: [{ url, repositories: ['../../v2/_catalog'] }], digests: [bad.digest] })));
    expect(f.type).toBe(registryFailure.invalidName);
    expect(requests).toEqual([]);
  });
});

describe('finding the tags in ECR', () => {
  it('lists the ECR tags on an affected digest', async () => {
    const name = uniqueName('ecr/app').toLowerCase();
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'1'.repeat(64)}`, size: 2 }, layers: [] });
    const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
    // moto computes ECR image digests wrongly unless PutImage is given imageDigest: seeded with the real one.
    await ecr.send(new PutImageCommand({ repositoryName: name, imageManifest: manifest, imageTag: 'prod', imageDigest: digest }));
    const { acts } = await activities();
    const { tags, problems } = await acts.findTags({ registries: [], ecr: { repositories: [name, 'ecr/not-there'] }, digests: [digest] });
    expect(tags).toEqual([{ registry: 'ecr', repository: name, tag: 'prod', digest, matched: [digest] }]);
    expect(problems).toEqual([expect.stringContaining('ecr/not-there')]);
  });
});

describe('registry evidence', () => {
  it('seals each affected manifest as served, by digest, and the tag listing', async () => {
    const repo = repoName();
    const img = await registry.image(repo, linux, 'v1');
    const { acts, evidence } = await activities();
    const tag: TagRef = { registry: url, repository: repo, tag: 'v1', digest: img.digest };
    const { refs } = await acts.captureRegistryEvidence({ incidentId: 'sc-reg-1', tags: [tag], digests: [{ registry: url, repository: repo, digest: img.digest }] });
    expect(refs.map((r) => r.name)).toEqual([`registry manifest ${url}/${repo}@${img.digest}`, 'registry tags.json']);
    expect(`sha256:${refs[0]!.sha256}`).toBe(img.digest);
    const listing = JSON.parse(await readFile(fileURLToPath(refs[1]!.uri), 'utf8')) as { tags: TagRef[] };
    expect(listing.tags).toEqual([tag]);
    expect((await evidence.verify('sc-reg-1')).ok).toBe(true);
  });
});

describe('untagging and restoring', () => {
  it('moves the tag off the bad digest and keeps the manifest stored by digest', async () => {
    const repo = repoName();
    const img = await registry.image(repo, linux, 'v1');
    const { acts } = await activities();
    const r = await acts.untagImage({ incidentId: 'sc-reg-2', tag: { registry: url, repository: repo, tag: 'v1', digest: img.digest }, mode: 'live' });
    expect(r.outcome).toBe('changed');
    expect(await tagDigest(repo, 'v1')).toBeUndefined();
    expect(await tagDigest(repo, img.digest)).toBe(img.digest);
  });

  it('leaves a tag alone that was pushed onto another digest since', async () => {
    const repo = repoName();
    const img = await registry.image(repo, linux, 'v1');
    const newer = await registry.image(repo, linux, 'v1');
    const { acts } = await activities();
    const r = await acts.untagImage({ incidentId: 'sc-reg-3', tag: { registry: url, repository: repo, tag: 'v1', digest: img.digest }, mode: 'live' });
    expect(r).toMatchObject({ outcome: 'already-done', detail: expect.stringContaining('changed since') });
    expect(await tagDigest(repo, 'v1')).toBe(newer.digest);
  });

  it('untags once when the activity is retried: the retry finds the tag gone', async () => {
    const repo = repoName();
    const img = await registry.image(repo, linux, 'v1');
    const { acts } = await activities();
    const tag = { registry: url, repository: repo, tag: 'v1', digest: img.digest };
    await acts.untagImage({ incidentId: 'sc-reg-9', tag, mode: 'live' });
    expect((await acts.untagImage({ incidentId: 'sc-reg-9', tag, mode: 'live' })).outcome).toBe('already-done');
  });

  it('restores nothing in dry-run: no PUT reaches the registry', async () => {
    const repo = repoName();
    const img = await registry.image(repo, linux, 'v1');
    const { acts } = await activities();
    const tag = { registry: url, repository: repo, tag: 'v1', digest: img.digest };
    await acts.untagImage({ incidentId: 'sc-reg-10', tag, mode: 'live' });
    const said = await counting(() => acts.restoreTag({ incidentId: 'sc-reg-10', tag, mode: 'dry-run' }));
    expect(said).toContain('dry-run (nothing sent to the registry)');
    expect(requests.filter((q) => q.startsWith('PUT'))).toEqual([]);
    expect(await tagDigest(repo, 'v1')).toBeUndefined();
  });

  it('restores the tag on the digest it had', async () => {
    const repo = repoName();
    const img = await registry.image(repo, linux, 'v1');
    const { acts } = await activities();
    const tag = { registry: url, repository: repo, tag: 'v1', digest: img.digest };
    await acts.untagImage({ incidentId: 'sc-reg-4', tag, mode: 'live' });
    await acts.restoreTag({ incidentId: 'sc-reg-4', tag, mode: 'live' });
    expect(await tagDigest(repo, 'v1')).toBe(img.digest);
  });

  it('does not restore over a tag pushed again since', async () => {
    const repo = repoName();
    const img = await registry.image(repo, linux, 'v1');
    const { acts } = await activities();
    const tag = { registry: url, repository: repo, tag: 'v1', digest: img.digest };
    await acts.untagImage({ incidentId: 'sc-reg-5', tag, mode: 'live' });
    const fixed = await registry.image(repo, linux, 'v1');
    const f = await refusal(() => acts.restoreTag({ incidentId: 'sc-reg-5', tag, mode: 'live' }));
    expect(f.type).toBe(registryFailure.rollbackUnsafe);
    expect(await tagDigest(repo, 'v1')).toBe(fixed.digest);
  });

  it('changes nothing in dry-run: no DELETE reaches the registry', async () => {
    const repo = repoName();
    const img = await registry.image(repo, linux, 'v1');
    const { acts } = await activities();
    const r = await counting(() => acts.untagImage({ incidentId: 'sc-reg-6', tag: { registry: url, repository: repo, tag: 'v1', digest: img.digest }, mode: 'dry-run' }));
    expect(r.detail).toContain('dry-run (nothing sent to the registry)');
    expect(requests.filter((q) => !q.startsWith('HEAD') && !q.startsWith('GET'))).toEqual([]);
    expect(await tagDigest(repo, 'v1')).toBe(img.digest);
  });

  it('refuses an ECR tag: ECR is blocked by tag immutability instead', async () => {
    const { acts } = await activities();
    const f = await refusal(() => acts.untagImage({ incidentId: 'sc-reg-7', tag: { registry: 'ecr', repository: 'shop/web', tag: 'v1', digest: `sha256:${'a'.repeat(64)}` }, mode: 'live' }));
    expect(f.type).toBe(registryFailure.invalidTarget);
  });
});

describe('a registry that refuses the worker', () => {
  // A registry whose credentials may pull manifests but not list tags or delete: the answers a read-only token gets.
  const stubDigest = `sha256:${'c'.repeat(64)}`;
  let stub: string;
  beforeAll(async () => {
    const server = createServer((req, res) => {
      if (req.url?.includes('/tags/list')) res.writeHead(401).end();
      else if (req.method === 'HEAD') res.writeHead(200, { 'docker-content-digest': stubDigest, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end();
      else res.writeHead(403).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stub = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  });

  it('reports a refused tag list as a problem naming the request, not as clean', async () => {
    const { acts } = await activities();
    const { tags, problems } = await acts.findTags({ registries: [{ url: stub, repositories: ['shop/web'] }], digests: [stubDigest] });
    expect(tags).toEqual([]);
    expect(problems).toEqual([expect.stringContaining(`refused GET ${stub}/v2/shop/web/tags/list`)]);
  });

  it('fails an untag it may not send as refused, naming the verb and the tag, not retried', async () => {
    const { acts } = await activities();
    const f = await refusal(() => acts.untagImage({ incidentId: 'sc-reg-8', tag: { registry: stub, repository: 'shop/web', tag: 'v1', digest: stubDigest }, mode: 'live' }));
    expect(f).toMatchObject({ type: registryFailure.refused, nonRetryable: true });
    expect(f.message).toContain(`DELETE ${stub}/v2/shop/web/manifests/v1`);
  });
});
