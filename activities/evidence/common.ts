import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidEvidenceInputError } from './errors.ts';
import type { EvidenceContent, EvidenceRef, SealInput, VerifyItem } from './types.ts';

/** Incident ids become path and key components: no separators, no leading dot. */
const incidentIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
const mediaTypePattern = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;
const sha256Pattern = /^[0-9a-f]{64}$/;
// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f]/;

export const defaultMediaType = 'application/octet-stream';

export function checkIncidentId(incidentId: string): string {
  if (!incidentIdPattern.test(incidentId)) {
    throw new InvalidEvidenceInputError(
      `Invalid incident id ${JSON.stringify(incidentId)}: use 1 to 200 letters, digits, ".", "_", ":" or "-", starting with a letter or digit (no "/" or "..").`,
    );
  }
  return incidentId;
}

function checkName(name: string): string {
  if (name.length === 0 || name.length > 256 || controlCharacters.test(name)) {
    throw new InvalidEvidenceInputError(
      `Invalid evidence name ${JSON.stringify(name.slice(0, 80))}: use 1 to 256 printable characters, no control characters or newlines.`,
    );
  }
  return name;
}

function checkMediaType(mediaType: string | undefined): string {
  if (mediaType === undefined) return defaultMediaType;
  if (!mediaTypePattern.test(mediaType)) {
    throw new InvalidEvidenceInputError(
      `Invalid media type ${JSON.stringify(mediaType.slice(0, 80))}: expected type/subtype such as application/json or text/plain.`,
    );
  }
  return mediaType.toLowerCase();
}

/** Validates what `seal` receives; throws InvalidEvidenceInputError saying what to change. */
export function checkSealInput(input: SealInput): { incidentId: string; name: string; mediaType: string } {
  return { incidentId: checkIncidentId(input.incidentId), name: checkName(input.name), mediaType: checkMediaType(input.mediaType) };
}

/** The one incident a batch of seals is for (undefined for an empty batch); refuses a batch spanning incidents. */
export function sameIncident(inputs: readonly { incidentId: string }[]): string | undefined {
  const ids = new Set(inputs.map((i) => i.incidentId));
  if (ids.size > 1) {
    throw new InvalidEvidenceInputError(`Cannot seal one batch for ${ids.size} incidents (${[...ids].slice(0, 3).join(', ')}): seal each incident's items in a batch of its own.`);
  }
  return inputs[0]?.incidentId;
}

/** One manifest entry as stored. Parsing it back checks that nothing odd was written into the manifest. */
export const evidenceRefSchema = z.strictObject({
  incidentId: z.string().regex(incidentIdPattern),
  name: z.string().min(1).max(256),
  mediaType: z.string().regex(mediaTypePattern),
  uri: z.string().min(1),
  sha256: z.string().regex(sha256Pattern),
  bytes: z.number().int().nonnegative(),
  capturedAt: z.iso.datetime(),
}) satisfies z.ZodType<EvidenceRef>;

/** The entry of an earlier seal that a new seal of the same item repeats, if any. */
export function findSame(
  entries: readonly EvidenceRef[],
  item: { name: string; mediaType: string; sha256: string },
): EvidenceRef | undefined {
  return entries.find((e) => e.name === item.name && e.mediaType === item.mediaType && e.sha256 === item.sha256);
}

/**
 * Capture times, strictly increasing within one store even when two seals fall
 * in the same millisecond, so that sorting by capture time is capture order.
 */
export class CaptureClock {
  private last = 0;
  constructor(private readonly now: () => number = Date.now) {}

  next(): string {
    const t = Math.max(this.now(), this.last + 1);
    this.last = t;
    return new Date(t).toISOString();
  }
}

/** Content as bytes when it is already in memory, or as a stream to read chunk by chunk. */
export function inMemory(content: EvidenceContent): Uint8Array | undefined {
  if (typeof content === 'string') return Buffer.from(content, 'utf8');
  if (content instanceof Uint8Array) return content;
  return undefined;
}

export interface Digest {
  sha256: string;
  bytes: number;
}

/**
 * Reads a stream chunk by chunk, hashing each chunk and handing it to `write`
 * (awaited, so a slow sink slows the reader down) before the next is read. The
 * stream is never held in memory as a whole.
 */
export async function hashStream(
  stream: AsyncIterable<Uint8Array | string>,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<Digest> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    hash.update(data);
    bytes += data.byteLength;
    await write(data);
  }
  return { sha256: hash.digest('hex'), bytes };
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/** Hashes a stream, discarding its content. */
export async function digestOf(stream: AsyncIterable<Uint8Array | string>): Promise<Digest> {
  return hashStream(stream, () => Promise.resolve());
}

/** What verify reports for one manifest entry, given what is stored now (undefined: nothing). */
export function verdict(entry: EvidenceRef, stored: Digest | undefined): VerifyItem {
  if (stored === undefined) return { name: entry.name, sha256: entry.sha256, status: 'missing' };
  if (stored.sha256 !== entry.sha256 || stored.bytes !== entry.bytes) {
    return { name: entry.name, sha256: entry.sha256, status: 'mismatch', actualSha256: stored.sha256 };
  }
  return { name: entry.name, sha256: entry.sha256, status: 'ok' };
}

/** Runs `fn` for each item with at most `limit` at a time, keeping the results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  return results;
}

/** Serialises async work per key (an incident), within this process. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
