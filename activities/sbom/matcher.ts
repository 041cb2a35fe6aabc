/**
 * Matching advisories against SBOM components. Advisories are indexed once by
 * (ecosystem, normalised name), and each range's events are sorted once, so a
 * component costs one map look-up plus the ranges of its own package. Every
 * (component, advisory) pair is affected, undecidable (with why), or neither:
 * an ecosystem Firebreak cannot order, an unreadable version or a GIT range is
 * undecidable, never "unaffected".
 */
import { type AdvisorySet, type OsvAdvisory, type OsvEvent, type OsvRange } from './advisories.ts';
import { identityKey, looseName, releaseMatches } from './identity.ts';
import { type Component, type Sbom, type SbomResult } from './sbom.ts';
import { comparatorFor, compareSemverRange, type Comparator } from './versions/index.ts';

export interface Finding {
  sbom: string;
  subject: string;
  purl: string | null;
  name: string;
  version: string | null;
  ecosystem: string | null;
  advisory: string;
}
export interface Affected extends Finding {
  /** The version list or range that matched, as the advisory wrote it. */
  matched: string;
}
export interface Undecidable extends Finding {
  reason: string;
}
export interface Unreadable {
  sbom: string;
  problem: string;
}
export interface MatchCounts {
  sboms: number;
  components: number;
  affected: number;
  undecidable: number;
  unreadable: number;
}
export interface MatchReport {
  affected: Affected[];
  undecidable: Undecidable[];
  unreadable: Unreadable[];
  counts: MatchCounts;
}

type Bound = { kind: keyof OsvEvent; version: string };
type PreparedRange =
  | { decidable: true; label: string; events: Bound[]; compare: Comparator }
  | { decidable: false; label: string; reason: string };

interface Entry {
  advisory: OsvAdvisory;
  ecosystem: string;
  versions: string[];
  versionSet: Set<string>;
  compare: Comparator | undefined;
  ranges: PreparedRange[];
}

function eventOf(e: OsvEvent): Bound {
  for (const kind of ['introduced', 'fixed', 'last_affected', 'limit'] as const) if (e[kind] !== undefined) return { kind, version: e[kind] };
  throw new Error('unreachable: events are validated to have one field');
}

const symbols: Record<keyof OsvEvent, string> = { introduced: '>=', fixed: '<', last_affected: '<=', limit: 'limit <' };

function rangeLabel(r: OsvRange): string {
  return `${r.type} ${r.events.map((e) => eventOf(e)).map((b) => `${symbols[b.kind]}${b.version}`).join(' ')}`;
}

/** OSV's "introduced: 0" and "limit: *" are bounds, not versions. */
const isLowest = (b: Bound): boolean => b.kind === 'introduced' && b.version === '0';
const isOpen = (b: Bound): boolean => b.kind === 'limit' && b.version === '*';

function prepareRange(r: OsvRange, ecosystem: string): PreparedRange {
  const label = rangeLabel(r);
  if (r.type === 'GIT') return { decidable: false, label, reason: `${label} is a range of git commits, which package versions cannot be placed in` };
  const compare = r.type === 'SEMVER' ? compareSemverRange : comparatorFor(ecosystem);
  if (!compare) return { decidable: false, label, reason: `Firebreak cannot order ${ecosystem} versions (${label})` };
  const events = r.events.map(eventOf).filter((b) => !isOpen(b));
  for (const b of events) {
    if (!isLowest(b) && compare(b.version, b.version) === undefined) {
      return { decidable: false, label, reason: `the advisory's ${b.kind} "${b.version}" is not a ${r.type === 'SEMVER' ? 'SemVer' : ecosystem} version` };
    }
  }
  // The OSV evaluation algorithm walks events in version order.
  events.sort((a, b) => (isLowest(a) ? -1 : isLowest(b) ? 1 : compare(a.version, b.version)!));
  return { decidable: true, label, events, compare };
}

function inRange(version: string, r: { events: Bound[]; compare: Comparator }): boolean {
  let affected = false;
  for (const b of r.events) {
    if (b.kind === 'introduced') {
      if (isLowest(b) || r.compare(version, b.version)! >= 0) affected = true;
    } else if (b.kind === 'last_affected') {
      if (r.compare(version, b.version)! > 0) affected = false;
    } else if (r.compare(version, b.version)! >= 0) {
      affected = false;
    }
  }
  return affected;
}

type Verdict = { affected: true; matched: string } | { affected: false; reason?: string };

function judge(entry: Entry, version: string): Verdict {
  if (entry.versionSet.has(version)) return { affected: true, matched: `versions [${entry.versions.join(', ')}]` };
  const compare = entry.compare;
  if (compare && entry.versions.some((v) => compare(v, version) === 0)) return { affected: true, matched: `versions [${entry.versions.join(', ')}]` };
  let reason: string | undefined;
  for (const r of entry.ranges) {
    if (!r.decidable) {
      reason ??= r.reason;
      continue;
    }
    if (r.compare(version, version) === undefined) {
      reason ??= `"${version}" is not a ${r.label.startsWith('SEMVER') ? 'SemVer' : entry.ecosystem} version, so ${r.label} cannot be decided`;
      continue;
    }
    if (inRange(version, r)) return { affected: true, matched: r.label };
  }
  if (reason === undefined && entry.ranges.length === 0 && entry.versions.length > 0 && !compare) {
    // Without an order, a version spelled differently from the list (`v1.0` for `1.0`) might still be listed.
    reason = `Firebreak cannot order ${entry.ecosystem} versions, so "${version}" was compared with the versions list as text only`;
  }
  return reason === undefined ? { affected: false } : { affected: false, reason };
}

