import semver from 'semver';
import { type Comparator } from './types.ts';

/**
 * Go modules: semantic versions written with a `v` (OSV writes them without).
 * Pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`, `v1.2.4-0.2019…`) are
 * SemVer pre-releases by construction, so SemVer order is Go's order; `+incompatible`
 * is build metadata and does not order. `(devel)` and other non-versions are undecidable.
 */
function parseGo(v: string): semver.SemVer | null {
  const bare = v.startsWith('v') ? v.slice(1) : v;
  return /^\d/.test(bare) ? semver.parse(bare) : null;
}

export const compareGo: Comparator = (a, b) => {
  const x = parseGo(a);
  const y = parseGo(b);
  return x && y ? x.compare(y) : undefined;
};
