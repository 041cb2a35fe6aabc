// The evidence store: content-addressed (SHA-256), write-once, one manifest per incident.
export { createEvidenceActivities, sealItem, type EvidenceActivities, type SealedItem, type SealEvidenceInput } from './activities.ts';
export {
  EvidenceError,
  EvidenceManifestCorruptError,
  EvidenceStoreMisconfiguredError,
  EvidenceStoreUnavailableError,
  InvalidEvidenceInputError,
  UnknownIncidentError,
} from './errors.ts';
export { LocalEvidenceStore, type LocalEvidenceStoreOptions } from './local.ts';
export { S3EvidenceStore, type S3EvidenceStoreOptions } from './s3.ts';
export type { EvidenceContent, EvidenceRef, EvidenceStore, SealInput, VerifyItem, VerifyReport, VerifyStatus } from './types.ts';