/** Advisories indexed by (ecosystem, normalised name). */
export class AdvisoryIndex {
  private readonly byKey = new Map<string, Entry[]>();
  private readonly looseNames = new Set<string>();
  readonly digests: Map<string, string>;

  /** For readSbomFile's `wanted`: could any advisory name a package of this loose name? */
  readonly wants = (loose: string): boolean => this.looseNames.has(loose);

  constructor(set: AdvisorySet) {
    this.digests = new Map(set.digests.map((d) => [d, `digest ${d}`]));
    for (const advisory of set.advisories) {
      if (advisory.withdrawn !== undefined) continue;
      for (const a of advisory.affected) {
        if (!a.package) continue;
        const versions = a.versions ?? [];
        const entry: Entry = {
          advisory,
          ecosystem: a.package.ecosystem,
          versions,
          versionSet: new Set(versions),
          compare: comparatorFor(a.package.ecosystem),
          ranges: (a.ranges ?? []).map((r) => prepareRange(r, a.package!.ecosystem)),
        };
        this.looseNames.add(looseName(a.package.name));
        const key = identityKey(a.package.ecosystem, a.package.name);
        const list = this.byKey.get(key);
        if (list) list.push(entry);
        else this.byKey.set(key, [entry]);
      }
    }
  }

  get size(): number {
    return this.byKey.size;
  }

  lookup(ecosystem: string, name: string): Entry[] | undefined {
    return this.byKey.get(identityKey(ecosystem, name));
  }
}

function finding(sbom: Sbom, c: Component, advisory: string): Finding {
  return {
    sbom: sbom.file,
    subject: sbom.subject.label,
    purl: c.purl ?? null,
    name: c.identity?.name ?? c.name,
    version: c.version ?? null,
    ecosystem: c.identity?.ecosystem ?? null,
    advisory,
  };
}

/** Accumulates a report SBOM by SBOM, so a fleet's SBOMs need not all be held in memory. */
export class Matcher {
  private readonly report: MatchReport = {
    affected: [],
    undecidable: [],
    unreadable: [],
    counts: { sboms: 0, components: 0, affected: 0, undecidable: 0, unreadable: 0 },
  };

  constructor(private readonly index: AdvisoryIndex) {}

  add(result: SbomResult): void {
    if (!result.ok) {
      this.report.unreadable.push({ sbom: result.file, problem: result.problem });
      return;
    }
    const sbom = result.sbom;
    this.report.counts.sboms++;
    this.report.counts.components += sbom.components.length;
    for (const digest of sbom.subject.digests) {
      const advisory = this.index.digests.get(digest);
      if (advisory) {
        this.report.affected.push({
          sbom: sbom.file,
          subject: sbom.subject.label,
          purl: null,
          name: sbom.subject.label,
          version: digest,
          ecosystem: null,
          advisory,
          matched: `image digest ${digest}`,
        });
      }
    }
    for (const c of sbom.components) this.matchComponent(sbom, c);
  }

  private matchComponent(sbom: Sbom, c: Component): void {
    const id = c.identity;
    if (!id) return;
    const entries = this.index.lookup(id.ecosystem, id.name);
    const viaSource = id.source && id.source !== id.name ? this.index.lookup(id.ecosystem, id.source) : undefined;
    if (!entries && !viaSource) return;
    const decided = new Map<string, Verdict>();
    const consider = (list: Entry[] | undefined, note: string): void => {
      for (const entry of list ?? []) {
        if (!releaseMatches(entry.ecosystem, id.distro)) continue;
        const prior = decided.get(entry.advisory.id);
        if (prior?.affected) continue;
        const verdict: Verdict =
          c.version === undefined ? { affected: false, reason: 'the SBOM gives no version for this component' } : judge(entry, c.version);
        if (verdict.affected) decided.set(entry.advisory.id, { affected: true, matched: verdict.matched + note });
        // Another entry of the same advisory (another release, the source package) may still be undecidable.
        else if (prior === undefined || (prior.reason === undefined && verdict.reason !== undefined)) decided.set(entry.advisory.id, verdict);
      }
    };
    consider(entries, '');
    consider(viaSource, ` (source package ${id.source})`);
    for (const [advisory, verdict] of decided) {
      if (verdict.affected) this.report.affected.push({ ...finding(sbom, c, advisory), matched: verdict.matched });
      else if (verdict.reason !== undefined) this.report.undecidable.push({ ...finding(sbom, c, advisory), reason: verdict.reason });
    }
  }

  result(): MatchReport {
    const r = this.report;
    return {
      ...r,
      counts: { ...r.counts, affected: r.affected.length, undecidable: r.undecidable.length, unreadable: r.unreadable.length },
    };
  }
}

/** Matches parsed SBOMs against advisories in one call. */
export function matchSboms(set: AdvisorySet, sboms: Iterable<SbomResult>): MatchReport {
  const matcher = new Matcher(new AdvisoryIndex(set));
  for (const s of sboms) matcher.add(s);
  return matcher.result();
}
