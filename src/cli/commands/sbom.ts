/**
 * `firebreak sbom match`: which SBOMs carry a component an advisory names.
 * Useful on its own (CI, or a responder at 3 a.m.) and the same matching the
 * supply-chain runbook's activities use (activities/sbom).
 */
import { type Command } from 'commander';
import type { MatchReport } from '../../../activities/sbom/index.ts';
import { out, positiveInt, SilentFailure, UserError } from '../io.ts';

/** Exit code of `--fail-on-match` when anything is affected: distinct from 1 (bad input) and 2 (system failure). */
export const exitAffected = 3;

/** SBOMs read at once: enough to overlap I/O with parsing, few enough to bound memory. */
const concurrency = 8;

interface MatchOptions {
  advisory?: string[];
  package?: string[];
  digest?: string[];
  json?: boolean;
  failOnMatch?: boolean;
  maxSbomMib: number;
}

// No default value, so --help does not print "(default: [])".
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function printReport(r: MatchReport): void {
  for (const a of r.affected) {
    out(`affected    ${a.name} ${a.version ?? '(no version)'}${a.ecosystem ? ` (${a.ecosystem})` : ''}`);
    out(`  sbom      ${a.sbom}`);
    out(`  subject   ${a.subject}`);
    if (a.purl) out(`  purl      ${a.purl}`);
    out(`  advisory  ${a.advisory}`);
    out(`  matched   ${a.matched}`);
  }
  for (const u of r.undecidable) {
    out(`undecidable ${u.name} ${u.version ?? '(no version)'}${u.ecosystem ? ` (${u.ecosystem})` : ''}`);
    out(`  sbom      ${u.sbom}`);
    out(`  subject   ${u.subject}`);
    if (u.purl) out(`  purl      ${u.purl}`);
    out(`  advisory  ${u.advisory}`);
    out(`  why       ${u.reason}`);
  }
  for (const u of r.unreadable) out(`unreadable  ${u.sbom}: ${u.problem}`);
  const c = r.counts;
  out(
    `${c.sboms} SBOM${c.sboms === 1 ? '' : 's'}, ${c.components} components: ${c.affected} affected, ${c.undecidable} undecidable, ${c.unreadable} unreadable`,
  );
}

export function registerSbom(program: Command): void {
  const sbom = program.command('sbom').description('Software bills of materials: match advisories against them.');
  sbom
    .command('match')
    .description(
      'Report the components of CycloneDX (1.2-1.6) and SPDX (2.2/2.3) JSON SBOMs that an OSV advisory, a package URL or an image digest names.',
    )
    .argument('<sbom...>', 'SBOM files, or directories searched for *.json SBOMs')
    .option('--advisory <file>', 'an OSV JSON advisory file (one advisory or a list; GitHub advisories in OSV form too); repeatable', collect)
    .option('--package <purl>', 'a package URL with the exact bad version, e.g. pkg:npm/chalk@5.6.1; repeatable', collect)
    .option('--digest <digest>', 'an image digest (sha256:…) whose SBOMs to report; repeatable', collect)
    .option('--json', 'print {"affected","undecidable","unreadable","counts"} as JSON')
    .option('--fail-on-match', `exit ${exitAffected} when anything is affected (for CI gates)`)
    .option('--max-sbom-mib <n>', 'refuse SBOM files larger than this many MiB', positiveInt, 32)
    .addHelpText(
      'after',
      `
Exit codes: 0 it ran (affected or not; unreadable SBOMs are reported, the rest matched),
1 bad input (no advisory given, a malformed advisory, a missing path),
${exitAffected} with --fail-on-match when any component or image is affected.

Undecidable means Firebreak could not place the version in the advisory's range (a GIT
range, an ecosystem it cannot order, a version it cannot read): check those by hand.

Examples:
  firebreak sbom match --advisory osv/chalk-compromise.json --advisory osv/log4j.json sboms/
  firebreak sbom match --package pkg:npm/chalk@5.6.1 --package pkg:npm/debug@4.4.2 --fail-on-match sbom.cdx.json
  firebreak sbom match --digest sha256:<64 hex> sboms/ --json`,
    )
    .action(async (paths: string[], given: MatchOptions) => {
      const lib = await import('../../../activities/sbom/index.ts');
      const opts = { ...given, advisory: given.advisory ?? [], package: given.package ?? [], digest: given.digest ?? [] };
      if (opts.advisory.length + opts.package.length + opts.digest.length === 0) {
        throw new UserError('sbom match needs something to look for: --advisory <osv.json>, --package <purl@version> or --digest sha256:…');
      }
      let set;
      try {
        const advisories = (await Promise.all(opts.advisory.map((f) => lib.readOsvFile(f)))).flat();
        advisories.push(...opts.package.map((p) => lib.advisoryFromPurl(p)));
        set = { advisories, digests: opts.digest.map((d) => lib.parseDigest(d)) };
      } catch (e) {
        if (e instanceof lib.AdvisoryInputError) throw new UserError(e.message);
        throw e;
      }
      const index = new lib.AdvisoryIndex(set);
      const matcher = new lib.Matcher(index);
      const scan = { maxBytes: opts.maxSbomMib * 1024 * 1024, wanted: index.wants, concurrency, sizeHint: '--max-sbom-mib raises it' };
      try {
        await lib.scanSource(lib.directorySource(paths), matcher, scan);
      } catch (e) {
        if (e instanceof lib.SbomPathError) throw new UserError(e.message);
        throw e;
      }
      const report = matcher.result();
      if (opts.json) out(JSON.stringify(report, null, 2));
      else printReport(report);
      if (opts.failOnMatch && report.counts.affected > 0) throw new SilentFailure(exitAffected);
    });
}
