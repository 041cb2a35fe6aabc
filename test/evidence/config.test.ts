import { S3Client } from '@aws-sdk/client-s3';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalEvidenceStore, S3EvidenceStore } from '../../activities/evidence/index.ts';
import { parseConfig } from '../../src/config/index.ts';
import { createEvidenceStore } from '../../src/wiring/evidence.ts';
import { problemsOf } from '../support/config.ts';

describe('evidence configuration', () => {
  it('defaults to a local store in <FIREBREAK_DATA_DIR>/evidence', () => {
    const config = parseConfig({ FIREBREAK_DATA_DIR: '/var/lib/firebreak' });
    expect(config).toMatchObject({ FIREBREAK_EVIDENCE_BACKEND: 'local', FIREBREAK_EVIDENCE_RETENTION_DAYS: 365 });

    const store = createEvidenceStore(config);
    expect(store).toBeInstanceOf(LocalEvidenceStore);
    expect(store.location).toBe('/var/lib/firebreak/evidence');
  });

  it('uses FIREBREAK_EVIDENCE_DIR, made absolute, when set', () => {
    const store = createEvidenceStore(parseConfig({ FIREBREAK_EVIDENCE_DIR: 'some/where' }));
    expect(store.location).toBe(resolve('some/where'));
  });

  it('requires a bucket when the backend is s3', () => {
    expect(problemsOf({ FIREBREAK_EVIDENCE_BACKEND: 's3' })).toEqual([
      {
        variable: 'FIREBREAK_EVIDENCE_S3_BUCKET',
        message: 'required when FIREBREAK_EVIDENCE_BACKEND=s3 (a bucket created with Object Lock enabled)',
      },
    ]);
  });

  it('rejects a retention that is not a whole number of days of at least one', () => {
    for (const days of ['0', '1.5', 'a year']) {
      expect(problemsOf({ FIREBREAK_EVIDENCE_RETENTION_DAYS: days }).map((p) => p.variable)).toEqual([
        'FIREBREAK_EVIDENCE_RETENTION_DAYS',
      ]);
    }
  });

  it('builds an S3 store on the bucket, with the key prefix ending in a slash', () => {
    const config = parseConfig({
      FIREBREAK_EVIDENCE_BACKEND: 's3',
      FIREBREAK_EVIDENCE_S3_BUCKET: 'acme-evidence',
      FIREBREAK_EVIDENCE_S3_PREFIX: 'firebreak/prod',
      FIREBREAK_EVIDENCE_RETENTION_DAYS: '2555',
    });
    const store = createEvidenceStore(config, { s3: new S3Client({ region: 'us-east-1' }) });
    expect(store).toBeInstanceOf(S3EvidenceStore);
    expect(store.location).toBe('s3://acme-evidence/firebreak/prod/');
  });
});
