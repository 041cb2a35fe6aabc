/**
 * Reads a source's SBOMs into a Matcher, a few at a time and in listing order,
 * so reading overlaps parsing while memory stays bounded by the window.
 */
import type { Matcher } from '../matcher.ts';
import { maxSbomBytes, parseSbom, type ReadOptions, type SbomResult } from '../sbom.ts';
import { SbomTooLargeError, type ImageSubject, type SbomEntry, type SbomSource } from './types.ts';

export interface ScanOptions extends ReadOptions {
  /** SBOMs read at once (default 8). */
  concurrency?: number;
  /** Appended to the size-limit problem: how to raise the limit in this program. */
  sizeHint?: string;
}

export interface ScanSummary {
  /** Images found with no SBOM at all: not scanned, so not known to be clean. */
  noSbom: { name: string; subject: ImageSubject }[];
}

function problemOf(e: unknown, hint: string | undefined): string {
  if (e instanceof SbomTooLargeError) return hint ? `${e.message} (${hint})` : e.message;
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string') return `cannot read: ${code}`;
  // AWS SDK errors are named by their code (NoSuchKey, AccessDenied).
  if (e instanceof Error && '$metadata' in e) return `cannot read: ${e.name}: ${e.message.split('\n')[0]}`;
  return `cannot read: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
}

/** The subject the source knows (the image) wins; the SBOM's own digests are kept beside it. */
function withSubject(result: SbomResult, subject: ImageSubject | undefined): SbomResult {
  if (!result.ok || subject === undefined) return result;
  const digests = [...new Set([...subject.digests, ...result.sbom.subject.digests])];
  return { ok: true, sbom: { ...result.sbom, subject: { label: subject.label, digests } } };
}

/** One entry read and parsed; never throws, a failure is a problem naming the entry. */
export async function readEntry(entry: SbomEntry, options: ScanOptions = {}): Promise<SbomResult> {
  const limit = options.maxBytes ?? maxSbomBytes;
  try {
    if (entry.size !== undefined && entry.size > limit) throw new SbomTooLargeError(entry.size, limit);
    const text = await entry.read(limit);
    return withSubject(parseSbom(text, entry.name, options.wanted), entry.subject);
  } catch (e) {
    return { ok: false, file: entry.name, problem: problemOf(e, options.sizeHint) };
  }
}

/** Adds every SBOM of the source to the matcher; unreadable ones as unreadable, by name. Throws only SbomSourceError. */
export async function scanSource(source: SbomSource, matcher: Matcher, options: ScanOptions = {}): Promise<ScanSummary> {
  const window = Math.max(1, options.concurrency ?? 8);
  const summary: ScanSummary = { noSbom: [] };
  const pending: Promise<SbomResult>[] = [];
  for await (const entry of source.list()) {
    if (entry.kind === 'no-sbom') summary.noSbom.push({ name: entry.name, subject: entry.subject });
    else if (entry.kind === 'unreadable') matcher.add({ ok: false, file: entry.name, problem: entry.problem });
    else {
      pending.push(readEntry(entry, options));
      if (pending.length >= window) matcher.add(await pending.shift()!);
    }
  }
  for (const p of pending) matcher.add(await p);
  return summary;
}
