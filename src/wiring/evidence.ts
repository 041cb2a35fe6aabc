import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import {
  EvidenceStoreMisconfiguredError,
  LocalEvidenceStore,
  S3EvidenceStore,
  type EvidenceStore,
} from '../../activities/evidence/index.ts';
import { awsClientConfig, type ClientOverrides } from './clients.ts';
import type { Config } from '../config/index.ts';

export type EvidenceConfig = Pick<
  Config,
  | 'FIREBREAK_DATA_DIR'
  | 'FIREBREAK_EVIDENCE_BACKEND'
  | 'FIREBREAK_EVIDENCE_DIR'
  | 'FIREBREAK_EVIDENCE_S3_BUCKET'
  | 'FIREBREAK_EVIDENCE_S3_PREFIX'
  | 'FIREBREAK_EVIDENCE_RETENTION_DAYS'
  | 'AWS_REGION'
  | 'AWS_ENDPOINT_URL'
>;

export interface EvidenceOverrides extends ClientOverrides {
  /** An S3 client to use instead of one built from the configuration (tests, the sandbox). */
  s3?: S3Client;
}

/** The local evidence directory: FIREBREAK_EVIDENCE_DIR, else `<FIREBREAK_DATA_DIR>/evidence`, made absolute. */
export function evidenceDir(config: Pick<Config, 'FIREBREAK_DATA_DIR' | 'FIREBREAK_EVIDENCE_DIR'>): string {
  return resolve(config.FIREBREAK_EVIDENCE_DIR ?? join(config.FIREBREAK_DATA_DIR, 'evidence'));
}

/** The evidence store the configuration chose, for the worker and the CLI. */
export function createEvidenceStore(config: EvidenceConfig, overrides: EvidenceOverrides = {}): EvidenceStore {
  if (config.FIREBREAK_EVIDENCE_BACKEND === 'local') return new LocalEvidenceStore(evidenceDir(config));
  const bucket = config.FIREBREAK_EVIDENCE_S3_BUCKET;
  // The schema requires the bucket for the s3 backend; this guards callers that build a config by hand.
  if (bucket === undefined) {
    throw new EvidenceStoreMisconfiguredError('FIREBREAK_EVIDENCE_BACKEND=s3 needs FIREBREAK_EVIDENCE_S3_BUCKET: set it to a bucket created with Object Lock enabled.');
  }
  const prefix = config.FIREBREAK_EVIDENCE_S3_PREFIX;
  return new S3EvidenceStore({
    client: overrides.s3 ?? new S3Client(awsClientConfig(config, overrides)),
    bucket,
    prefix: prefix === undefined || prefix.endsWith('/') ? (prefix ?? '') : `${prefix}/`,
    retentionDays: config.FIREBREAK_EVIDENCE_RETENTION_DAYS,
  });
}
