/**
 * NuGet version order, written from NuGet's "Package versioning" rules because
 * no maintained JavaScript implementation exists (the one on npm orders
 * `beta.2` after `beta.11`): up to four numeric parts, missing ones are 0
 * (`1.0` = `1.0.0.0`), leading zeros do not count; a pre-release sorts before
 * its release, its labels compared case-insensitively, numeric labels as
 * numbers and before alphanumeric ones (SemVer 2.0); build metadata is ignored.
 */
import { compareDigitLists, compareDigits, type Comparator } from './types.ts';

const pattern = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

interface NugetVersion {
  parts: string[];
  labels: string[];
}

function parse(v: string): NugetVersion | undefined {
  const m = pattern.exec(v.trim());
  if (!m) return undefined;
  return { parts: [m[1], m[2], m[3], m[4]].map((p) => p ?? '0'), labels: m[5] ? m[5].toLowerCase().split('.') : [] };
}

function compareLabel(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return compareDigits(a, b);
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export const compareNuget: Comparator = (a, b) => {
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return undefined;
  const parts = compareDigitLists(x.parts, y.parts);
  if (parts !== 0) return parts;
  if (x.labels.length === 0 || y.labels.length === 0) return y.labels.length - x.labels.length;
  for (let i = 0; i < Math.min(x.labels.length, y.labels.length); i++) {
    const c = compareLabel(x.labels[i]!, y.labels[i]!);
    if (c !== 0) return c;
  }
  return x.labels.length - y.labels.length;
};
