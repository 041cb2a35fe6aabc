/**
 * Falco's JSON output (`json_output: true`, one event per line or HTTP output)
 * and the Falcosidekick webhook, which sends the same object plus a `uuid`.
 */
import { z } from 'zod';
import { compactEntities, type Severity } from '../alert.ts';
import { contentId, isoTime, str, timestamp, type SourceAdapter } from './common.ts';

/** Falco priorities (case-insensitive, as Falco and Falcosidekick spell them) → severity. */
const priorities: Record<string, Severity> = {
  emergency: 'critical',
  alert: 'critical',
  critical: 'critical',
  error: 'high',
  warning: 'medium',
  notice: 'low',
  informational: 'info',
  info: 'info',
  debug: 'info',
};

export const falcoPayload = z
  .object({
    uuid: z.string().min(1).optional(),
    rule: z.string().min(1),
    priority: z.string().refine((p) => p.toLowerCase() in priorities, {
      message: `expected a Falco priority: ${Object.keys(priorities).join(', ')}`,
    }),
    output: z.string(),
    time: timestamp,
    source: z.string().optional(),
    hostname: z.string().optional(),
    tags: z.array(z.string()).optional(),
    output_fields: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();
export type FalcoPayload = z.output<typeof falcoPayload>;

function image(f: Record<string, unknown>): string | undefined {
  const repo = str(f['container.image.repository']);
  if (repo === undefined) return str(f['container.image']);
  const digest = str(f['container.image.digest']);
  if (digest !== undefined && digest !== '') return `${repo}@${digest}`;
  const tag = str(f['container.image.tag']);
  return tag === undefined || tag === '' ? repo : `${repo}:${tag}`;
}

export const falco: SourceAdapter<FalcoPayload> = {
  source: 'falco',
  schema: falcoPayload,
  normalise(p, receivedAt) {
    const f = p.output_fields ?? {};
    return [
      {
        source: 'falco',
        id: p.uuid ?? contentId(p.rule, p.time, p.output),
        time: isoTime(p.time),
        receivedAt,
        status: 'firing',
        severity: priorities[p.priority.toLowerCase()] ?? 'info',
        rule: p.rule,
        // Falco's output starts with the event time and priority; the text after them is the summary.
        summary: p.output.replace(/^\d{2}:\d{2}:\d{2}\.\d+:\s+\w+\s+/, '').trim() || p.rule,
        labels: Object.fromEntries((p.tags ?? []).map((t) => [`tag:${t}`, 'true'])),
        entities: compactEntities({
          cluster: str(f['k8s.cluster.name']) ?? str(f['cluster']),
          namespace: str(f['k8s.ns.name']),
          pod: str(f['k8s.pod.name']),
          container: str(f['container.name']) ?? str(f['container.id']),
          node: p.hostname,
          image: image(f),
          principal: str(f['ka.user.name']),
        }),
        raw: p,
      },
    ];
  },
};
