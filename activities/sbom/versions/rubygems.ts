import { eq, lt, valid } from '@renovatebot/ruby-semver';
import { type Comparator } from './types.ts';

/** RubyGems: Gem::Version order (a letter segment makes a pre-release: `1.0.0.a` < `1.0.0`), via @renovatebot/ruby-semver. */
export const compareRubygems: Comparator = (a, b) => {
  if (valid(a) === null || valid(b) === null) return undefined;
  return eq(a, b) ? 0 : lt(a, b) ? -1 : 1;
};
