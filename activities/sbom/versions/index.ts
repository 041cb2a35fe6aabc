/**
 * Version order per ecosystem. The ecosystems are OSV's names; an OSV
 * ecosystem with a release (`Debian:12`, `Alpine:v3.20`) orders like its base.
 * An ecosystem without a comparator here is answered "cannot decide", never
 * "unaffected": the caller must report it.
 */
import { compareActionRef } from './actions.ts';
import { compareApk } from './apk.ts';
import { compareCargo } from './cargo.ts';
import { compareDpkg } from './dpkg.ts';
import { compareGo } from './go.ts';
import { compareMaven } from './maven.ts';
import { compareNpm } from './npm.ts';
import { compareNuget } from './nuget.ts';
import { comparePackagist } from './packagist.ts';
import { comparePypi } from './pypi.ts';
import { compareRubygems } from './rubygems.ts';
import { sign, type Comparator } from './types.ts';

export type { Comparator } from './types.ts';

export const orderedEcosystems = [
  'npm',
  'PyPI',
  'Maven',
  'Go',
  'Packagist',
  'RubyGems',
  'crates.io',
  'NuGet',
  'Debian',
  'Ubuntu',
  'Alpine',
  'GitHub Actions',
] as const;
export type OrderedEcosystem = (typeof orderedEcosystems)[number];

const comparators: Record<OrderedEcosystem, Comparator> = {
  npm: compareNpm,
  PyPI: comparePypi,
  Maven: compareMaven,
  Go: compareGo,
  Packagist: comparePackagist,
  RubyGems: compareRubygems,
  'crates.io': compareCargo,
  NuGet: compareNuget,
  Debian: compareDpkg,
  Ubuntu: compareDpkg,
  Alpine: compareApk,
  'GitHub Actions': compareActionRef,
};

/** OSV's `SEMVER` range type orders by SemVer 2.0 whatever the ecosystem; Go writes a `v` that OSV leaves out. */
export const compareSemverRange: Comparator = (a, b) => compareGo(a, b);

/** `Debian:12` → `Debian`. */
export function baseEcosystem(ecosystem: string): string {
  const colon = ecosystem.indexOf(':');
  return colon === -1 ? ecosystem : ecosystem.slice(0, colon);
}

/** The comparator of an ecosystem, or undefined when Firebreak cannot order its versions. */
export function comparatorFor(ecosystem: string): Comparator | undefined {
  const base = baseEcosystem(ecosystem);
  return Object.hasOwn(comparators, base) ? comparators[base as OrderedEcosystem] : undefined;
}

export type Order = { decided: true; order: -1 | 0 | 1 } | { decided: false; reason: string };

/** Orders two versions of an ecosystem, or says why it cannot. */
export function compareVersions(ecosystem: string, a: string, b: string): Order {
  const compare = comparatorFor(ecosystem);
  if (!compare) return { decided: false, reason: `Firebreak cannot order ${ecosystem} versions` };
  const c = compare(a, b);
  if (c === undefined) {
    return { decided: false, reason: `"${compare(a, a) === undefined ? a : b}" is not a ${baseEcosystem(ecosystem)} version` };
  }
  return { decided: true, order: sign(c) };
}
