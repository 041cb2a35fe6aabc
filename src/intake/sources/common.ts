import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Alert, AlertSource } from '../alert.ts';

/** One alert source: how its payload is validated and turned into Alerts. */
export interface SourceAdapter<T = unknown> {
  source: AlertSource;
  schema: z.ZodType<T>;
  /** One payload may carry several alerts (Alertmanager groups). */
  normalise(payload: T, receivedAt: string): Alert[];
}

/** How many problems a refusal lists; the rest are counted, so a hostile payload cannot make a huge answer. */
export const maxListedProblems = 20;

export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}

/** A timestamp as sources write it (any sub-second precision, `Z` or an offset), kept as given. */
export const timestamp = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'expected an ISO 8601 timestamp' });

/** ISO 8601 in milliseconds, UTC; the input when it cannot be parsed (validated earlier). */
export function isoTime(s: string): string {
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? s : new Date(ms).toISOString();
}

/** A stable id for alerts whose source gives none: the hash of what identifies them. */
export function contentId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

export function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** An object schema that keeps the fields it does not name: sources add fields, and `raw` keeps them as evidence. */
export const loose = <T extends z.ZodRawShape>(shape: T) => z.object(shape).loose();

/** An EventBridge event (GuardDuty, Inspector) whose `detail-type` and `source` say what its `detail` is. */
export function eventBridgeEvent<D extends z.ZodType>(o: { detailType: string; source: string; what: string; detail: D }) {
  return loose({
    version: z.string().optional(),
    id: z.string().optional(),
    'detail-type': z.literal(o.detailType, { error: `expected "${o.detailType}" (${o.what})` }),
    source: z.literal(o.source, { error: `expected "${o.source}"` }),
    account: z.string().optional(),
    time: timestamp.optional(),
    region: z.string().optional(),
    detail: o.detail,
  });
}
