/**
 * Debian and Ubuntu package versions, written from Debian Policy §5.6.12
 * (dpkg's verrevcmp) because no maintained JavaScript implementation exists:
 * `[epoch:]upstream[-revision]`, epochs compared as numbers first; upstream and
 * revision compared alternately by non-digit runs (letters before non-letters,
 * `~` before everything, even the end) and digit runs as numbers. So `1.0~rc1`
 * < `1.0`, and `5.6.1+really5.4.5-1` > `5.6.1-1` (the xz-utils fix).
 */
import { compareDigits, type Comparator } from './types.ts';

interface DpkgVersion {
  epoch: string;
  upstream: string;
  revision: string;
}

const upstreamChars = /^[0-9][A-Za-z0-9.+~-]*$/;
const revisionChars = /^[A-Za-z0-9.+~]+$/;

function parse(v: string): DpkgVersion | undefined {
  const colon = v.indexOf(':');
  const epoch = colon === -1 ? '0' : v.slice(0, colon);
  if (!/^\d+$/.test(epoch)) return undefined;
  const rest = v.slice(colon + 1);
  const dash = rest.lastIndexOf('-');
  const upstream = dash === -1 ? rest : rest.slice(0, dash);
  const revision = dash === -1 ? '' : rest.slice(dash + 1);
  if (!upstreamChars.test(upstream) || (dash !== -1 && !revisionChars.test(revision))) return undefined;
  return { epoch, upstream, revision };
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

function order(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const diff = order(a[i]) - order(b[j]);
      if (diff !== 0) return diff;
      i++;
      j++;
    }
    const si = i;
    const sj = j;
    while (isDigit(a[i])) i++;
    while (isDigit(b[j])) j++;
    const diff = compareDigits(a.slice(si, i) || '0', b.slice(sj, j) || '0');
    if (diff !== 0) return diff;
  }
  return 0;
}

export const compareDpkg: Comparator = (a, b) => {
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return undefined;
  return compareDigits(x.epoch, y.epoch) || verrevcmp(x.upstream, y.upstream) || verrevcmp(x.revision, y.revision);
};
