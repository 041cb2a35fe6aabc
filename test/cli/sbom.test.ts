import { readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { runFirebreak } from '../support/cli.ts';

const advisories = 'test/sbom/fixtures/advisories';
const sboms = 'test/sbom/fixtures/sboms';
const qix = `${advisories}/npm-qix-compromise-2025-09-08.json`;
const storefront = `${sboms}/syft-cyclonedx-storefront.json`;
const alpine = `${sboms}/trivy-spdx-alpine.json`;

const noStackTrace = (stderr: string): void => expect(stderr).not.toMatch(/\n\s+at /);

describe('firebreak sbom match', () => {
  it('explains its inputs and exit codes with --help', async () => {
    const r = await runFirebreak(['sbom', 'match', '--help']);
    expect(r.code).toBe(0);
    for (const text of ['--advisory <file>', '--package <purl>', '--digest <digest>', '--json', '--fail-on-match', 'Exit codes: 0', '3 with --fail-on-match']) {
      expect(r.stdout).toContain(text);
    }
  });

  it('prints each affected component with its SBOM, subject, purl, version, advisory and what matched, then the counts; exit 0', async () => {
    const r = await runFirebreak(['sbom', 'match', '--advisory', qix, sboms]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      [
        'affected    chalk 5.6.1 (npm)',
        `  sbom      ${storefront}`,
        `  subject   registry.example/shop/storefront sha256:${'a1'.repeat(32)}`,
        '  purl      pkg:npm/chalk@5.6.1',
        '  advisory  FIXTURE-MAL-2025-09-08-chalk',
        '  matched   versions [5.6.1]',
      ].join('\n'),
    );
    expect(r.stdout.trim().split('\n').at(-1)).toBe('5 SBOMs, 25 components: 2 affected, 0 undecidable, 0 unreadable');
  });

  it('with --fail-on-match exits 3 when anything is affected, and 0 when nothing is (control)', async () => {
    const hit = await runFirebreak(['sbom', 'match', '--package', 'pkg:npm/debug@4.4.1', '--fail-on-match', storefront]);
    expect(hit.code).toBe(3);
    const clean = await runFirebreak(['sbom', 'match', '--package', 'pkg:npm/debug@4.4.2', '--fail-on-match', storefront]);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('1 SBOM, 6 components: 0 affected, 0 undecidable, 0 unreadable');
  });

  it('--json gives affected, undecidable, unreadable and counts, with the fields of each finding; an SBOM named twice is read once', async () => {
    const r = await runFirebreak([
      'sbom',
      'match',
      '--json',
      '--advisory',
      `${advisories}/hex-phoenix.json`,
      '--digest',
      `sha256:${'e5'.repeat(32)}`,
      sboms,
      alpine,
    ]);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['affected', 'undecidable', 'unreadable', 'counts']);
    expect(json['affected']).toEqual([
      {
        sbom: alpine,
        subject: `alpine:3.19.0 sha256:${'e5'.repeat(32)}`,
        purl: null,
        name: `alpine:3.19.0 sha256:${'e5'.repeat(32)}`,
        version: `sha256:${'e5'.repeat(32)}`,
        ecosystem: null,
        advisory: `digest sha256:${'e5'.repeat(32)}`,
        matched: `image digest sha256:${'e5'.repeat(32)}`,
      },
    ]);
    expect(json['undecidable']).toEqual([
      expect.objectContaining({ purl: 'pkg:hex/phoenix@1.7.10', name: 'phoenix', version: '1.7.10', ecosystem: 'Hex', advisory: 'FIXTURE-HEX-phoenix' }),
    ]);
    expect(json['counts']).toEqual({ sboms: 5, components: 25, affected: 1, undecidable: 1, unreadable: 0 });
  });
});

describe('firebreak sbom match on bad input: exit 1, one line saying what to fix', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'firebreak-sbom-cli-'));
    await writeFile(join(dir, 'wrong-types.osv.json'), JSON.stringify({ id: 'X', affected: [{ package: { ecosystem: 'npm', name: 7 } }] }));
    await writeFile(join(dir, 'truncated.osv.json'), '{"id":"X","affected":[');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each([
    ['no advisory, package or digest', () => ['sbom', 'match', storefront], /needs something to look for: --advisory/],
    ['an advisory with wrong types', () => ['sbom', 'match', '--advisory', join(dir, 'wrong-types.osv.json'), storefront], /wrong-types\.osv\.json is not an OSV advisory: affected\[0\]\.package\.name: /],
    ['a truncated advisory', () => ['sbom', 'match', '--advisory', join(dir, 'truncated.osv.json'), storefront], /truncated\.osv\.json is not JSON/],
    ['a missing advisory file', () => ['sbom', 'match', '--advisory', join(dir, 'nope.json'), storefront], /cannot read advisory .*nope\.json: ENOENT/],
    ['a malformed purl', () => ['sbom', 'match', '--package', 'chalk@5.6.1', storefront], /is not a package URL .* write it as pkg:/],
    ['a purl without a version', () => ['sbom', 'match', '--package', 'pkg:npm/chalk', storefront], /has no version/],
    ['a malformed digest', () => ['sbom', 'match', '--digest', 'sha256:123', storefront], /not an image digest/],
    ['a missing SBOM path', () => ['sbom', 'match', '--package', 'pkg:npm/chalk@5.6.1', join(dir, 'absent')], /cannot read SBOM path .*absent: ENOENT/],
  ])('%s', async (_, args, message) => {
    const r = await runFirebreak(args());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    noStackTrace(r.stderr);
  });
});

describe('firebreak sbom match on SBOMs it cannot read: each named on one line, the rest still matched', () => {
  it('reports a truncated, a wrong-typed, a 50 MB and a deeply nested SBOM, and still finds chalk in the good one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'firebreak-sbom-bad-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await cp(storefront, join(dir, 'good.json'));
    await writeFile(join(dir, 'truncated.json'), readFileSync(storefront, 'utf8').slice(0, 900));
    await writeFile(join(dir, 'wrong-types.json'), JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [{ name: 'a', version: 1 }] }));
    await writeFile(join(dir, 'huge.json'), '');
    await truncate(join(dir, 'huge.json'), 50 * 1024 * 1024);
    let nested: unknown = { name: 'leaf' };
    for (let i = 0; i < 100; i++) nested = { name: `n${i}`, components: [nested] };
    await writeFile(join(dir, 'deep.json'), JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [nested] }));
    await writeFile(join(dir, 'bomb.json'), `${'['.repeat(500_000)}${']'.repeat(500_000)}`);

    const r = await runFirebreak(['sbom', 'match', '--advisory', qix, dir]);
    expect(r.code).toBe(0);
    noStackTrace(r.stderr);
    const unreadable = r.stdout.split('\n').filter((l) => l.startsWith('unreadable'));
    expect(unreadable).toEqual([
      expect.stringMatching(/^unreadable {2}.*bomb\.json: /),
      expect.stringMatching(/^unreadable {2}.*deep\.json: components nested deeper than 32 levels/),
      expect.stringMatching(/^unreadable {2}.*huge\.json: 52428800 bytes, over the 32 MiB limit for one SBOM/),
      expect.stringMatching(/^unreadable {2}.*truncated\.json: truncated \(/),
      expect.stringMatching(/^unreadable {2}.*wrong-types\.json: not a usable CycloneDX SBOM: components\[0\]\.version: /),
    ]);
    expect(r.stdout).toContain('affected    chalk 5.6.1 (npm)');
    expect(r.stdout).toContain('1 SBOM, 6 components: 2 affected, 0 undecidable, 5 unreadable');
  });
});
