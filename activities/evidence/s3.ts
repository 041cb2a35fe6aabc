import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  CaptureClock,
  checkIncidentId,
  checkSealInput,
  digestOf,
  evidenceRefSchema,
  findSame,
  hashStream,
  hexToBase64,
  inMemory,
  KeyedMutex,
  mapLimit,
  sameIncident,
  sha256Hex,
  verdict,
  type Digest,
} from './common.ts';
import {
  describeCause,
  EvidenceError,
  EvidenceManifestCorruptError,
  EvidenceStoreMisconfiguredError,
  EvidenceStoreUnavailableError,
  UnknownIncidentError,
} from './errors.ts';
import type { EvidenceContent, EvidenceRef, EvidenceStore, SealInput, VerifyReport } from './types.ts';

const day = 86_400_000;

export interface S3EvidenceStoreOptions {
  client: S3Client;
  /** A bucket created with Object Lock enabled. */
  bucket: string;
  /** How long every object stays locked in COMPLIANCE mode: nobody, root included, can delete it sooner. */
  retentionDays: number;
  /** Prepended to every key, e.g. `firebreak/`; empty by default. */
  prefix?: string;
  /** Milliseconds since the epoch; tests and drills may supply their own. */
  now?: () => number;
  /** Where streamed content is written while it is hashed, before upload (the key needs the hash). */
  spoolDir?: string;
}

/** What to upload: the bytes, or a file to stream them from. */
type Upload = { digest: Digest; body: () => Uint8Array | Readable };

/**
 * Evidence in an S3 bucket with Object Lock:
 *
 *     <prefix>blobs/sha256/<sha256>                                   the content
 *     <prefix>incidents/<incidentId>/manifest/<capturedAt>-<sha12>.json  one object per manifest entry
 *
 * Every object is written once (`If-None-Match: *`), with its SHA-256 checksum
 * for S3 to check, and locked in COMPLIANCE mode until `retentionDays` from
 * now. The bucket's Object Lock is checked once, before the first seal.
 */
export class S3EvidenceStore implements EvidenceStore {
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly retentionDays: number;
  private readonly now: () => number;
  private readonly clock: CaptureClock;
  private readonly spoolDir: string;
  private readonly mutex = new KeyedMutex();
  private lockChecked: Promise<void> | undefined;

  constructor(options: S3EvidenceStoreOptions) {
    if (!Number.isInteger(options.retentionDays) || options.retentionDays < 1) {
      throw new EvidenceStoreMisconfiguredError(
        `Invalid evidence retention of ${options.retentionDays} days: set FIREBREAK_EVIDENCE_RETENTION_DAYS to a whole number of days, at least 1.`,
      );
    }
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.retentionDays = options.retentionDays;
    this.now = options.now ?? Date.now;
    this.clock = new CaptureClock(this.now);
    this.spoolDir = options.spoolDir ?? tmpdir();
    this.location = `s3://${this.bucket}/${this.prefix}`;
  }

  async seal(input: SealInput): Promise<EvidenceRef> {
    const { incidentId, name, mediaType } = checkSealInput(input);
    await this.ensureObjectLock();
    const action = `seal "${name}" for incident ${incidentId}`;
    const digest = await this.withUpload(input.content, async (upload) => {
      await this.putBlob(upload, action);
      return upload.digest;
    });
    return this.mutex.run(incidentId, async () => {
      const same = findSame(await this.readManifest(incidentId), { name, mediaType, sha256: digest.sha256 });
      if (same !== undefined) return same;
      return this.putNewEntry({ incidentId, name, mediaType, digest }, action);
    });
  }

  /** Writes the manifest entry of a stored blob under the next capture time. */
  private async putNewEntry(item: { incidentId: string; name: string; mediaType: string; digest: Digest }, action: string): Promise<EvidenceRef> {
    const { digest } = item;
    for (let attempt = 0; ; attempt++) {
      const ref: EvidenceRef = {
        incidentId: item.incidentId,
        name: item.name,
        mediaType: item.mediaType,
        uri: `s3://${this.bucket}/${this.blobKey(digest.sha256)}`,
        sha256: digest.sha256,
        bytes: digest.bytes,
        capturedAt: this.clock.next(),
      };
      // Another process wrote an entry for the same content in the same millisecond: take the next one.
      if (await this.putManifestEntry(ref, action)) return ref;
      if (attempt >= 3) {
        throw new EvidenceStoreUnavailableError(`Cannot ${action}: the manifest entry's key was taken ${attempt + 1} times in a row; retry.`);
      }
    }
  }

