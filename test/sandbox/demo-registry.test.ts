import { describe, expect, it } from 'vitest';
import { advisoryFromPurl } from '../../activities/sbom/advisories.ts';
import { AdvisoryIndex, Matcher } from '../../activities/sbom/matcher.ts';
import { registrySource, scanSource } from '../../activities/sbom/sources/index.ts';
import { seedRegistry } from '../../src/sandbox/demo.ts';
import { sandbox } from '../support/servers.ts';

describe("the local sandbox's demo registry", () => {
  it('holds a multi-arch storefront whose amd64 SBOM carries chalk 5.6.1, and an ingest worker with no SBOM', async () => {
    const url = sandbox().registryUrl;
    const host = new URL(url).host;
    const demo = await seedRegistry(url);
    const matcher = new Matcher(new AdvisoryIndex({ advisories: [advisoryFromPurl('pkg:npm/chalk@5.6.1')], digests: [] }));

    const [storefront, worker] = demo.images.map((i) => ({ repository: i.split(':')[0]!, reference: i.split(':')[1]! }));
    const summary = await scanSource(registrySource({ url, images: [storefront!, worker!] }), matcher);
    const r = matcher.result();

    expect(r.counts).toMatchObject({ sboms: 2, affected: 1 }); // control: arm64's chalk 5.6.0 is not affected
    expect(r.affected[0]?.subject).toMatch(new RegExp(`^${host}/demo-shop/storefront:1\\.0 index sha256:[0-9a-f]{64} platform linux/amd64 sha256:[0-9a-f]{64}$`));
    expect(summary.noSbom.map((n) => n.name)).toEqual([`${host}/demo-shop/ingest-worker:0.9`]);
  });
});
