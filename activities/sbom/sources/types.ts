/**
 * Where SBOMs come from: one interface for a directory, an S3 prefix and an
 * OCI registry, so the supply-chain runbook scans any of them the same way.
 * A source lists entries lazily (matching streams, a fleet's SBOMs are never
 * all in memory); an entry that cannot be read is reported by its name and
 * the rest still matched. Only a source that cannot be listed at all throws.
 */

/** The image an SBOM describes, as the source found it (registry referrers). */
export interface ImageSubject {
  /** How a responder names it: `registry/repo:tag index sha256:… platform linux/amd64 sha256:…`. */
  label: string;
  /** Every digest a match should name: the index and the platform manifest. */
  digests: string[];
}

/** An SBOM a source found: named as reports name it (a path, `s3://bucket/key`, `registry/repo@sha256:…`). */
export interface SbomEntry {
  kind: 'sbom';
  name: string;
  /** Size in bytes when the listing says, so an oversized SBOM is refused before it is read. */
  size?: number;
  subject?: ImageSubject;
  /** How the source found it, when it has more than one way (a registry: `referrers API`, `referrers tag schema`). */
  found?: string;
  /** The SBOM's text; throws SbomTooLargeError past maxBytes, any other error when it cannot be read. */
  read(maxBytes: number): Promise<string>;
}

/** An image the source found without any SBOM: listed, never counted as clean. */
export interface NoSbomEntry {
  kind: 'no-sbom';
  name: string;
  subject: ImageSubject;
}

/** Something the source found but could not use (an image manifest it could not read): reported by name. */
export interface UnreadableEntry {
  kind: 'unreadable';
  name: string;
  problem: string;
}

export type SourceEntry = SbomEntry | NoSbomEntry | UnreadableEntry;

export interface SbomSource {
  /** Names the source in messages: `directory sboms/`, `s3://bucket/prefix`, `registry http://…`. */
  readonly description: string;
  list(): AsyncIterable<SourceEntry>;
}

/** An SBOM over the size limit, known from its listing or found while reading it. */
export class SbomTooLargeError extends Error {
  override readonly name = 'SbomTooLargeError';
  constructor(
    readonly size: number | undefined,
    readonly limit: number,
  ) {
    const mib = 1024 * 1024;
    const shown = limit >= mib ? `${Math.round(limit / mib)} MiB` : `${limit}-byte`;
    super(`${size === undefined ? 'more than' : size} bytes, over the ${shown} limit for one SBOM`);
  }
}

/**
 * A source that cannot be listed at all. Retryable or not by type: an
 * unreachable or throttling server may answer later; a missing bucket or
 * repository, denied access or a wrong address will not.
 */
export abstract class SbomSourceError extends Error {
  abstract readonly retryable: boolean;
}
export class SbomSourceUnavailableError extends SbomSourceError {
  override readonly name = 'SbomSourceUnavailableError';
  readonly retryable = true;
}
export class SbomSourceRefusedError extends SbomSourceError {
  override readonly name = 'SbomSourceRefusedError';
  readonly retryable = false;
}
