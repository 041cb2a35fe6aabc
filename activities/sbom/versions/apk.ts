/**
 * Alpine apk versions, written from apk-tools' version rules (Gentoo-derived)
 * because no maintained JavaScript implementation exists:
 * `digits{.digits}[letter]{_suffix[digits]}[~hash][-r#]`. The first number
 * compares as a number; later ones too, unless either starts with 0, when they
 * compare as decimal fractions (`1.01` < `1.1`). A letter sorts after none;
 * suffixes _alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p;
 * then the `-r` revision as a number.
 */
import { compareDigits, type Comparator } from './types.ts';

const pattern = /^(\d+(?:\.\d+)*)([a-z])?((?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*)(?:~[0-9a-f]+)?(?:-r(\d+))?$/;
const suffixRank: Record<string, number> = { alpha: -4, beta: -3, pre: -2, rc: -1, cvs: 1, svn: 2, git: 3, hg: 4, p: 5 };

interface ApkVersion {
  numbers: string[];
  letter: string;
  suffixes: { rank: number; n: string }[];
  revision: string;
}

function parse(v: string): ApkVersion | undefined {
  const m = pattern.exec(v);
  if (!m) return undefined;
  const suffixes = [...(m[3] ?? '').matchAll(/_([a-z]+)(\d*)/g)].map((s) => ({ rank: suffixRank[s[1]!]!, n: s[2] || '0' }));
  return { numbers: m[1]!.split('.'), letter: m[2] ?? '', suffixes, revision: m[4] ?? '0' };
}

function compareFraction(a: string, b: string): number {
  const x = a.replace(/0+$/, '');
  const y = b.replace(/0+$/, '');
  return x < y ? -1 : x > y ? 1 : 0;
}

export const compareApk: Comparator = (a, b) => {
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return undefined;
  const n = Math.max(x.numbers.length, y.numbers.length);
  for (let i = 0; i < n; i++) {
    const p = x.numbers[i];
    const q = y.numbers[i];
    if (p === undefined || q === undefined) return p === undefined ? -1 : 1;
    const c = i > 0 && (p.startsWith('0') || q.startsWith('0')) ? compareFraction(p, q) : compareDigits(p, q);
    if (c !== 0) return c;
  }
  if (x.letter !== y.letter) return x.letter < y.letter ? -1 : 1;
  for (let i = 0; i < Math.max(x.suffixes.length, y.suffixes.length); i++) {
    const s = x.suffixes[i];
    const t = y.suffixes[i];
    // A version with one more suffix is older when it is a pre-release suffix, newer when a post-release one.
    if (s === undefined) return t!.rank < 0 ? 1 : -1;
    if (t === undefined) return s.rank < 0 ? -1 : 1;
    if (s.rank !== t.rank) return s.rank - t.rank;
    const c = compareDigits(s.n, t.n);
    if (c !== 0) return c;
  }
  return compareDigits(x.revision, y.revision);
};
