/**
 * Maven version order, written from Maven's "Version Order Specification"
 * (ComparableVersion) because no maintained JavaScript implementation exists.
 * A version is split at `.`, `-` and digit/letter transitions into a list of
 * numbers and qualifiers; `-` and transitions open a sub-list; trailing "null"
 * items (0, "", final, ga, release) are dropped. Qualifiers order
 * alpha < beta < milestone < rc = cr < snapshot < "" = final = ga = release < sp,
 * then unknown qualifiers lexically; `a1`, `b1`, `m1` mean alpha/beta/milestone 1.
 * Case does not matter. `.qualifier` orders as `-qualifier` (the spec's rule).
 */
import { compareDigits, type Comparator } from './types.ts';

type Item = { kind: 'int'; value: string } | { kind: 'str'; value: string } | { kind: 'list'; items: Item[] };

const qualifiers = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const aliases: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' };
const releaseIndex = String(qualifiers.indexOf(''));

function comparableQualifier(q: string): string {
  const i = qualifiers.indexOf(q);
  return i === -1 ? `${qualifiers.length}-${q}` : String(i);
}

function stringItem(value: string, followedByDigit: boolean): Item {
  if (followedByDigit && value.length === 1) value = ({ a: 'alpha', b: 'beta', m: 'milestone' } as Record<string, string>)[value] ?? value;
  return { kind: 'str', value: aliases[value] ?? value };
}

function parseItem(isDigit: boolean, token: string): Item {
  return isDigit ? { kind: 'int', value: token.replace(/^0+(?=\d)/, '') } : stringItem(token, false);
}

function isNull(item: Item): boolean {
  if (item.kind === 'int') return /^0+$/.test(item.value);
  if (item.kind === 'str') return item.value === '';
  return item.items.length === 0;
}

function normalize(list: Item[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const item = list[i]!;
    if (isNull(item)) list.splice(i, 1);
    else if (item.kind !== 'list') break;
  }
}

function parse(version: string): Item {
  const v = version.toLowerCase();
  const root: Item[] = [];
  let list = root;
  const stack: Item[][] = [root];
  let isDigit = false;
  let start = 0;
  const open = (): void => {
    const sub: Item[] = [];
    list.push({ kind: 'list', items: sub });
    list = sub;
    stack.push(sub);
  };
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    const next = v[i + 1];
    // The spec orders `.qualifier` as `-qualifier`: a dot before letters opens a sub-list as a hyphen does.
    if (c === '.' && !(next !== undefined && /[a-z]/.test(next))) {
      list.push(i === start ? { kind: 'int', value: '0' } : parseItem(isDigit, v.slice(start, i)));
      start = i + 1;
    } else if (c === '-' || c === '.') {
      list.push(i === start ? { kind: 'int', value: '0' } : parseItem(isDigit, v.slice(start, i)));
      start = i + 1;
      open();
    } else if (c >= '0' && c <= '9') {
      if (!isDigit && i > start) {
        list.push(stringItem(v.slice(start, i), true));
        start = i;
        open();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.push(parseItem(true, v.slice(start, i)));
        start = i;
        open();
      }
      isDigit = false;
    }
  }
  if (v.length > start) list.push(parseItem(isDigit, v.slice(start)));
  while (stack.length > 0) normalize(stack.pop()!);
  return { kind: 'list', items: root };
}

/** `b` undefined stands for "nothing there" (a shorter version), as ComparableVersion's null. */
function compareItem(a: Item, b: Item | undefined): number {
  switch (a.kind) {
    case 'int':
      if (b === undefined) return isNull(a) ? 0 : 1;
      return b.kind === 'int' ? compareDigits(a.value, b.value) : 1;
    case 'str': {
      const qa = comparableQualifier(a.value);
      if (b === undefined) return qa < releaseIndex ? -1 : qa > releaseIndex ? 1 : 0;
      if (b.kind === 'int' || b.kind === 'list') return -1;
      const qb = comparableQualifier(b.value);
      return qa < qb ? -1 : qa > qb ? 1 : 0;
    }
    case 'list': {
      if (b === undefined) return a.items.length === 0 ? 0 : compareItem(a.items[0]!, undefined);
      if (b.kind === 'int') return -1;
      if (b.kind === 'str') return 1;
      const n = Math.max(a.items.length, b.items.length);
      for (let i = 0; i < n; i++) {
        const l = a.items[i];
        const r = b.items[i];
        const c = l === undefined ? (r === undefined ? 0 : -compareItem(r, undefined)) : compareItem(l, r);
        if (c !== 0) return c;
      }
      return 0;
    }
  }
}

// Maven orders any string; refuse what is plainly not a version (empty, spaces, ranges) so it is reported, not guessed.
// A version must start with a digit: letter-first ones (RELEASE, LATEST, ga.alpha) are where ComparableVersion's
// list-against-string rule stops being transitive, and no release is numbered so.
const plausible = /^[0-9][0-9A-Za-z._+-]*$/;

export const compareMaven: Comparator = (a, b) => (plausible.test(a) && plausible.test(b) ? compareItem(parse(a), parse(b)) : undefined);
