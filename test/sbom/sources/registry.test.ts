/**
 * The registry source against the real `registry` binary of distribution
 * v3.1.2 on loopback. That registry has no referrers API (it answers
 * GET /v2/<name>/referrers/<digest> with 404 and never returns OCI-Subject on
 * a push), so every SBOM here is found through the referrers tag schema; the
 * first test pins that, so a registry upgrade that adds the API shows up.
 * The API path is tested through a stand-in in front of the same registry
 * (test/support/referrers-api.ts) that answers only the referrers endpoint.
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { readOsvFile } from '../../../activities/sbom/advisories.ts';
import { AdvisoryIndex, Matcher } from '../../../activities/sbom/matcher.ts';
import { registrySource, scanSource, type RegistryImage, type SbomEntry } from '../../../activities/sbom/sources/index.ts';
import { referrersApiInFront } from '../../support/referrers-api.ts';
import { TestRegistry } from '../../support/registry.ts';
import { uniqueName } from '../../support/servers.ts';

const registry = new TestRegistry();
const cyclonedx = 'application/vnd.cyclonedx+json';
const spdx = 'application/spdx+json';
let storefrontSbom: string;
let alpineSbom: string;

beforeAll(async () => {
  storefrontSbom = await readFile('test/sbom/fixtures/sboms/syft-cyclonedx-storefront.json', 'utf8');
  alpineSbom = await readFile('test/sbom/fixtures/sboms/trivy-spdx-alpine.json', 'utf8');
});

async function chalkMatcher(digests: string[] = []): Promise<Matcher> {
  const advisories = await readOsvFile('test/sbom/fixtures/advisories/npm-qix-compromise-2025-09-08.json');
  return new Matcher(new AdvisoryIndex({ advisories, digests }));
}

const repo = (name: string): string => `${uniqueName('shop').toLowerCase()}/${name}`;
const source = (images: RegistryImage[]) => registrySource({ url: registry.url, images });

async function entries(images: RegistryImage[]) {
  const all = [];
  for await (const e of source(images).list()) all.push(e);
  return all;
}

describe('the OCI registry SBOM source (distribution v3.1.2)', () => {
  it('finds SBOM referrers through the tag schema, because this registry answers the referrers API with 404', async () => {
    const name = repo('api');
    const image = await registry.image(name, { os: 'linux', architecture: 'amd64' }, '1.0');
    const attached = await registry.attachSbom(name, image, storefrontSbom, cyclonedx);

    const api = await fetch(`${registry.url}/v2/${name}/referrers/${image.digest}`);
    await api.body?.cancel();
    const found = (await entries([{ repository: name, reference: '1.0' }])).filter((e): e is SbomEntry => e.kind === 'sbom');

    expect(api.status).toBe(404);
    expect(attached.listedInTagSchema).toBe(true); // the push got no OCI-Subject header back
    expect(found.map((e) => [e.name, e.found])).toEqual([[`${registry.host}/${name}@${attached.digest}`, 'referrers tag schema']]);
  });

  it('resolves an image index to its platform manifests, and a match on one names the index and the platform digest', async () => {
    const name = repo('storefront');
    const { index, platforms } = await registry.multiArch(name, '2.4.0', [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);
    const [amd64, arm64] = platforms as [(typeof platforms)[0], (typeof platforms)[0]];
    await registry.attachSbom(name, amd64, storefrontSbom, cyclonedx);
    await registry.attachSbom(name, arm64, alpineSbom, spdx);
    const m = await chalkMatcher();

    const summary = await scanSource(source([{ repository: name, reference: '2.4.0' }]), m);
    const r = m.result();

    expect(r.counts).toMatchObject({ sboms: 2, unreadable: 0 });
    expect(summary.noSbom).toEqual([]);
    const chalk = r.affected.find((a) => a.name === 'chalk');
    expect(chalk?.subject).toBe(`${registry.host}/${name}:2.4.0 index ${index.digest} platform linux/amd64 ${amd64.digest}`);
    expect(r.affected.every((a) => !a.subject.includes(arm64.digest))).toBe(true); // the arm64 SBOM has no chalk
  });

  it('matches an image digest given by a responder against the index and against the platform', async () => {
    const name = repo('digest');
    const { index, platforms } = await registry.multiArch(name, 'v1', [{ os: 'linux', architecture: 'amd64' }]);
    await registry.attachSbom(name, platforms[0]!, alpineSbom, spdx);

    const byIndex = await chalkMatcher([index.digest]);
    await scanSource(source([{ repository: name, reference: 'v1' }]), byIndex);
    const byPlatform = await chalkMatcher([platforms[0]!.digest]);
    await scanSource(source([{ repository: name, reference: index.digest }]), byPlatform);

    expect(byIndex.result().affected.map((a) => a.matched)).toEqual([`image digest ${index.digest}`]);
    expect(byPlatform.result().affected.map((a) => a.matched)).toEqual([`image digest ${platforms[0]!.digest}`]);
  });

  it('lists an image without an SBOM as "no SBOM", not as clean, and ignores referrers that are not SBOMs', async () => {
    const name = repo('worker');
    const signed = await registry.image(name, { os: 'linux', architecture: 'amd64' }, 'signed-only');
    await registry.attachSbom(name, signed, '{"critical":{}}', 'application/vnd.dev.sigstore.bundle.v0.3+json');
    const { platforms } = await registry.multiArch(name, 'multi', [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);
    await registry.attachSbom(name, platforms[0]!, alpineSbom, spdx);
    const m = await chalkMatcher();

    const summary = await scanSource(source([{ repository: name, reference: 'signed-only' }, { repository: name, reference: 'multi' }]), m);

    expect(summary.noSbom.map((n) => n.name)).toEqual([`${registry.host}/${name}:signed-only`, `${registry.host}/${name}:multi linux/arm64`]);
    expect(summary.noSbom[1]?.subject.digests).toContain(platforms[1]!.digest);
    expect(m.result().counts.sboms).toBe(1); // control: the amd64 platform's SBOM was read
  });

  it('reports a tag the registry does not have as unreadable by its name and scans the other images', async () => {
    const name = repo('gone');
    const image = await registry.image(name, { os: 'linux', architecture: 'amd64' }, 'present');
    await registry.attachSbom(name, image, storefrontSbom, cyclonedx);
    const m = await chalkMatcher();

    await scanSource(source([{ repository: name, reference: 'missing' }, { repository: name, reference: 'present' }]), m);
    const r = m.result();

    expect(r.unreadable).toEqual([{ sbom: `${registry.host}/${name}:missing`, problem: 'not found in the registry: check the repository and tag' }]);
    expect(r.affected.map((a) => a.name)).toContain('chalk');
  });

  it('reports an image reference that is not a valid repository or tag by name, without asking the registry for it', async () => {
    const name = repo('valid');
    const image = await registry.image(name, { os: 'linux', architecture: 'amd64' }, 'ok');
    await registry.attachSbom(name, image, storefrontSbom, cyclonedx);

    const found = await entries([{ repository: 'Shop/../etc', reference: 'latest' }, { repository: name, reference: 'ok' }]);

    expect(found.map((e) => [e.kind, e.name])).toEqual([
      ['unreadable', `${registry.host}/Shop/../etc:latest`],
      ['sbom', expect.stringContaining(`${registry.host}/${name}@sha256:`)],
    ]);
    expect(found[0]).toMatchObject({ problem: expect.stringMatching(/^not an image reference: repository: a repository name/) });
  });

  it('uses the referrers API where the registry answers it, and then never reads the tag schema', async () => {
    const api = await referrersApiInFront(registry.url);
    const name = repo('with-api');
    const { index, platforms } = await registry.multiArch(name, '3.0', [{ os: 'linux', architecture: 'arm64' }]);
    // Only the API lists this SBOM: the tag schema holds nothing for the platform.
    const config = await registry.blob(name, '{}', 'application/vnd.oci.empty.v1+json');
    const layer = await registry.blob(name, storefrontSbom, cyclonedx);
    const { mediaType, digest, size } = platforms[0]!;
    const m = await registry.manifest(name, { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: cyclonedx, config, layers: [layer], subject: { mediaType, digest, size } });
    api.referrers.set(digest, [{ mediaType: m.mediaType, digest: m.digest, size: m.size, artifactType: cyclonedx }]);
    const matcher = await chalkMatcher();

    await scanSource(registrySource({ url: api.url, images: [{ repository: name, reference: '3.0' }] }), matcher);
    const chalk = matcher.result().affected.find((a) => a.name === 'chalk');

    expect(chalk?.sbom).toBe(`${new URL(api.url).host}/${name}@${m.digest}`);
    expect(chalk?.subject).toContain(`index ${index.digest} platform linux/arm64 ${digest}`);
    expect(api.requests.filter((p) => p.includes('/referrers/'))).toHaveLength(2); // the index and its platform
    expect(api.requests.filter((p) => /\/manifests\/sha256-/.test(p))).toEqual([]);
  });
});