  async sealAll(inputs: readonly SealInput[]): Promise<EvidenceRef[]> {
    const checked = inputs.map((input) => checkSealInput(input));
    const incidentId = sameIncident(checked);
    if (incidentId === undefined) return [];
    await this.ensureObjectLock();
    const action = `seal ${inputs.length} items for incident ${incidentId}`;
    const digests = await mapLimit(inputs, 4, (input) =>
      this.withUpload(input.content, async (upload) => {
        await this.putBlob(upload, action);
        return upload.digest;
      }),
    );
    return this.mutex.run(incidentId, async () => {
      const entries = await this.readManifest(incidentId);
      const refs: EvidenceRef[] = [];
      // One entry after the other: each is its own object, and capture order must be manifest order.
      for (const [i, { name, mediaType }] of checked.entries()) {
        const digest = digests[i]!;
        const same = findSame([...entries, ...refs], { name, mediaType, sha256: digest.sha256 });
        refs.push(same ?? (await this.putNewEntry({ incidentId, name, mediaType, digest }, action)));
      }
      return refs;
    });
  }

  async manifest(incidentId: string): Promise<EvidenceRef[]> {
    checkIncidentId(incidentId);
    return this.readManifest(incidentId);
  }

  async verify(incidentId: string): Promise<VerifyReport> {
    checkIncidentId(incidentId);
    const entries = await this.readManifest(incidentId);
    if (entries.length === 0) throw new UnknownIncidentError(incidentId, this.location);
    const digests = new Map<string, Promise<Digest | undefined>>();
    const items = await mapLimit(entries, 4, async (entry) => {
      let digest = digests.get(entry.sha256);
      if (digest === undefined) {
        digest = this.digestBlob(entry.sha256, `verify incident ${incidentId}`);
        digests.set(entry.sha256, digest);
      }
      return verdict(entry, await digest);
    });
    return { incidentId, items, ok: items.every((i) => i.status === 'ok') };
  }

  private blobKey(sha256: string): string {
    return `${this.prefix}blobs/sha256/${sha256}`;
  }

  private manifestPrefix(incidentId: string): string {
    return `${this.prefix}incidents/${incidentId}/manifest/`;
  }

  private retainUntil(): Date {
    return new Date(this.now() + this.retentionDays * day);
  }

  /** Checks once (again after a failure) that the bucket has Object Lock enabled. */
  private async ensureObjectLock(): Promise<void> {
    this.lockChecked ??= this.checkObjectLock().catch((e: unknown) => {
      this.lockChecked = undefined;
      throw e;
    });
    await this.lockChecked;
  }

