/**
 * Typed failures of the evidence store. Whether a failure is worth retrying is
 * decided by its class (`retryable`), never by its message; every message says
 * what was wrong and what to do.
 */
export abstract class EvidenceError extends Error {
  /** True when the same call may succeed later (storage briefly unreachable). */
  abstract readonly retryable: boolean;
}

/** The caller passed something the store refuses: a bad incident id, name, media type or encoding. */
export class InvalidEvidenceInputError extends EvidenceError {
  override readonly name = 'InvalidEvidenceInputError';
  readonly retryable = false;
}

/** Nothing was ever sealed for this incident in this store. */
export class UnknownIncidentError extends EvidenceError {
  override readonly name = 'UnknownIncidentError';
  readonly retryable = false;
  constructor(
    readonly incidentId: string,
    where: string,
  ) {
    super(`No evidence manifest for incident "${incidentId}" in ${where}: check the incident id and the FIREBREAK_EVIDENCE_* settings.`);
  }
}

/**
 * The store cannot work as configured: an S3 bucket without Object Lock or that
 * does not exist, access denied, a directory that may not be written. Retrying
 * does not help; someone must change the configuration.
 */
export class EvidenceStoreMisconfiguredError extends EvidenceError {
  override readonly name = 'EvidenceStoreMisconfiguredError';
  readonly retryable = false;
}

/** The storage could not be reached or failed on its side (network, 5xx, throttling, I/O error). */
export class EvidenceStoreUnavailableError extends EvidenceError {
  override readonly name = 'EvidenceStoreUnavailableError';
  readonly retryable = true;
}

/** A manifest entry could not be read back: the manifest was edited or damaged. */
export class EvidenceManifestCorruptError extends EvidenceError {
  override readonly name = 'EvidenceManifestCorruptError';
  readonly retryable = false;
}

export function describeCause(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0] ?? e.name;
  return String(e);
}
