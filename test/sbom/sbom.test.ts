import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { maxNesting, parseSbom, type Sbom } from '../../activities/sbom/sbom.ts';
import { readSbomFile } from '../../activities/sbom/sources/directory.ts';

const fixture = (name: string): string => `test/sbom/fixtures/sboms/${name}`;

async function read(name: string): Promise<Sbom> {
  const r = await readSbomFile(fixture(name));
  if (!r.ok) throw new Error(`${name}: ${r.problem}`);
  return r.sbom;
}

const purls = (s: Sbom): (string | undefined)[] => s.components.map((c) => c.purl);

describe('reading SBOMs', () => {
  it('reads a Syft CycloneDX 1.6 image SBOM: the image as subject, nested components included', async () => {
    const s = await read('syft-cyclonedx-storefront.json');
    expect(s.format).toBe('CycloneDX 1.6');
    expect(s.subject).toEqual({ label: `registry.example/shop/storefront sha256:${'a1'.repeat(32)}`, digests: [`sha256:${'a1'.repeat(32)}`] });
    expect(purls(s)).toEqual(expect.arrayContaining(['pkg:npm/chalk@5.6.1', 'pkg:npm/%40acme/ui-kit@2.0.0', 'pkg:npm/ansi-regex@6.2.1']));
    expect(s.components).toHaveLength(6);
  });

  it('identifies a CycloneDX component without a purl by the producer package type (Syft)', async () => {
    const s = await read('syft-cyclonedx-storefront.json');
    expect(s.components.find((c) => c.name === 'left-pad')?.identity).toEqual({ ecosystem: 'npm', name: 'left-pad' });
  });

  it('joins a CycloneDX group to the name as the ecosystem writes it when there is no purl (Maven group:artifact)', () => {
    const r = parseSbom(
      JSON.stringify({
        bomFormat: 'CycloneDX',
        specVersion: '1.4',
        components: [{ group: 'org.apache.logging.log4j', name: 'log4j-core', version: '2.14.1', properties: [{ name: 'aquasecurity:trivy:PkgType', value: 'jar' }] }],
      }),
      'x.json',
    );
    expect(r.ok && r.sbom.components[0]?.identity).toEqual({ ecosystem: 'Maven', name: 'org.apache.logging.log4j:log4j-core' });
  });

  it('reads a Trivy CycloneDX 1.5 SBOM: the image digest from the subject purl, the source package of each OS package', async () => {
    const s = await read('trivy-cyclonedx-debian-sid.json');
    expect(s.subject.label).toBe(`debian:sid-20240311 sha256:${'b2'.repeat(32)}`);
    expect(s.subject.digests.sort()).toEqual([`sha256:${'b2'.repeat(32)}`, `sha256:${'c3'.repeat(32)}`]);
    expect(s.components.find((c) => c.name === 'liblzma5')?.identity).toMatchObject({ ecosystem: 'Debian', name: 'liblzma5', source: 'xz-utils' });
  });

  it('reads a Syft SPDX 2.3 SBOM: the described package is the subject, not a component', async () => {
    const s = await read('syft-spdx-ingest-worker.json');
    expect(s.format).toBe('SPDX 2.3');
    expect(s.subject.digests).toEqual([`sha256:${'c3'.repeat(32)}`]);
    expect(s.components.map((c) => c.name)).not.toContain('registry.example/data/ingest-worker');
    expect(s.components.find((c) => c.name === 'log4j-core')).toMatchObject({
      version: '2.14.1',
      identity: { ecosystem: 'Maven', name: 'org.apache.logging.log4j:log4j-core' },
    });
    expect(s.components.find((c) => c.name === 'internal-tool')).toEqual({ name: 'internal-tool', version: '0.1.0' });
  });

  it('reads a Trivy SPDX 2.2 SBOM with apk purls, their distro and their source package', async () => {
    const s = await read('trivy-spdx-alpine.json');
    expect(s.format).toBe('SPDX 2.2');
    expect(s.subject.label).toBe(`alpine:3.19.0 sha256:${'e5'.repeat(32)}`);
    expect(s.components.find((c) => c.name === 'libcrypto3')?.identity).toEqual({
      ecosystem: 'Alpine',
      name: 'libcrypto3',
      version: '3.1.4-r2',
      distro: '3.19.0',
      source: 'openssl',
    });
  });
});

