import { readFile } from 'node:fs/promises';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { readOsvFile } from '../../../activities/sbom/advisories.ts';
import { AdvisoryIndex, Matcher } from '../../../activities/sbom/matcher.ts';
import { s3Source, SbomSourceRefusedError, scanSource } from '../../../activities/sbom/sources/index.ts';
import { awsClient, uniqueName } from '../../support/servers.ts';

const fixtures = [
  'syft-cyclonedx-storefront.json',
  'syft-spdx-ingest-worker.json',
  'trivy-cyclonedx-debian-sid-fixed.json',
  'trivy-cyclonedx-debian-sid.json',
  'trivy-spdx-alpine.json',
];

const s3 = awsClient(S3Client);
/** ListObjectsV2 calls the client sent: proves the listing went through every page. */
let listCalls = 0;
s3.middlewareStack.add(
  (next, context) => (args) => {
    if (context.commandName === 'ListObjectsV2Command') listCalls++;
    return next(args);
  },
  { step: 'initialize', name: 'countListCalls' },
);

const bucket = uniqueName('sboms').toLowerCase();

async function matcher(): Promise<Matcher> {
  const advisories = [
    ...(await readOsvFile('test/sbom/fixtures/advisories/npm-qix-compromise-2025-09-08.json')),
    ...(await readOsvFile('test/sbom/fixtures/advisories/debian-xz-utils.json')),
  ];
  return new Matcher(new AdvisoryIndex({ advisories, digests: [] }));
}

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const f of fixtures) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `fleet/prod/${f}`, Body: await readFile(`test/sbom/fixtures/sboms/${f}`) }));
  }
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'fleet/prod/', Body: '' }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'fleet/staging/README.txt', Body: 'SBOMs for staging land here.\n' }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'fleet/staging/storefront.json', Body: await readFile(`test/sbom/fixtures/sboms/${fixtures[0]}`) }));
});

describe('the S3 prefix SBOM source (moto)', () => {
  it('reads every SBOM under the prefix across listing pages, and nothing outside it', async () => {
    const m = await matcher();
    listCalls = 0;

    await scanSource(s3Source({ client: s3, bucket, prefix: 'fleet/prod/', pageSize: 2 }), m);
    const r = m.result();

    expect(listCalls).toBe(3); // 5 SBOMs and a folder marker, 2 keys a page
    expect(r.counts).toMatchObject({ sboms: 5, unreadable: 0 });
    expect(r.affected.map((a) => `${a.sbom} ${a.name}@${a.version}`).sort()).toEqual([
      `s3://${bucket}/fleet/prod/syft-cyclonedx-storefront.json ansi-regex@6.2.1`,
      `s3://${bucket}/fleet/prod/syft-cyclonedx-storefront.json chalk@5.6.1`,
      `s3://${bucket}/fleet/prod/trivy-cyclonedx-debian-sid.json liblzma5@5.6.1-1`,
      `s3://${bucket}/fleet/prod/trivy-cyclonedx-debian-sid.json xz-utils@5.6.1-1`,
    ]);
  });

  it('reports an object under the prefix that is not an SBOM by its s3:// name, and still matches the others', async () => {
    const m = await matcher();

    await scanSource(s3Source({ client: s3, bucket, prefix: 'fleet/staging/' }), m);
    const r = m.result();

    expect(r.unreadable).toEqual([{ sbom: `s3://${bucket}/fleet/staging/README.txt`, problem: expect.stringMatching(/^not JSON/) }]);
    expect(r.counts.sboms).toBe(1);
    expect(r.affected.map((a) => a.name)).toContain('chalk');
  });

  it('refuses an SBOM object over the size limit from its listed size, by name', async () => {
    const m = await matcher();

    await scanSource(s3Source({ client: s3, bucket, prefix: 'fleet/staging/storefront' }), m, { maxBytes: 64 });

    expect(m.result().unreadable).toEqual([
      { sbom: `s3://${bucket}/fleet/staging/storefront.json`, problem: expect.stringMatching(/^\d+ bytes, over the 64-byte limit for one SBOM$/) },
    ]);
  });

  it('fails the listing of a bucket that does not exist as not retryable, naming the bucket', async () => {
    const m = await matcher();
    const missing = uniqueName('no-such-bucket').toLowerCase();

    const error = await scanSource(s3Source({ client: s3, bucket: missing, prefix: 'fleet/' }), m).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SbomSourceRefusedError);
    expect((error as SbomSourceRefusedError).retryable).toBe(false);
    expect((error as Error).message).toContain(`s3://${missing}/fleet/`);
  });
});
