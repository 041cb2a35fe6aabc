import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readOsvFile } from '../../../activities/sbom/advisories.ts';
import { AdvisoryIndex, Matcher } from '../../../activities/sbom/matcher.ts';
import { directorySource, readEntry, SbomPathError, scanSource, type SbomEntry } from '../../../activities/sbom/sources/index.ts';

const fixtures = 'test/sbom/fixtures/sboms';
const storefront = `${fixtures}/syft-cyclonedx-storefront.json`;

async function chalkMatcher(): Promise<Matcher> {
  const advisories = await readOsvFile('test/sbom/fixtures/advisories/npm-qix-compromise-2025-09-08.json');
  return new Matcher(new AdvisoryIndex({ advisories, digests: [] }));
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'firebreak-sbom-dir-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('the directory SBOM source', () => {
  it('reads every *.json SBOM under a directory, nested folders too, and names matches by file', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'shop', 'storefront'), { recursive: true });
    await copyFile(storefront, join(dir, 'shop', 'storefront', 'sbom.json'));
    await copyFile(`${fixtures}/trivy-spdx-alpine.json`, join(dir, 'alpine.json'));
    await writeFile(join(dir, 'notes.txt'), 'not an SBOM and not *.json: not read');

    const matcher = await chalkMatcher();
    await scanSource(directorySource([dir]), matcher);
    const r = matcher.result();

    expect(r.counts).toMatchObject({ sboms: 2, unreadable: 0 });
    expect(r.affected.map((a) => `${a.sbom} ${a.name}@${a.version}`)).toContain(`${join(dir, 'shop', 'storefront', 'sbom.json')} chalk@5.6.1`);
  });

  it('reports a truncated SBOM by its file name and still matches the others', async () => {
    const dir = await tempDir();
    await copyFile(storefront, join(dir, 'a-storefront.json'));
    await writeFile(join(dir, 'b-truncated.json'), '{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"name":"chalk"');

    const matcher = await chalkMatcher();
    await scanSource(directorySource([dir]), matcher);
    const r = matcher.result();

    expect(r.unreadable).toEqual([{ sbom: join(dir, 'b-truncated.json'), problem: expect.stringMatching(/^truncated/) }]);
    expect(r.counts.sboms).toBe(1);
    expect(r.affected.map((a) => a.name)).toContain('chalk');
  });

  it('reports a file that vanished after listing as unreadable by name (cannot read: ENOENT)', async () => {
    const dir = await tempDir();
    await copyFile(storefront, join(dir, 'gone.json'));
    await copyFile(storefront, join(dir, 'kept.json'));
    const entries: SbomEntry[] = [];
    for await (const e of directorySource([dir]).list()) if (e.kind === 'sbom') entries.push(e);
    await rm(join(dir, 'gone.json'));

    const results = await Promise.all(entries.map((e) => readEntry(e)));

    expect(results.map((r) => (r.ok ? `${r.sbom.file} ok` : `${r.file} ${r.problem}`))).toEqual([
      `${join(dir, 'gone.json')} cannot read: ENOENT`,
      `${join(dir, 'kept.json')} ok`,
    ]);
  });

  it('refuses an SBOM over the size limit before reading it, naming the file and the limit', async () => {
    const dir = await tempDir();
    await copyFile(storefront, join(dir, 'big.json'));

    const matcher = await chalkMatcher();
    await scanSource(directorySource([dir]), matcher, { maxBytes: 100, sizeHint: '--max-sbom-mib raises it' });

    expect(matcher.result().unreadable).toEqual([
      { sbom: join(dir, 'big.json'), problem: expect.stringMatching(/^\d+ bytes, over the 100-byte limit for one SBOM \(--max-sbom-mib raises it\)$/) },
    ]);
  });

  it('treats a missing path as bad input (SbomPathError), not as an unreadable SBOM', async () => {
    const matcher = await chalkMatcher();
    await expect(scanSource(directorySource(['test/sbom/fixtures/no-such-dir']), matcher)).rejects.toBeInstanceOf(SbomPathError);
  });
});
