import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, link, mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CaptureClock,
  checkIncidentId,
  checkSealInput,
  digestOf,
  evidenceRefSchema,
  findSame,
  hashStream,
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

interface FsError extends Error {
  code: string;
  syscall?: string;
}

function isFsError(e: unknown): e is FsError {
  return e instanceof Error && typeof (e as Partial<FsError>).code === 'string';
}

export interface LocalEvidenceStoreOptions {
  /** Milliseconds since the epoch; tests and drills may supply their own. */
  now?: () => number;
}

/**
 * Evidence in a local directory (the default store):
 *
 *     <dir>/blobs/sha256/<first two hex>/<sha256>     read-only (0444), never replaced
 *     <dir>/incidents/<incidentId>/manifest.jsonl      one JSON entry per line, appended
 *     <dir>/tmp/                                       content being written
 *
 * A blob is written to a temporary file, synced, made read-only and then
 * hard-linked to its final name: unlike a rename, a link never replaces a file
 * that is already there, so a stored blob is never overwritten, even by a
 * concurrent writer. Manifest appends are serialised per incident within this
 * process.
 */
export class LocalEvidenceStore implements EvidenceStore {
  readonly location: string;
  private readonly clock: CaptureClock;
  private readonly mutex = new KeyedMutex();

  constructor(dir: string, options: LocalEvidenceStoreOptions = {}) {
    this.location = resolve(dir);
    this.clock = new CaptureClock(options.now);
  }

  async seal(input: SealInput): Promise<EvidenceRef> {
    const { incidentId, name } = checkSealInput(input);
    const [ref] = await this.sealBatch([input], `seal "${name}" for incident ${incidentId}`);
    return ref!;
  }

  async sealAll(inputs: readonly SealInput[]): Promise<EvidenceRef[]> {
    return this.sealBatch(inputs, `seal ${inputs.length} items for incident ${inputs[0]?.incidentId ?? '(none)'}`);
  }

  /** Blobs stored concurrently, then the new entries appended with one write and one sync. */
  private async sealBatch(inputs: readonly SealInput[], action: string): Promise<EvidenceRef[]> {
    const checked = inputs.map((input) => checkSealInput(input));
    const incidentId = sameIncident(checked);
    if (incidentId === undefined) return [];
    try {
      const digests = await Promise.all(inputs.map((input) => this.storeBlob(input.content)));
      return await this.mutex.run(incidentId, async () => {
        const entries = await this.readManifest(incidentId);
        const fresh: EvidenceRef[] = [];
        const refs = checked.map(({ name, mediaType }, i) => {
          const digest = digests[i]!;
          const same = findSame([...entries, ...fresh], { name, mediaType, sha256: digest.sha256 });
          if (same !== undefined) return same;
          const ref: EvidenceRef = {
            incidentId,
            name,
            mediaType,
            uri: pathToFileURL(this.blobPath(digest.sha256)).href,
            sha256: digest.sha256,
            bytes: digest.bytes,
            capturedAt: this.clock.next(),
          };
          fresh.push(ref);
          return ref;
        });
        if (fresh.length > 0) await this.appendManifest(fresh);
        return refs;
      });
    } catch (e) {
      throw this.failure(e, action);
    }
  }

  async manifest(incidentId: string): Promise<EvidenceRef[]> {
    checkIncidentId(incidentId);
    try {
      return await this.readManifest(incidentId);
    } catch (e) {
      throw this.failure(e, `read the manifest of incident ${incidentId}`);
    }
  }

