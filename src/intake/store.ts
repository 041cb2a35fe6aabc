/**
 * Append-only JSON Lines files under FIREBREAK_DATA_DIR: every line one
 * record, appended before the sender gets its answer, so an accepted alert
 * survives a restart. Concurrent appends are batched into one write; a
 * `durable` file is flushed to the disk (fdatasync) before its appends resolve,
 * so an accepted alert survives a crash of the machine too. A line is all or
 * nothing: a torn last line (a crash mid-write) is skipped when read.
 */
import { mkdir, open, readFile, rename, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { withoutShared, type Alert } from './alert.ts';

/** The longest line a store writes: a record larger than this can never be stored, so it is refused, not retried. */
export const maxLineBytes = 16 * 1024 * 1024;

/** A record too large to store (or to serialise): retrying cannot help, so it is not answered as retryable. */
export class RecordTooLargeError extends Error {
  override readonly name = 'RecordTooLargeError';
  constructor(readonly bytes: number | undefined) {
    super(bytes === undefined ? 'the record is too large to serialise' : `the record is ${bytes} bytes; at most ${maxLineBytes} are stored in one line`);
  }
}

/** One record as one line of JSON, or RecordTooLargeError. */
export function serialise(record: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(record);
  } catch (e) {
    if (e instanceof RangeError) throw new RecordTooLargeError(undefined);
    throw e;
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > maxLineBytes) throw new RecordTooLargeError(bytes);
  return `${text}\n`;
}

export class JsonLines<T> {
  private pending: { line: string; done: (e?: Error) => void }[] = [];
  private writing: Promise<void> | undefined;
  private ready: Promise<unknown> | undefined;
  /** The file, open for appending, kept open between writes. */
  private handle: Promise<FileHandle> | undefined;
  /** The file's size, known after the first write of a bounded file. */
  private size: number | undefined;

  constructor(
    readonly file: string,
    /**
     * `maxBytes`: when the file grows past it, the oldest lines are dropped
     * down to half of it (the newest kept), so the file stays bounded.
     */
    private readonly opts: { durable?: boolean; maxBytes?: number } = {},
  ) {}

  /** Resolves once the record is written to the file. */
  append(record: T): Promise<void> {
    return this.appendLine(serialise(record));
  }

  /** Appends a line made by `serialise` (checked before anything is written). */
  appendLine(line: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, done: (e) => (e === undefined ? resolve() : reject(e)) });
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
    const max = this.opts.maxBytes;
    if (max === undefined) return;
    this.size = this.size === undefined ? (await stat(this.file)).size : this.size + Buffer.byteLength(text);
    if (this.size > max) await this.trim(Math.floor(max / 2));
  }

  /** Keeps the newest lines that fit in `keepBytes`. Runs inside the write loop, so no append interleaves. */
  private async trim(keepBytes: number): Promise<void> {
    await this.closeHandle();
    const lines = (await readFile(this.file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
    const kept: string[] = [];
    let bytes = 0;
    for (let i = lines.length - 1; i >= 0; i--) {
      const size = Buffer.byteLength(lines[i]!) + 1;
      if (bytes + size > keepBytes) break;
      kept.unshift(lines[i]!);
      bytes += size;
    }
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, kept.map((l) => `${l}\n`).join(''), { encoding: 'utf8', mode: 0o600 });
    await rename(tmp, this.file);
    this.size = bytes;
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await (await handle?.catch(() => undefined))?.close();
  }

  /** Closes the file (appends after this open it again). */
  async close(): Promise<void> {
    await this.writing;
    await this.closeHandle();
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
    this.size = undefined;
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

/**
 * The records one request wrote to one file, as one line (all or none), with
 * the fields its alerts share (Alertmanager's group) stored once, not per alert.
 */
export interface RequestLine<R> {
  request: string;
  storedAt: string;
  shared?: Record<string, unknown>;
  records: R[];
}

/** Written when a request that wrote a line here was answered 503 after all: its line is not part of the file. */
export interface Retraction {
  retracted: string;
}

/**
 * A store of alert records written per request (see RequestLine). `list()`
 * gives one record per alert, oldest first, each with its request's shared
 * fields and time; lines of a retracted request are left out.
 */
export class RequestLog<R extends { alert: Alert }> {
  readonly lines: JsonLines<RequestLine<R> | Retraction | (R & { storedAt: string })>;

  constructor(file: string, opts: { maxBytes?: number } = {}) {
    this.lines = new JsonLines(file, opts);
  }

  get file(): string {
    return this.lines.file;
  }

  /** The line for these records of one request, serialised (or RecordTooLargeError) before anything is written. */
  static line<R extends { alert: Alert }>(request: string, storedAt: string, records: readonly R[]): string {
    const shared = records.find((r) => r.alert.shared !== undefined)?.alert.shared;
    const own = records.map((r) => ({ ...r, alert: withoutShared(r.alert) }));
    return serialise({ request, storedAt, ...(shared === undefined ? {} : { shared }), records: own });
  }

  write(line: string): Promise<void> {
    return this.lines.appendLine(line);
  }

  retract(request: string): Promise<void> {
    return this.lines.append({ retracted: request });
  }

  close(): Promise<void> {
    return this.lines.close();
  }

  async list(): Promise<(R & { storedAt: string })[]> {
    const lines = await this.lines.list();
    const retracted = new Set(lines.flatMap((l) => ('retracted' in l ? [l.retracted] : [])));
    return lines.flatMap((l) => {
      if ('retracted' in l) return [];
      if (!('records' in l)) return [l];
      if (retracted.has(l.request)) return [];
      return l.records.map((r) => ({ ...r, storedAt: l.storedAt, alert: l.shared === undefined ? r.alert : { ...r.alert, shared: l.shared } }));
    });
  }
}