describe('every supported spec version', () => {
  it.each(['1.2', '1.3', '1.4', '1.5', '1.6'])('reads CycloneDX %s', (specVersion) => {
    const r = parseSbom(JSON.stringify({ bomFormat: 'CycloneDX', specVersion, components: [{ type: 'library', name: 'chalk', version: '5.6.1', purl: 'pkg:npm/chalk@5.6.1' }] }), 'x.json');
    expect(r.ok && r.sbom.components[0]?.identity).toEqual({ ecosystem: 'npm', name: 'chalk', version: '5.6.1' });
  });

  it.each(['SPDX-2.2', 'SPDX-2.3'])('reads %s, both spellings of the purl reference category', (spdxVersion) => {
    const pkg = (i: number, category: string) => ({
      SPDXID: `SPDXRef-${i}`,
      name: 'chalk',
      versionInfo: '5.6.1',
      externalRefs: [{ referenceCategory: category, referenceType: 'purl', referenceLocator: 'pkg:npm/chalk@5.6.1' }],
    });
    const r = parseSbom(JSON.stringify({ spdxVersion, packages: [pkg(1, 'PACKAGE-MANAGER'), pkg(2, 'PACKAGE_MANAGER')] }), 'x.json');
    expect(r.ok && r.sbom.components.map((c) => c.identity?.name)).toEqual(['chalk', 'chalk']);
  });
});

describe('SBOMs that cannot be used are named with what is wrong', () => {
  it.each([
    ['a truncated file', '{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"name":"a"', /^truncated \(/],
    ['not JSON', 'hello', /^not JSON \(/],
    ['a JSON array', '[]', /neither CycloneDX \(no bomFormat\) nor SPDX \(no spdxVersion\)/],
    ['a wrong-typed version', '{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"name":"a","version":5}]}', /components\[0\]\.version: .*string/],
    ['components that are not a list', '{"bomFormat":"CycloneDX","specVersion":"1.4","components":"many"}', /components: .*array/],
    ['an unsupported CycloneDX version', '{"bomFormat":"CycloneDX","specVersion":"1.1"}', /specVersion: CycloneDX JSON 1.2 to 1.6 is supported/],
    ['an unsupported SPDX version', '{"spdxVersion":"SPDX-2.1","packages":[]}', /spdxVersion: SPDX JSON 2.2 and 2.3 are supported/],
    ['an SPDX package without a name', '{"spdxVersion":"SPDX-2.3","packages":[{"SPDXID":"SPDXRef-1"}]}', /packages\[0\]\.name/],
  ])('%s', (_, text, problem) => {
    const r = parseSbom(text, 'bad.json');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.file).toBe('bad.json');
      expect(r.problem).toMatch(problem);
      expect(r.problem).not.toContain('\n');
    }
  });

  it(`refuses components nested deeper than ${maxNesting} levels; the control one level shallower is read`, () => {
    const nested = (depth: number): string => {
      let c: unknown = { name: 'leaf', version: '1.0.0' };
      for (let i = 1; i < depth; i++) c = { name: `level-${i}`, components: [c] };
      return JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [c] });
    };
    const deep = parseSbom(nested(maxNesting + 1), 'deep.json');
    expect(deep).toMatchObject({ ok: false, problem: expect.stringContaining(`nested deeper than ${maxNesting} levels`) });
    const control = parseSbom(nested(maxNesting), 'ok.json');
    expect(control.ok && control.sbom.components).toHaveLength(maxNesting);
  });

  it('refuses JSON nested too deeply for the parser without a stack trace', () => {
    const r = parseSbom(`${'['.repeat(200_000)}${']'.repeat(200_000)}`, 'bomb.json');
    expect(r).toEqual({ ok: false, file: 'bomb.json', problem: expect.stringMatching(/nested too deeply|neither CycloneDX/) });
  });

  it('refuses a file over the size limit before reading it, saying the limit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'firebreak-sbom-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'huge.json');
    await writeFile(file, '');
    await truncate(file, 50 * 1024 * 1024);
    const r = await readSbomFile(file);
    expect(r).toEqual({ ok: false, file, problem: expect.stringContaining('over the 32 MiB limit for one SBOM') });
  });
});
