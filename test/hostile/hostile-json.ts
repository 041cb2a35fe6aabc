/** Building blocks of the hostile suites: where a document can be changed, and prototype-pollution keys. */

/** Every path to a value in a parsed JSON document. */
export function paths(node: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (node !== null && typeof node === 'object') for (const [k, v] of Object.entries(node)) out.push(...paths(v, [...at, Array.isArray(node) ? Number(k) : k]));
  return out;
}

export function pollutant(): unknown {
  // JSON.parse makes `__proto__` an own key (as a server's parser would see it), and JSON.stringify writes it back.
  return JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"}}');
}

/** Adds the prototype-pollution keys to every object of the document. */
export function polluteEverywhere(node: unknown): void {
  if (node === null || typeof node !== 'object') return;
  for (const v of Object.values(node)) polluteEverywhere(v);
  if (!Array.isArray(node)) for (const [k, v] of Object.entries(pollutant() as object)) Object.defineProperty(node, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Sets the value at `path` in `doc` (the root itself is never replaced); a path through a value that is no longer an object does nothing. */
export function setAt(doc: unknown, path: readonly (string | number)[], value: unknown): void {
  if (path.length === 0) return;
  let node = doc as Record<string | number, unknown> | undefined;
  for (const k of path.slice(0, -1)) node = node !== null && typeof node === 'object' ? (node[k] as Record<string | number, unknown>) : undefined;
  if (node !== null && typeof node === 'object') node[path[path.length - 1]!] = value;
}
