import { describe, expect, it } from 'vitest';
import { AdvisoryInputError, advisoryFromPurl, parseDigest, parseOsv, readOsvFile } from '../../activities/sbom/advisories.ts';

describe('advisories', () => {
  it('reads an OSV file holding a list of advisories (the 2025-09-08 npm compromise, exact versions only)', async () => {
    const list = await readOsvFile('test/sbom/fixtures/advisories/npm-qix-compromise-2025-09-08.json');
    expect(list.length).toBe(18);
    expect(list.find((a) => a.affected[0]?.package?.name === 'chalk')?.affected[0]?.versions).toEqual(['5.6.1']);
    expect(list.find((a) => a.affected[0]?.package?.name === 'debug')?.affected[0]?.versions).toEqual(['4.4.2']);
  });

  it('reads GitHub advisories in their OSV form, keeping every range of a package', async () => {
    const [a] = await readOsvFile('test/sbom/fixtures/advisories/ghsa-log4j-core-two-ranges.json');
    expect(a?.affected[0]?.ranges).toHaveLength(2);
  });

  it.each([
    ['not JSON', '{"id":', /x\.json is not JSON/],
    ['no id', '{"affected":[]}', /x\.json is not an OSV advisory: id: /],
    ['an unknown range type', '{"id":"A","affected":[{"ranges":[{"type":"DATE","events":[{"introduced":"0"}]}]}]}', /affected\[0\]\.ranges\[0\]\.type/],
    ['an event with two bounds', '{"id":"A","affected":[{"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1.0.0"}]}]}]}', /exactly one of introduced, fixed, last_affected, limit/],
    ['versions that are not strings', '{"id":"A","affected":[{"versions":[1]}]}', /affected\[0\]\.versions\[0\]/],
  ])('rejects an advisory with %s, naming the file and the field', (_, text, message) => {
    expect(() => parseOsv(text, 'x.json')).toThrow(AdvisoryInputError);
    expect(() => parseOsv(text, 'x.json')).toThrow(message);
  });

  it('turns --package pkg:npm/chalk@5.6.1 into an advisory listing exactly that version', () => {
    expect(advisoryFromPurl('pkg:npm/chalk@5.6.1')).toEqual({
      id: 'package pkg:npm/chalk@5.6.1',
      affected: [{ package: { ecosystem: 'npm', name: 'chalk', purl: 'pkg:npm/chalk@5.6.1' }, versions: ['5.6.1'] }],
    });
  });

  it('refuses --package without a version: a responder names the exact bad version', () => {
    expect(() => advisoryFromPurl('pkg:npm/chalk')).toThrow(/has no version: name the exact bad version/);
  });

  it('accepts --digest sha256:<64 hex> and refuses anything else', () => {
    expect(parseDigest(`SHA256:${'AB'.repeat(32)}`)).toBe(`sha256:${'ab'.repeat(32)}`);
    expect(() => parseDigest('sha256:abc')).toThrow(/not an image digest: write it as sha256: followed by 64 hex digits/);
  });
});
