/**
 * A version comparator for one ecosystem: negative, zero or positive like
 * Array.prototype.sort, or `undefined` when either version is not a version of
 * that ecosystem (then nothing can be decided about it, and the caller says so).
 */
export type Comparator = (a: string, b: string) => number | undefined;

/** Normalises a comparator result to -1, 0 or 1 (libraries return any sign). */
export function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Compares two runs of decimal digits of any length without overflowing. */
export function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Compares two lists of digit strings position by position (both padded to the same length by the parser). */
export function compareDigitLists(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const c = compareDigits(a[i] ?? '0', b[i] ?? '0');
    if (c !== 0) return c;
  }
  return 0;
}
