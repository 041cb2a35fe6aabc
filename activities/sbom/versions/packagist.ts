/**
 * Packagist (Composer) version order, written from Composer's documented rules
 * (VersionParser::normalize, then PHP's version_compare) because no maintained
 * JavaScript implementation exists: a leading `v` and build metadata are
 * dropped (`v7.30.6` = `7.30.6`), up to four numeric parts with missing ones 0,
 * then stability dev < alpha (a) < beta (b) < RC < stable < patch (pl, p), its
 * number, and a trailing `-dev` before the same version without it. Branch
 * versions (`dev-main`, `2.x-dev`) have no order and are undecidable.
 */
import { compareDigitLists, compareDigits, type Comparator } from './types.ts';

const pattern = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:[._-]?(stable|beta|b|rc|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?$/i;
const stabilities: Record<string, number> = { alpha: 1, a: 1, beta: 2, b: 2, rc: 3, stable: 4, patch: 5, pl: 5, p: 5 };

interface ComposerVersion {
  parts: string[];
  stability: number;
  number: string[];
  dev: boolean;
}

function parse(v: string): ComposerVersion | undefined {
  const m = pattern.exec(v.trim().replace(/\+[^\s+]+$/, ''));
  if (!m) return undefined;
  const dev = m[7] !== undefined;
  const stability = m[5] ? stabilities[m[5].toLowerCase()]! : 4;
  return {
    parts: [m[1], m[2], m[3], m[4]].map((p) => p ?? '0'),
    // `1.0.0-dev` is the development line before 1.0.0: below its alphas.
    stability: dev && !m[5] ? 0 : stability,
    number: m[6] ? m[6].split(/[.-]/).filter((s) => s !== '') : [],
    dev: dev && m[5] !== undefined,
  };
}

export const comparePackagist: Comparator = (a, b) => {
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return undefined;
  const parts = compareDigitLists(x.parts, y.parts);
  if (parts !== 0) return parts;
  if (x.stability !== y.stability) return x.stability - y.stability;
  for (let i = 0; i < Math.max(x.number.length, y.number.length); i++) {
    const c = compareDigits(x.number[i] ?? '0', y.number[i] ?? '0');
    if (c !== 0) return c;
  }
  return x.dev === y.dev ? 0 : x.dev ? -1 : 1;
};
