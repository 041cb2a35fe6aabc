import { S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { createEvidenceActivities, LocalEvidenceStore, S3EvidenceStore } from '../../activities/evidence/index.ts';
import { freePort } from '../../src/sandbox/processes.ts';
import { awsTestConfig } from '../support/servers.ts';
import { sha256, tempDir } from './helpers.ts';

describe('the evidence activities', () => {
  it('sealEvidence decodes base64 content and returns the reference of the exact bytes', async () => {
    const store = new LocalEvidenceStore(await tempDir('activities'));
    const { sealEvidence, evidenceManifest } = createEvidenceActivities(store);
    const bytes = Buffer.from([0, 255, 1, 254, 10, 13]);

    const ref = await sealEvidence({ incidentId: 'INC-1', name: 'pcap', mediaType: 'application/vnd.tcpdump.pcap', content: bytes.toString('base64'), encoding: 'base64' });

    expect(ref).toMatchObject({ sha256: sha256(bytes), bytes: 6, mediaType: 'application/vnd.tcpdump.pcap' });
    expect(await evidenceManifest('INC-1')).toEqual([ref]);
  });

  it('sealEvidence seals text as UTF-8 by default', async () => {
    const { sealEvidence } = createEvidenceActivities(new LocalEvidenceStore(await tempDir('activities')));
    const ref = await sealEvidence({ incidentId: 'INC-2', name: 'note', content: 'naïve – ünïcode' });
    expect(ref).toMatchObject({ sha256: sha256(Buffer.from('naïve – ünïcode', 'utf8')), mediaType: 'application/octet-stream' });
  });

  it('fails non-retryably, typed by the error class, on invalid input', async () => {
    const { sealEvidence } = createEvidenceActivities(new LocalEvidenceStore(await tempDir('activities')));

    const bad = [
      sealEvidence({ incidentId: '../etc', name: 'x', content: 'x' }),
      sealEvidence({ incidentId: 'INC-3', name: 'x', content: 'not base64!', encoding: 'base64' }),
      sealEvidence({ incidentId: 'INC-3', name: 'x', content: 'x', mediaType: 'not a media type' }),
    ];

    for (const attempt of bad) {
      const failure = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({ type: 'InvalidEvidenceInputError', nonRetryable: true });
    }
  });

  it('fails retryably when the storage cannot be reached', async () => {
    const port = await freePort();
    const client = new S3Client({ ...awsTestConfig(), endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
    const { sealEvidence } = createEvidenceActivities(new S3EvidenceStore({ client, bucket: 'evidence', retentionDays: 1 }));

    await expect(sealEvidence({ incidentId: 'INC-4', name: 'x', content: 'x' })).rejects.toMatchObject({
      type: 'EvidenceStoreUnavailableError',
      nonRetryable: false,
    });
  });
});
