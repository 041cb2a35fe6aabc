import semver from 'semver';
import type { Comparator } from './types.ts';

/**
 * GitHub Actions refs as OSV's `GitHub Actions` ecosystem orders them: release
 * tags, with or without `v`. A moving major or minor tag (`v44`, `v44.1`) is
 * taken as the first release of its series, so a range that starts inside the
 * series is flagged rather than missed. A branch or commit SHA is not a
 * version: undecidable unless an advisory lists it exactly.
 */
function parse(ref: string): semver.SemVer | undefined {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?$/.exec(ref);
  if (!m) return undefined;
  return semver.parse(`${m[1]}.${m[2] ?? '0'}.${m[3] ?? '0'}${m[4] ?? ''}`) ?? undefined;
}

export const compareActionRef: Comparator = (a, b) => {
  const x = parse(a);
  const y = parse(b);
  return x && y ? x.compare(y) : undefined;
};
