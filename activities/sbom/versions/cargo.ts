import semver from 'semver';
import { type Comparator } from './types.ts';

/** crates.io: Cargo versions are strict SemVer 2.0 (no `v` prefix); build metadata does not order. */
export const compareCargo: Comparator = (a, b) => {
  if (a.startsWith('v') || b.startsWith('v') || a.startsWith('=') || b.startsWith('=')) return undefined;
  const x = semver.parse(a);
  const y = semver.parse(b);
  return x && y ? x.compare(y) : undefined;
};
