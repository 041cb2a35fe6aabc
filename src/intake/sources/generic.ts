/**
 * Firebreak's own alert schema, for any system without a dedicated endpoint.
 * Documented in docs/alerts.md; keep the two in step.
 */
import { z } from 'zod';
import { compactEntities } from '../alert.ts';
import { contentId, isoTime, timestamp, type SourceAdapter } from './common.ts';
import { severities } from '../../../domain/vocabulary.ts';

const text = z.string().min(1).max(512);

export const genericPayload = z
  .object({
    id: text.optional(),
    time: timestamp.optional(),
    status: z.enum(['firing', 'resolved']).default('firing'),
    severity: z.enum(severities),
    rule: text,
    summary: z.string().min(1).max(4096),
    labels: z.record(z.string(), z.string()).default({}),
    entities: z
      .object({
        cluster: text,
        namespace: text,
        pod: text,
        container: text,
        node: text,
        image: text,
        account: text,
        region: text,
        principal: text,
        accessKey: text,
      })
      .partial()
      .strict()
      .default({}),
    /** Overrides the correlation key Firebreak derives from the entities. */
    correlationKey: text.optional(),
  })
  .strict();
export type GenericPayload = z.output<typeof genericPayload>;

export const generic: SourceAdapter<GenericPayload> = {
  source: 'generic',
  schema: genericPayload,
  normalise(p, receivedAt) {
    return [
      {
        source: 'generic',
        id: p.id ?? contentId(p.rule, p.summary, JSON.stringify(p.entities), p.time ?? ''),
        time: p.time === undefined ? receivedAt : isoTime(p.time),
        receivedAt,
        status: p.status,
        severity: p.severity,
        rule: p.rule,
        summary: p.summary,
        labels: p.labels,
        entities: compactEntities(p.entities),
        ...(p.correlationKey === undefined ? {} : { correlationKey: p.correlationKey }),
        raw: p,
      },
    ];
  },
};
