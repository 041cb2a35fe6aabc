/**
 * Append-only JSON Lines files under FIREBREAK_DATA_DIR: every line one
 * record, appended before the sender gets its answer, so an accepted alert
 * survives a restart. Concurrent appends are batched into one write.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export class JsonLines<T> {
  private pending: { line: string; done: (e?: Error) => void }[] = [];
  private writing: Promise<void> | undefined;
  private ready: Promise<unknown> | undefined;

  constructor(readonly file: string) {}

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
        await appendFile(this.file, batch.map((b) => b.line).join(''), { encoding: 'utf8', mode: 0o600 });
        for (const b of batch) b.done();
      } catch (e) {
        for (const b of batch) b.done(e instanceof Error ? e : new Error('write failed'));
      }
    }
    this.writing = undefined;
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
