// The intake's JSON Lines stores: one request's records in one line, and the
// unrouted store bounded to its newest records.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/intake/alert.ts';
import { defaultUnroutedMaxBytes } from '../../src/intake/service.ts';
import { RequestLog } from '../../src/intake/store.ts';
import { tempDataDir } from './helpers.ts';

const alert = (id: string): Alert => ({
  source: 'generic', id, time: '2026-11-28T15:00:00.000Z', receivedAt: '2026-11-28T15:00:00.000Z', status: 'firing',
  severity: 'low', rule: 'r', summary: 'x'.repeat(400), labels: {}, entities: {}, raw: {},
});

describe('the unrouted store', () => {
  it('stays within its bound, keeping the newest records, however many arrive', async () => {
    const log = new RequestLog<{ reason: string; alert: Alert }>(path.join(await tempDataDir(), 'unrouted.jsonl'), { maxBytes: 20_000 });
    for (let i = 0; i < 500; i++) await log.write(RequestLog.line(`req-${i}`, '2026-11-28T15:00:00.000Z', [{ reason: 'no-matching-runbook', alert: alert(`a-${i}`) }]));
    await log.close();
    expect((await stat(log.file)).size).toBeLessThanOrEqual(20_000);
    const ids = (await log.list()).map((r) => r.alert.id);
    expect(ids.at(-1)).toBe('a-499');
    expect(ids).not.toContain('a-0');
    expect(ids.length).toBeGreaterThan(10);
  });

  it('is bounded by default (32 MiB)', () => {
    expect(defaultUnroutedMaxBytes).toBe(32 * 1024 * 1024);
  });
});
