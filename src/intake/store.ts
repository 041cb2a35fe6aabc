/**
 * Append-only JSON Lines files under FIREBREAK_DATA_DIR: every line one
 * record, appended before the sender gets its answer, so an accepted alert
 * survives a restart. Concurrent appends are batched into one write; a
 * `durable` file is flushed to the disk (fdatasync) before its appends resolve,
 * so an accepted alert survives a crash of the machine too.
 */
import { mkdir, open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export class JsonLines<T> {
  private pending: { line: string; done: (e?: Error) => void }[] = [];
  private writing: Promise<void> | undefined;
  private ready: Promise<unknown> | undefined;
  /** The file, open for appending, kept open between writes. */
  private handle: Promise<FileHandle> | undefined;

  constructor(
    readonly file: string,
    private readonly opts: { durable?: boolean } = {},
  ) {}

  /** Resolves once the record is written to the file. */
  append(record: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line: `${JSON.stringify(record)}\n`, done: (e) => (e === undefined ? resolve() : reject(e)) });
      this.writing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.ready ??= mkdir(dirname(this.file), { recursive: true });
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.ready;
        await this.write(batch.map((b) => b.line).join(''));
        for (const b of batch) b.done();
      } catch (e) {
        for (const b of batch) b.done(e instanceof Error ? e : new Error('write failed'));
      }
    }
    this.writing = undefined;
  }

  private async write(text: string): Promise<void> {
    this.handle ??= open(this.file, 'a', 0o600);
    let handle: FileHandle;
    try {
      handle = await this.handle;
    } catch (e) {
      this.handle = undefined;
      throw e;
    }
    await handle.appendFile(text, 'utf8');
    if (this.opts.durable === true) await handle.datasync();
  }

  /** Closes the file (appends after this open it again). */
  async close(): Promise<void> {
    await this.writing;
    const handle = this.handle;
    this.handle = undefined;
    await (await handle?.catch(() => undefined))?.close();
  }

  /**
   * Replaces the file's content with these records, atomically (a new file
   * renamed over the old). Only for a file nobody appends to meanwhile.
   */
  async replace(records: readonly T[]): Promise<void> {
    await this.close();
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, records.map((r) => `${JSON.stringify(r)}\n`).join(''), { encoding: 'utf8', mode: 0o600 });
    await rename(tmp, this.file);
  }

  /** Every record in the file, oldest first; a torn last line (a crash mid-write) is skipped. */
  async list(): Promise<T[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const records: T[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        records.push(JSON.parse(line) as T);
      } catch {
        // A partial line from an interrupted write: the sender was not acknowledged, so it retries.
      }
    }
    return records;
  }
}
