/**
 * SBOMs under an S3 prefix, every page of the listing, read one object at a
 * time. Every object under the prefix is taken as an SBOM, so one that is not
 * (a README, a tarball) is reported by its s3:// name rather than passed over.
 * The client is built by the composition root (src/wiring/clients.ts).
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, paginateListObjectsV2, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { SbomSourceRefusedError, SbomSourceUnavailableError, SbomTooLargeError, type SbomSource } from './types.ts';

export interface S3SourceOptions {
  client: S3Client;
  bucket: string;
  /** Only keys starting with this; all of the bucket when empty. */
  prefix?: string;
  /** Keys per listing page (S3's maximum, 1000, by default). */
  pageSize?: number;
}

const refused = new Set(['NoSuchBucket', 'AccessDenied', 'AllAccessDisabled', 'InvalidBucketName', 'PermanentRedirect', 'InvalidAccessKeyId', 'SignatureDoesNotMatch']);

function listingError(e: unknown, where: string): Error {
  if (e instanceof S3ServiceException) {
    const what = `S3 refused to list ${where}: ${e.name}`;
    if (e.name === 'NoSuchBucket') return new SbomSourceRefusedError(`${what}: check the bucket name and region`, { cause: e });
    if (refused.has(e.name) || e.$fault === 'client') {
      return new SbomSourceRefusedError(`${what}: the worker needs s3:ListBucket on the bucket and s3:GetObject on the prefix`, { cause: e });
    }
    return new SbomSourceUnavailableError(`S3 could not list ${where} (${e.name}); try again`, { cause: e });
  }
  // Network failures and timeouts: the SDK has retried already; a later attempt may succeed.
  return new SbomSourceUnavailableError(`S3 could not be reached to list ${where}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

async function readLimited(body: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += b.length;
    if (size > maxBytes) {
      body.destroy();
      throw new SbomTooLargeError(undefined, maxBytes);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function s3Source(opts: S3SourceOptions): SbomSource {
  const prefix = opts.prefix ?? '';
  const where = `s3://${opts.bucket}/${prefix}`;
  return {
    description: where,
    async *list() {
      const pages = paginateListObjectsV2({ client: opts.client, pageSize: opts.pageSize ?? 1000 }, { Bucket: opts.bucket, Prefix: prefix });
      const iterator = pages[Symbol.asyncIterator]();
      for (;;) {
        let page;
        try {
          page = await iterator.next();
        } catch (e) {
          throw listingError(e, where);
        }
        if (page.done) return;
        for (const object of page.value.Contents ?? []) {
          const key = object.Key;
          // Keys ending in "/" are the consoles' folder markers, not objects anyone wrote.
          if (key === undefined || key.endsWith('/')) continue;
          yield {
            kind: 'sbom' as const,
            name: `s3://${opts.bucket}/${key}`,
            ...(object.Size === undefined ? {} : { size: object.Size }),
            read: async (maxBytes: number) => {
              const r = await opts.client.send(new GetObjectCommand({ Bucket: opts.bucket, Key: key }));
              if (r.ContentLength !== undefined && r.ContentLength > maxBytes) {
                (r.Body as Readable | undefined)?.destroy();
                throw new SbomTooLargeError(r.ContentLength, maxBytes);
              }
              if (r.Body === undefined) return '';
              return readLimited(r.Body as Readable, maxBytes);
            },
          };
        }
      }
    },
  };
}
