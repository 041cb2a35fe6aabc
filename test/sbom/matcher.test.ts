import { describe, expect, it } from 'vitest';
import { advisoryFromPurl, parseDigest, readOsvFile, type OsvAdvisory } from '../../activities/sbom/advisories.ts';
import { AdvisoryIndex, matchSboms, type MatchReport } from '../../activities/sbom/matcher.ts';
import { parseSbom } from '../../activities/sbom/sbom.ts';
import { readSbomFile } from '../../activities/sbom/sources/directory.ts';

const sbomFiles = [
  'syft-cyclonedx-storefront.json',
  'trivy-cyclonedx-debian-sid.json',
  'trivy-cyclonedx-debian-sid-fixed.json',
  'syft-spdx-ingest-worker.json',
  'trivy-spdx-alpine.json',
].map((f) => `test/sbom/fixtures/sboms/${f}`);

async function match(advisoryFiles: string[], extra: { advisories?: OsvAdvisory[]; digests?: string[] } = {}): Promise<MatchReport> {
  const advisories = (await Promise.all(advisoryFiles.map((f) => readOsvFile(`test/sbom/fixtures/advisories/${f}`)))).flat();
  const sboms = await Promise.all(sbomFiles.map((f) => readSbomFile(f)));
  return matchSboms({ advisories: [...advisories, ...(extra.advisories ?? [])], digests: extra.digests ?? [] }, sboms);
}

const hits = (r: MatchReport): string[] => r.affected.map((a) => `${a.sbom.split('/').pop()} ${a.name}@${a.version} ${a.advisory}`);

describe('matching advisories against SBOMs', () => {
  it('finds the 2025-09-08 compromised versions, nested ones too, and not the clean debug 4.4.1 beside them', async () => {
    const r = await match(['npm-qix-compromise-2025-09-08.json']);
    expect(hits(r).sort()).toEqual([
      'syft-cyclonedx-storefront.json ansi-regex@6.2.1 FIXTURE-MAL-2025-09-08-ansi-regex',
      'syft-cyclonedx-storefront.json chalk@5.6.1 FIXTURE-MAL-2025-09-08-chalk',
    ]);
    expect(r.affected.find((a) => a.name === 'chalk')).toEqual({
      sbom: 'test/sbom/fixtures/sboms/syft-cyclonedx-storefront.json',
      subject: `registry.example/shop/storefront sha256:${'a1'.repeat(32)}`,
      purl: 'pkg:npm/chalk@5.6.1',
      name: 'chalk',
      version: '5.6.1',
      ecosystem: 'npm',
      advisory: 'FIXTURE-MAL-2025-09-08-chalk',
      matched: 'versions [5.6.1]',
    });
    expect(r.undecidable).toEqual([]);
  });

  it('matches the xz backdoor through the source package, and the +really fix is not affected', async () => {
    const r = await match(['debian-xz-utils.json']);
    expect(hits(r).sort()).toEqual([
      'trivy-cyclonedx-debian-sid.json liblzma5@5.6.1-1 FIXTURE-DEBIAN-CVE-2024-3094',
      'trivy-cyclonedx-debian-sid.json xz-utils@5.6.1-1 FIXTURE-DEBIAN-CVE-2024-3094',
    ]);
    expect(r.affected.find((a) => a.name === 'liblzma5')?.matched).toBe('ECOSYSTEM >=5.6.0-0.1 <5.6.1+really5.4.5-1 (source package xz-utils)');
  });

  it('matches either of two ranges for one package (log4j-core 2.14.1), not the sibling log4j-api', async () => {
    const r = await match(['ghsa-log4j-core-two-ranges.json']);
    expect(hits(r)).toEqual(['syft-spdx-ingest-worker.json org.apache.logging.log4j:log4j-core@2.14.1 FIXTURE-GHSA-log4j-core']);
    expect(r.affected[0]?.matched).toBe('ECOSYSTEM >=2.13.0 <2.15.0');
  });

  it('includes last_affected itself (requests 2.31.0) and stops at a limit (golang.org/x/net below 0.18.0)', async () => {
    const r = await match(['pypi-last-affected-and-limit.json']);
    expect(r.affected.map((a) => [a.name, a.matched])).toEqual([
      ['requests', 'ECOSYSTEM >=2.3.0 <=2.31.0'],
      ['golang.org/x/net', 'SEMVER >=0 limit <0.18.0'],
    ]);
  });

  it('reports a GIT range and an ecosystem it cannot order as undecidable, never as unaffected', async () => {
    const r = await match(['git-range-only.json', 'hex-phoenix.json']);
    expect(r.affected).toEqual([]);
    expect(r.undecidable.map((u) => [u.name, u.advisory, u.reason])).toEqual([
      ['smallvec', 'FIXTURE-OSV-git-range', expect.stringContaining('range of git commits')],
      ['phoenix', 'FIXTURE-HEX-phoenix', expect.stringContaining('Firebreak cannot order Hex versions')],
    ]);
  });

  it("keeps to the advisory's distribution release: Alpine v3.19's fix applies to an Alpine 3.19 image, v3.18's does not", async () => {
    const r = await match(['alpine-openssl.json']);
    expect(hits(r)).toEqual(['trivy-spdx-alpine.json libcrypto3@3.1.4-r2 FIXTURE-ALPINE-CVE-2024-0727']);
    expect(r.affected[0]?.matched).toBe('ECOSYSTEM >=0 <3.1.4-r5 (source package openssl)');
  });

  it('matches a responder --package purl, with %40scope the same as @scope', async () => {
    const r = await match([], { advisories: [advisoryFromPurl('pkg:npm/@acme/ui-kit@2.0.0')] });
    expect(hits(r)).toEqual(['syft-cyclonedx-storefront.json @acme/ui-kit@2.0.0 package pkg:npm/@acme/ui-kit@2.0.0']);
  });

  it('does not match a same-named package of another ecosystem (control)', async () => {
    const r = await match([], { advisories: [advisoryFromPurl('pkg:pypi/chalk@5.6.1')] });
    expect(r.affected).toEqual([]);
  });

  it('matches an image by --digest, naming the SBOM whose subject it is', async () => {
    const digest = parseDigest(`sha256:${'e5'.repeat(32)}`);
    const r = await match([], { digests: [digest] });
    expect(r.affected).toEqual([
      expect.objectContaining({ sbom: 'test/sbom/fixtures/sboms/trivy-spdx-alpine.json', advisory: `digest ${digest}`, matched: `image digest ${digest}` }),
    ]);
  });

  it('counts SBOMs, components, affected, undecidable and unreadable, and matches the rest when one SBOM is unreadable', async () => {
    const advisories = await readOsvFile('test/sbom/fixtures/advisories/npm-qix-compromise-2025-09-08.json');
    const sboms = await Promise.all([...sbomFiles, 'test/sbom/fixtures/sboms/missing.json'].map((f) => readSbomFile(f)));
    const r = matchSboms({ advisories, digests: [] }, sboms);
    expect(r.counts).toEqual({ sboms: 5, components: 6 + 4 + 4 + 8 + 3, affected: 2, undecidable: 0, unreadable: 1 });
    expect(r.unreadable).toEqual([{ sbom: 'test/sbom/fixtures/sboms/missing.json', problem: 'cannot read: ENOENT' }]);
  });
});

