/**
 * What the evidence store records and hands out. Workflows hold only these
 * references (URI + SHA-256 + size), never the content itself.
 */

/** Content to seal: text (UTF-8), bytes, or a stream read chunk by chunk (a Node Readable is one). */
export type EvidenceContent = string | Uint8Array | AsyncIterable<Uint8Array>;

export interface SealInput {
  /** The incident the evidence belongs to: letters, digits and `. _ : -`, starting with a letter or digit. */
  incidentId: string;
  /** What the item is, e.g. `pod web-1 describe`; shown in the manifest, never used as a path. */
  name: string;
  content: EvidenceContent;
  /** IANA media type such as `application/json`; `application/octet-stream` when omitted. */
  mediaType?: string;
}

/** A sealed item, as returned by `seal` and listed, one per line, in the incident's manifest. No content. */
export interface EvidenceRef {
  incidentId: string;
  name: string;
  mediaType: string;
  /** Where the blob is: `file:///…/blobs/sha256/ab/ab12…` or `s3://bucket/…/blobs/sha256/ab12…`. */
  uri: string;
  /** Lower-case hex SHA-256 of the content. */
  sha256: string;
  bytes: number;
  /** ISO 8601, UTC, millisecond precision; strictly increasing within one store. */
  capturedAt: string;
}

export type VerifyStatus = 'ok' | 'mismatch' | 'missing';

export interface VerifyItem {
  name: string;
  /** The SHA-256 the manifest recorded when the item was sealed. */
  sha256: string;
  status: VerifyStatus;
  /** The SHA-256 of what is stored now, when it differs from the recorded one. */
  actualSha256?: string;
}

export interface VerifyReport {
  incidentId: string;
  items: VerifyItem[];
  /** True when every item is stored and hashes to what was recorded. */
  ok: boolean;
}

/** A write-once, content-addressed store of incident evidence. */
export interface EvidenceStore {
  /** Where the store keeps its data, for messages: a directory or an s3:// URL. */
  readonly location: string;
  /**
   * Stores the content under its SHA-256 (never overwriting a stored blob) and
   * appends an entry to the incident's manifest. Sealing the same content under
   * the same name and media type again returns the first reference unchanged.
   */
  seal(input: SealInput): Promise<EvidenceRef>;
  /**
   * Seals several items as one: their blobs are stored concurrently and their
   * manifest entries written together, in the order given, with one durable
   * flush of the manifest instead of one per item. Each item behaves as `seal`
   * (an item sealed before returns its first reference). Nothing is listed in
   * the manifest until every blob is stored.
   */
  sealAll(inputs: readonly SealInput[]): Promise<EvidenceRef[]>;
  /** The incident's manifest in capture order; empty when nothing was sealed. */
  manifest(incidentId: string): Promise<EvidenceRef[]>;
  /**
   * Re-hashes every stored blob the manifest lists. Throws UnknownIncidentError
   * when the incident has no manifest.
   */
  verify(incidentId: string): Promise<VerifyReport>;
}
