import { compare, valid } from '@renovatebot/pep440';
import { type Comparator } from './types.ts';

/** PyPI: PEP 440 (epochs, pre/post/dev releases, local versions) via @renovatebot/pep440. */
export const comparePypi: Comparator = (a, b) => (valid(a) !== null && valid(b) !== null ? compare(a, b) : undefined);
