import semver from 'semver';
import { type Comparator } from './types.ts';

/** npm and OSV `SEMVER` ranges: SemVer 2.0 as npm implements it (a leading `v` or `=` is accepted, as npm does). */
export const compareNpm: Comparator = (a, b) => {
  const x = semver.parse(a);
  const y = semver.parse(b);
  return x && y ? x.compare(y) : undefined;
};
