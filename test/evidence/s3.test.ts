import { readdir } from 'node:fs/promises';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import {
  EvidenceStoreMisconfiguredError,
  EvidenceStoreUnavailableError,
  S3EvidenceStore,
} from '../../activities/evidence/index.ts';
import { freePort } from '../../src/sandbox/processes.ts';
import { awsClient, awsTestConfig, uniqueName } from '../support/servers.ts';
import { reusedBufferStream, sha256, tempDir } from './helpers.ts';

const day = 86_400_000;
const s3 = awsClient(S3Client);

async function lockedBucket(): Promise<string> {
  const bucket = uniqueName('evidence').toLowerCase();
  await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  return bucket;
}

function store(bucket: string, retentionDays = 30) {
  return new S3EvidenceStore({ client: s3, bucket, retentionDays, prefix: 'firebreak/' });
}

describe('the S3 evidence store (moto)', () => {
  it('seals content under its SHA-256 and size and returns an s3:// URI to the blob', async () => {
    const bucket = await lockedBucket();
    const content = 'kubectl describe pod web-1\n';

    const ref = await store(bucket).seal({ incidentId: 'INC-1', name: 'describe', content, mediaType: 'text/plain' });

    expect(ref).toMatchObject({
      incidentId: 'INC-1',
      name: 'describe',
      mediaType: 'text/plain',
      sha256: sha256(content),
      bytes: Buffer.byteLength(content),
      uri: `s3://${bucket}/firebreak/blobs/sha256/${sha256(content)}`,
    });
  });

  it('locks the blob and the manifest entry in COMPLIANCE mode until retentionDays from now, with their SHA-256 checksums', async () => {
    const bucket = await lockedBucket();
    const before = Date.now();
    const ref = await store(bucket, 400).seal({ incidentId: 'INC-2', name: 'cloudtrail', content: '{"events":[]}' });
    const after = Date.now();
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'firebreak/incidents/INC-2/manifest/' }));
    const entryKey = listed.Contents?.[0]?.Key;
    expect(listed.Contents).toHaveLength(1);
    expect(entryKey).toMatch(new RegExp(`^firebreak/incidents/INC-2/manifest/${ref.capturedAt}-${ref.sha256.slice(0, 12)}\\.json$`));

    for (const key of [`firebreak/blobs/sha256/${ref.sha256}`, entryKey]) {
      // GetObjectRetention is not implemented by moto 5.2.5; HeadObject returns the same lock headers.
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
      expect(head.ObjectLockMode).toBe('COMPLIANCE');
      const until = head.ObjectLockRetainUntilDate?.getTime() ?? 0;
      expect(until).toBeGreaterThanOrEqual(before + 400 * day - 1000);
      expect(until).toBeLessThanOrEqual(after + 400 * day + 1000);
      expect(head.ChecksumSHA256).toEqual(expect.any(String));
    }
    const blobHead = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `firebreak/blobs/sha256/${ref.sha256}`, ChecksumMode: 'ENABLED' }));
    expect(blobHead.ChecksumSHA256).toBe(Buffer.from(ref.sha256, 'hex').toString('base64'));
  });

  it('keeps a sealed blob from being deleted while it is retained', async () => {
    const bucket = await lockedBucket();
    const ref = await store(bucket).seal({ incidentId: 'INC-3', name: 'logs', content: 'evidence' });
    const key = `firebreak/blobs/sha256/${ref.sha256}`;
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));

    await expect(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: head.VersionId }))).rejects.toMatchObject({
      name: 'AccessDenied',
    });
  });

  it('returns the first reference for the same content and writes the blob and the entry only once', async () => {
    const bucket = await lockedBucket();
    const evidence = store(bucket);
    const input = { incidentId: 'INC-4', name: 'iam user', content: '{"UserName":"ci"}', mediaType: 'application/json' };

    const first = await evidence.seal(input);
    const again = await evidence.seal(input);
    // A fresh store (another worker, a retried activity) finds the entry too.
    const fromAnother = await store(bucket).seal(input);

    expect(again).toEqual(first);
    expect(fromAnother).toEqual(first);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'firebreak/' }));
    const keys = versions.Versions?.map((v) => v.Key) ?? [];
    expect(keys).toHaveLength(2);
    expect(keys).toContain(`firebreak/blobs/sha256/${first.sha256}`);
    expect(keys.filter((k) => k?.startsWith('firebreak/incidents/INC-4/manifest/'))).toHaveLength(1);
  });

  it('lists the manifest in capture order, a second content under the same name beside the first', async () => {
    const bucket = await lockedBucket();
    const evidence = store(bucket);
    const v1 = await evidence.seal({ incidentId: 'INC-5', name: 'policy', content: 'v1' });
    const other = await evidence.seal({ incidentId: 'INC-5', name: 'pods', content: 'list' });
    const v2 = await evidence.seal({ incidentId: 'INC-5', name: 'policy', content: 'v2' });

    expect(await store(bucket).manifest('INC-5')).toEqual([v1, other, v2]);
    expect(v2.sha256).not.toBe(v1.sha256);
  });

  it('seals a batch in the order given, and a second seal of the same batch writes no new entry', async () => {
    const bucket = await lockedBucket();
    const evidence = store(bucket);
    const batch = [
      { incidentId: 'INC-6', name: 'pod.json', content: '{"pod":1}', mediaType: 'application/json' },
      { incidentId: 'INC-6', name: 'network-policies.json', content: '{"items":[]}', mediaType: 'application/json' },
    ];

    const refs = await evidence.sealAll(batch);
    const again = await store(bucket).sealAll(batch);

    expect(refs.map((r) => r.name)).toEqual(['pod.json', 'network-policies.json']);
    expect(again).toEqual(refs);
    expect(await store(bucket).manifest('INC-6')).toEqual(refs);
  });

  it('reports a blob overwritten by a newer object version as a mismatch', async () => {
    const bucket = await lockedBucket();
    const evidence = store(bucket);
    const ref = await evidence.seal({ incidentId: 'INC-6', name: 'audit', content: 'the attacker ran whoami' });

    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `firebreak/blobs/sha256/${ref.sha256}`, Body: 'nothing to see' }));

    expect(await evidence.verify('INC-6')).toEqual({
      incidentId: 'INC-6',
      ok: false,
      items: [{ name: 'audit', sha256: ref.sha256, status: 'mismatch', actualSha256: sha256('nothing to see') }],
    });
  });

  it('reports a blob hidden behind a delete marker as missing', async () => {
    const bucket = await lockedBucket();
    const evidence = store(bucket);
    const kept = await evidence.seal({ incidentId: 'INC-7', name: 'kept', content: 'k' });
    const ref = await evidence.seal({ incidentId: 'INC-7', name: 'gone', content: 'g' });

    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `firebreak/blobs/sha256/${ref.sha256}` }));

    expect(await evidence.verify('INC-7')).toEqual({
      incidentId: 'INC-7',
      ok: false,
      items: [
        { name: 'kept', sha256: kept.sha256, status: 'ok' },
        { name: 'gone', sha256: ref.sha256, status: 'missing' },
      ],
    });
  });

  it('refuses a bucket without Object Lock, non-retryably, saying how to create one, and stores nothing', async () => {
    const bucket = uniqueName('unlocked').toLowerCase();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));

    const sealing = store(bucket).seal({ incidentId: 'INC-8', name: 'x', content: 'x' });

    await expect(sealing).rejects.toBeInstanceOf(EvidenceStoreMisconfiguredError);
    await expect(sealing).rejects.toMatchObject({
      retryable: false,
      message: expect.stringContaining('--object-lock-enabled-for-bucket'),
    });
    expect((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount).toBe(0);
  });

  it('refuses a bucket that does not exist, non-retryably, naming it', async () => {
    const bucket = uniqueName('absent').toLowerCase();
    const sealing = store(bucket).seal({ incidentId: 'INC-9', name: 'x', content: 'x' });
    await expect(sealing).rejects.toBeInstanceOf(EvidenceStoreMisconfiguredError);
    await expect(sealing).rejects.toMatchObject({ message: expect.stringContaining(`${bucket} does not exist`) });
  });

  it('fails retryably when S3 cannot be reached', async () => {
    const port = await freePort();
    const client = new S3Client({ ...awsTestConfig(), endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
    const unreachable = new S3EvidenceStore({ client, bucket: 'evidence', retentionDays: 1 });

    const verifying = unreachable.verify('INC-10');
    await expect(verifying).rejects.toBeInstanceOf(EvidenceStoreUnavailableError);
    await expect(verifying).rejects.toMatchObject({ retryable: true, message: expect.stringContaining('Check network access to S3') });
  });

  it('seals a multi-megabyte stream by spooling it while hashing, even when the producer reuses its buffer', async () => {
    const bucket = await lockedBucket();
    const spoolDir = await tempDir('spool');
    const evidence = new S3EvidenceStore({ client: s3, bucket, retentionDays: 1, spoolDir });
    const { stream, sha256: expected, bytes } = reusedBufferStream(12, 1024 * 1024);

    const ref = await evidence.seal({ incidentId: 'INC-11', name: 'core dump', content: stream });

    expect(ref).toMatchObject({ sha256: expected, bytes, uri: `s3://${bucket}/blobs/sha256/${expected}` });
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `blobs/sha256/${expected}` }))).ContentLength).toBe(bytes);
    expect((await evidence.verify('INC-11')).ok).toBe(true);
    expect(await readdir(spoolDir)).toEqual([]);
  });
});
