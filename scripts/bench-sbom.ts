/**
 * SBOM matching benchmark (not a test): writes 1,000 SBOMs of 500 components
 * each to a temporary directory (CycloneDX and SPDX, several ecosystems, so
 * reading and parsing are measured), matches 20 advisories against them the
 * way `firebreak sbom match` does, checks the affected count against what was
 * planted, and prints components/s, total time and peak RSS.
 *
 *   npm run bench:sbom [-- --sboms 1000 --components 500 --universe 20000]
 *
 * `--universe` is how many distinct (purl, version) pairs the fleet draws from;
 * purls repeat across a fleet's images, and each distinct purl is parsed once.
 *
 * Target on a 2-core machine: <= 5 s, peak RSS <= 500 MB.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AdvisoryIndex, directorySource, Matcher, scanSource, type MatchCounts, type OsvAdvisory } from '../activities/sbom/index.ts';

const { values } = parseArgs({
  options: {
    sboms: { type: 'string', default: '1000' },
    components: { type: 'string', default: '500' },
    universe: { type: 'string', default: '20000' },
    // Internal: the matching phase, run in a fresh process so its time and peak RSS are its own, not the generator's.
    'match-dir': { type: 'string' },
  },
});
const sbomCount = Number(values.sboms);
const perSbom = Number(values.components);
const advisoryCount = 20;

/** A fleet shares most packages: by default 20,000 (name, version) pairs across ecosystems. */
const universe = Array.from({ length: Number(values.universe) }, (_, i) => {
  const v = `${i % 7}.${i % 13}.${i % 5}`;
  switch (i % 6) {
    case 0:
      return { purl: `pkg:npm/%40scope${i % 50}/lib-${i}@${v}`, name: `lib-${i}`, version: v, type: 'npm' };
    case 1:
      return { purl: `pkg:pypi/py-lib-${i}@${v}`, name: `py-lib-${i}`, version: v, type: 'python' };
    case 2:
      return { purl: `pkg:maven/org.example${i % 40}/artifact-${i}@${v}`, name: `artifact-${i}`, version: v, type: 'java-archive' };
    case 3:
      return { purl: `pkg:golang/example.com/mod${i}@v${v}`, name: `example.com/mod${i}`, version: `v${v}`, type: 'go-module' };
    case 4:
      return { purl: `pkg:deb/debian/libdeb${i}@${v}-1?arch=amd64&distro=debian-12`, name: `libdeb${i}`, version: `${v}-1`, type: 'deb' };
    default:
      return { purl: `pkg:apk/alpine/apk${i}@${v}-r0?arch=x86_64&distro=3.20.1`, name: `apk${i}`, version: `${v}-r0`, type: 'apk' };
  }
});

/** Advisory k targets npm package target-k: affected from 1.0.0 to before 1.5.0 (odd k), or exactly 1.2.0 (even k). */
const advisories: OsvAdvisory[] = Array.from({ length: advisoryCount }, (_, k) => ({
  id: `BENCH-${k}`,
  affected: [
    k % 2 === 1
      ? { package: { ecosystem: 'npm', name: `target-${k}` }, ranges: [{ type: 'SEMVER' as const, events: [{ introduced: '1.0.0' }, { fixed: '1.5.0' }] }] }
      : { package: { ecosystem: 'npm', name: `target-${k}` }, versions: ['1.2.0'] },
  ],
}));

/** The matching phase as `firebreak sbom match` runs it: list, read 8 at a time, match, report. */
async function matchPhase(dir: string): Promise<void> {
  const start = performance.now();
  const index = new AdvisoryIndex({ advisories, digests: [] });
  const matcher = new Matcher(index);
  await scanSource(directorySource([dir]), matcher, { wanted: index.wants, concurrency: 8 });
  const { counts } = matcher.result();
  const seconds = (performance.now() - start) / 1000;
  process.stdout.write(JSON.stringify({ counts, seconds, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
}

if (values['match-dir'] !== undefined) {
  await matchPhase(values['match-dir']);
  process.exit(0);
}

const dir = await mkdtemp(join(tmpdir(), 'firebreak-bench-sbom-'));
let planted = 0;
let bytes = 0;
try {
  const genStart = performance.now();
  for (let s = 0; s < sbomCount; s++) {
    const comps: { purl: string; name: string; version: string; type: string }[] = [];
    // One planted target per SBOM, affected on odd SBOMs.
    const k = s % advisoryCount;
    const affectedVersion = s % 2 === 1;
    if (affectedVersion) planted++;
    comps.push({ purl: `pkg:npm/target-${k}@${affectedVersion ? '1.2.0' : '2.0.0'}`, name: `target-${k}`, version: affectedVersion ? '1.2.0' : '2.0.0', type: 'npm' });
    for (let c = 1; c < perSbom; c++) comps.push(universe[(s * 7919 + c * 104_729) % universe.length]!);
    const digest = `sha256:${s.toString(16).padStart(64, '0')}`;
    const doc =
      s % 5 === 4
        ? {
            spdxVersion: 'SPDX-2.3',
            SPDXID: 'SPDXRef-DOCUMENT',
            name: `bench/image-${s}`,
            documentDescribes: ['SPDXRef-Image'],
            packages: [
              { SPDXID: 'SPDXRef-Image', name: `bench/image-${s}`, versionInfo: digest },
              ...comps.map((c, i) => ({
                SPDXID: `SPDXRef-Package-${i}`,
                name: c.name,
                versionInfo: c.version,
                downloadLocation: 'NOASSERTION',
                externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: c.purl }],
              })),
            ],
          }
        : {
            bomFormat: 'CycloneDX',
            specVersion: '1.6',
            version: 1,
            metadata: { component: { type: 'container', name: `bench/image-${s}`, version: digest } },
            components: comps.map((c) => ({
              'bom-ref': c.purl,
              type: 'library',
              name: c.name,
              version: c.version,
              purl: c.purl,
              properties: [{ name: 'syft:package:type', value: c.type }],
            })),
          };
    const text = JSON.stringify(doc);
    bytes += text.length;
    await writeFile(join(dir, `sbom-${String(s).padStart(4, '0')}.json`), text);
  }
  console.log(
    `wrote ${sbomCount} SBOMs x ${perSbom} components (${(bytes / 1024 / 1024).toFixed(0)} MiB) in ${((performance.now() - genStart) / 1000).toFixed(1)}s; matching ${advisoryCount} advisories`,
  );

  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--match-dir', dir], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`the matching process failed: ${child.stderr}`);
  const m = JSON.parse(child.stdout) as { counts: MatchCounts; seconds: number; peakRssMb: number };
  const c = m.counts;
  console.log(`SBOMs          ${c.sboms} (${c.unreadable} unreadable)`);
  console.log(`components     ${c.components}`);
  console.log(`affected       ${c.affected} (planted ${planted})   undecidable ${c.undecidable}`);
  console.log(`total time     ${m.seconds.toFixed(2)} s (list, read, parse, match)`);
  console.log(`components/s   ${Math.round(c.components / m.seconds).toLocaleString('en-US')}`);
  console.log(`peak RSS       ${m.peakRssMb.toFixed(0)} MB (the matching process)`);
  const ok = c.affected === planted && c.unreadable === 0 && c.components === sbomCount * perSbom;
  const fast = m.seconds <= 5 && m.peakRssMb <= 500;
  console.log(`${ok ? 'correct' : 'WRONG COUNTS'}; target <= 5 s and <= 500 MB: ${fast ? 'met' : 'MISSED'}`);
  process.exitCode = ok ? 0 : 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
