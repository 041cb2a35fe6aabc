import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

/** A fresh directory for one test, removed when the test finishes. */
export async function tempDir(prefix = 'evidence'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `firebreak-test-${prefix}-`));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * A stream of `chunks` chunks of `chunkSize` bytes that reuses one buffer,
 * refilling it before each chunk, as a socket or file reader may. Content is
 * correct only if each chunk is consumed before the next is asked for.
 */
export function reusedBufferStream(chunks: number, chunkSize: number): { stream: AsyncIterable<Uint8Array>; sha256: string; bytes: number } {
  const expected = createHash('sha256');
  const fill = (buf: Buffer, i: number) => {
    for (let j = 0; j < buf.length; j += 4096) buf.fill((i * 31 + j / 4096) % 251, j, Math.min(j + 4096, buf.length));
  };
  const probe = Buffer.alloc(chunkSize);
  for (let i = 0; i < chunks; i++) {
    fill(probe, i);
    expected.update(probe);
  }
  async function* stream(): AsyncGenerator<Uint8Array> {
    const buf = Buffer.alloc(chunkSize);
    for (let i = 0; i < chunks; i++) {
      fill(buf, i);
      await Promise.resolve();
      yield buf;
    }
  }
  return { stream: stream(), sha256: expected.digest('hex'), bytes: chunks * chunkSize };
}