describe('skipping the purls no advisory could name', () => {
  it('changes no result: every fixture advisory against every fixture SBOM, with and without the filter', async () => {
    const files = ['npm-qix-compromise-2025-09-08.json', 'ghsa-log4j-core-two-ranges.json', 'debian-xz-utils.json', 'pypi-last-affected-and-limit.json', 'git-range-only.json', 'alpine-openssl.json', 'hex-phoenix.json'];
    const advisories = (await Promise.all(files.map((f) => readOsvFile(`test/sbom/fixtures/advisories/${f}`)))).flat();
    advisories.push(advisoryFromPurl('pkg:npm/%40acme/ui-kit@2.0.0'));
    const set = { advisories, digests: [] };
    const index = new AdvisoryIndex(set);
    const plain = matchSboms(set, await Promise.all(sbomFiles.map((f) => readSbomFile(f))));
    const filtered = matchSboms(set, await Promise.all(sbomFiles.map((f) => readSbomFile(f, { wanted: index.wants }))));
    expect(filtered).toEqual(plain);
    expect(plain.affected.length).toBeGreaterThan(8);
  });
});

describe('OSV range boundaries', () => {
  const events = {
    'introduced..fixed': [{ introduced: '1.0.0' }, { fixed: '1.5.0' }],
    'introduced..last_affected': [{ introduced: '1.0.0' }, { last_affected: '1.5.0' }],
    'introduced..limit': [{ introduced: '1.0.0' }, { limit: '1.5.0' }],
    'two intervals in one range': [{ introduced: '1.0.0' }, { fixed: '1.2.0' }, { introduced: '1.4.0' }, { fixed: '1.5.0' }],
    'introduced 0, never fixed': [{ introduced: '0' }],
  };
  const cases: [keyof typeof events, string, boolean][] = [
    ['introduced..fixed', '0.9.9', false],
    ['introduced..fixed', '1.0.0', true],
    ['introduced..fixed', '1.4.9', true],
    ['introduced..fixed', '1.5.0', false],
    ['introduced..last_affected', '1.5.0', true],
    ['introduced..last_affected', '1.5.1', false],
    ['introduced..limit', '1.4.9', true],
    ['introduced..limit', '1.5.0', false],
    ['two intervals in one range', '1.1.0', true],
    ['two intervals in one range', '1.3.0', false],
    ['two intervals in one range', '1.4.0', true],
    ['two intervals in one range', '1.5.0', false],
    ['introduced 0, never fixed', '0.0.1', true],
  ];
  it.each(cases)('%s: %s affected is %s', (range, version, affected) => {
    const advisory: OsvAdvisory = { id: 'R', affected: [{ package: { ecosystem: 'npm', name: 'lib' }, ranges: [{ type: 'ECOSYSTEM', events: events[range] }] }] };
    const sbom = parseSbom(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ name: 'lib', version, purl: `pkg:npm/lib@${version}` }] }), 'x.json');
    const r = matchSboms({ advisories: [advisory], digests: [] }, [sbom]);
    expect(r.affected.length).toBe(affected ? 1 : 0);
    expect(r.undecidable).toEqual([]);
  });

  it('reports an SBOM version the ecosystem cannot read as undecidable, not unaffected', () => {
    const advisory: OsvAdvisory = { id: 'R', affected: [{ package: { ecosystem: 'npm', name: 'lib' }, ranges: [{ type: 'ECOSYSTEM', events: events['introduced..fixed'] }] }] };
    const sbom = parseSbom(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ name: 'lib', version: 'latest', purl: 'pkg:npm/lib@latest' }] }), 'x.json');
    const r = matchSboms({ advisories: [advisory], digests: [] }, [sbom]);
    expect(r.undecidable.map((u) => u.reason)).toEqual(['"latest" is not a npm version, so ECOSYSTEM >=1.0.0 <1.5.0 cannot be decided']);
  });
});