  async verify(incidentId: string): Promise<VerifyReport> {
    checkIncidentId(incidentId);
    try {
      const entries = await this.readManifest(incidentId);
      if (entries.length === 0) throw new UnknownIncidentError(incidentId, this.location);
      const digests = new Map<string, Promise<Digest | undefined>>();
      const items = await mapLimit(entries, 4, async (entry) => {
        let digest = digests.get(entry.sha256);
        if (digest === undefined) {
          digest = this.digestBlob(entry.sha256);
          digests.set(entry.sha256, digest);
        }
        return verdict(entry, await digest);
      });
      return { incidentId, items, ok: items.every((i) => i.status === 'ok') };
    } catch (e) {
      throw this.failure(e, `verify incident ${incidentId}`);
    }
  }

  private blobPath(sha256: string): string {
    return join(this.location, 'blobs', 'sha256', sha256.slice(0, 2), sha256);
  }

  private manifestPath(incidentId: string): string {
    return join(this.location, 'incidents', incidentId, 'manifest.jsonl');
  }

  private async storeBlob(content: EvidenceContent): Promise<Digest> {
    const tmpDir = join(this.location, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${randomUUID()}.partial`);
    try {
      const handle = await open(tmp, 'wx', 0o600);
      let digest: Digest;
      try {
        const bytes = inMemory(content);
        if (bytes !== undefined) {
          await handle.writeFile(bytes);
          digest = { sha256: sha256Hex(bytes), bytes: bytes.byteLength };
        } else {
          digest = await hashStream(content as AsyncIterable<Uint8Array>, async (chunk) => {
            let offset = 0;
            while (offset < chunk.byteLength) {
              const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
              offset += bytesWritten;
            }
          });
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      const blob = this.blobPath(digest.sha256);
      await mkdir(dirname(blob), { recursive: true });
      await chmod(tmp, 0o444);
      try {
        await link(tmp, blob);
      } catch (e) {
        // Already stored: the same hash is the same content, and it stays as it was.
        if (!(isFsError(e) && e.code === 'EEXIST')) throw e;
      }
      return digest;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private async readManifest(incidentId: string): Promise<EvidenceRef[]> {
    const path = this.manifestPath(incidentId);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if (isFsError(e) && e.code === 'ENOENT') return [];
      throw e;
    }
    const entries: EvidenceRef[] = [];
    const lines = text.split('\n');
    for (const [i, line] of lines.entries()) {
      if (line === '' && i === lines.length - 1) break;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      const entry = evidenceRefSchema.safeParse(parsed);
      if (!entry.success || entry.data.incidentId !== incidentId) {
        throw new EvidenceManifestCorruptError(
          `Line ${i + 1} of ${path} is not a manifest entry of incident ${incidentId}: the manifest was edited or damaged. Treat the incident's evidence as suspect and compare with the references in the workflow history.`,
        );
      }
      entries.push(entry.data);
    }
    return entries;
  }

  /** Appends entries of one incident with one write and one sync. */
  private async appendManifest(refs: readonly EvidenceRef[]): Promise<void> {
    const path = this.manifestPath(refs[0]!.incidentId);
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, 'a', 0o640);
    try {
      await handle.write(refs.map((ref) => `${JSON.stringify(ref)}\n`).join(''));
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** The digest of the stored blob, or undefined when there is none. */
  private async digestBlob(sha256: string): Promise<Digest | undefined> {
    try {
      return await digestOf(createReadStream(this.blobPath(sha256)) as AsyncIterable<Uint8Array>);
    } catch (e) {
      if (isFsError(e) && e.code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Maps a file-system failure to a typed evidence error; leaves other errors as they are. */
  private failure(e: unknown, action: string): unknown {
    if (e instanceof EvidenceError || !isFsError(e)) return e;
    const what = `Cannot ${action} in ${this.location}: ${describeCause(e)}`;
    if (['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR'].includes(e.code)) {
      return new EvidenceStoreMisconfiguredError(
        `${what}. Give the worker read and write access to the directory, or point FIREBREAK_EVIDENCE_DIR elsewhere.`,
        { cause: e },
      );
    }
    return new EvidenceStoreUnavailableError(`${what}. Check the disk (space, mounts) and retry.`, { cause: e });
  }
}