  private async checkObjectLock(): Promise<void> {
    const howTo =
      `Create the bucket with Object Lock (\`aws s3api create-bucket --bucket <name> --object-lock-enabled-for-bucket\`) ` +
      `or enable it on a versioned bucket (\`aws s3api put-object-lock-configuration --bucket ${this.bucket} --object-lock-configuration ObjectLockEnabled=Enabled\`), ` +
      `then set FIREBREAK_EVIDENCE_S3_BUCKET.`;
    let enabled: boolean;
    try {
      const answer = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.bucket }));
      enabled = answer.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    } catch (e) {
      if (e instanceof S3ServiceException && e.name === 'ObjectLockConfigurationNotFoundError') enabled = false;
      else throw this.failure(e, 'check the Object Lock configuration of the evidence bucket');
    }
    if (!enabled) {
      throw new EvidenceStoreMisconfiguredError(
        `S3 bucket ${this.bucket} does not have Object Lock enabled, so sealed evidence could be deleted or overwritten. ${howTo}`,
      );
    }
  }

  /** Hands `fn` the content ready to upload: in memory, or spooled to a file while hashing. */
  private async withUpload<T>(content: EvidenceContent, fn: (upload: Upload) => Promise<T>): Promise<T> {
    const bytes = inMemory(content);
    if (bytes !== undefined) return fn({ digest: { sha256: sha256Hex(bytes), bytes: bytes.byteLength }, body: () => bytes });
    let dir: string | undefined;
    try {
      dir = await mkdtemp(join(this.spoolDir, 'firebreak-evidence-'));
      const file = join(dir, 'content');
      const handle = await open(file, 'wx', 0o600);
      let digest: Digest;
      try {
        digest = await hashStream(content as AsyncIterable<Uint8Array>, async (chunk) => {
          let offset = 0;
          while (offset < chunk.byteLength) {
            const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
            offset += bytesWritten;
          }
        });
      } finally {
        await handle.close();
      }
      return await fn({ digest, body: () => createReadStream(file) });
    } catch (e) {
      if (e instanceof EvidenceError || !(e instanceof Error && 'syscall' in e)) throw e;
      throw new EvidenceStoreUnavailableError(
        `Cannot spool streamed evidence in ${this.spoolDir} before upload: ${describeCause(e)}. Free space there or point TMPDIR elsewhere, then retry.`,
        { cause: e },
      );
    } finally {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    }
  }

  /** Uploads the blob unless it is already stored. */
  private async putBlob(upload: Upload, action: string): Promise<void> {
    const key = this.blobKey(upload.digest.sha256);
    if (await this.exists(key, action)) return;
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: upload.body(),
          ContentLength: upload.digest.bytes,
          ContentType: 'application/octet-stream',
          ChecksumAlgorithm: 'SHA256',
          ChecksumSHA256: hexToBase64(upload.digest.sha256),
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: this.retainUntil(),
          IfNoneMatch: '*',
        }),
      );
    } catch (e) {
      // Stored meanwhile by someone else: the same key is the same content.
      if (e instanceof S3ServiceException && e.name === 'PreconditionFailed') return;
      throw this.failure(e, action);
    }
  }

  /** Writes one manifest entry; false when its key is already taken. */
  private async putManifestEntry(ref: EvidenceRef, action: string): Promise<boolean> {
    const body = Buffer.from(`${JSON.stringify(ref)}\n`, 'utf8');
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: `${this.manifestPrefix(ref.incidentId)}${ref.capturedAt}-${ref.sha256.slice(0, 12)}.json`,
          Body: body,
          ContentType: 'application/json',
          ChecksumAlgorithm: 'SHA256',
          ChecksumSHA256: hexToBase64(sha256Hex(body)),
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: this.retainUntil(),
          IfNoneMatch: '*',
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof S3ServiceException && e.name === 'PreconditionFailed') return false;
      throw this.failure(e, action);
    }
  }

  private async exists(key: string, action: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (e) {
      if (e instanceof S3ServiceException && e.$metadata.httpStatusCode === 404 && e.name !== 'NoSuchBucket') return false;
      throw this.failure(e, action);
    }
  }

  private async readManifest(incidentId: string): Promise<EvidenceRef[]> {
    const action = `read the manifest of incident ${incidentId}`;
    const prefix = this.manifestPrefix(incidentId);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      try {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) if (object.Key?.endsWith('.json')) keys.push(object.Key);
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } catch (e) {
        throw this.failure(e, action);
      }
    } while (token !== undefined);
    // Keys start with the capture time, so key order is capture order.
    keys.sort();
    return mapLimit(keys, 8, async (key) => {
      let text: string;
      try {
        const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
        text = (await object.Body?.transformToString('utf8')) ?? '';
      } catch (e) {
        throw this.failure(e, action);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      const entry = evidenceRefSchema.safeParse(parsed);
      if (!entry.success || entry.data.incidentId !== incidentId) {
        throw new EvidenceManifestCorruptError(
          `s3://${this.bucket}/${key} is not a manifest entry of incident ${incidentId}: the manifest was edited or damaged. Treat the incident's evidence as suspect and compare with the references in the workflow history.`,
        );
      }
      return entry.data;
    });
  }

  /** The digest of the blob's current version, or undefined when there is none. */
  private async digestBlob(sha256: string, action: string): Promise<Digest | undefined> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.blobKey(sha256) }));
      const body = object.Body;
      if (body === undefined) return { sha256: sha256Hex(new Uint8Array()), bytes: 0 };
      return await digestOf(body as AsyncIterable<Uint8Array>);
    } catch (e) {
      if (e instanceof S3ServiceException && e.name === 'NoSuchKey') return undefined;
      throw this.failure(e, action);
    }
  }

  /** Maps an S3 failure to a typed evidence error, by the error's type and status, never its message. */
  private failure(e: unknown, action: string): Error {
    if (e instanceof EvidenceError) return e;
    const what = `Cannot ${action} in ${this.location}: ${describeCause(e)}`;
    if (e instanceof S3ServiceException) {
      const status = e.$metadata.httpStatusCode ?? 0;
      if (e.name === 'NoSuchBucket') {
        return new EvidenceStoreMisconfiguredError(
          `S3 bucket ${this.bucket} does not exist. Create it with Object Lock (\`aws s3api create-bucket --bucket ${this.bucket} --object-lock-enabled-for-bucket\`) or set FIREBREAK_EVIDENCE_S3_BUCKET to one that does.`,
          { cause: e },
        );
      }
      if (status === 401 || status === 403) {
        return new EvidenceStoreMisconfiguredError(
          `${what}. Grant the worker s3:GetBucketObjectLockConfiguration, s3:ListBucket, s3:GetObject, s3:PutObject and s3:PutObjectRetention on the bucket.`,
          { cause: e },
        );
      }
      if (e.$fault === 'server' || status === 409 || status === 429 || status >= 500) {
        return new EvidenceStoreUnavailableError(`${what}. S3 failed on its side; retry.`, { cause: e });
      }
      return new EvidenceStoreMisconfiguredError(`${what}. Check the bucket's settings and FIREBREAK_EVIDENCE_*.`, { cause: e });
    }
    // No answer from S3 at all: connection refused, DNS, timeout.
    return new EvidenceStoreUnavailableError(
      `${what}. Check network access to S3 (and AWS_ENDPOINT_URL when set), then retry.`,
      { cause: e },
    );
  }
}
