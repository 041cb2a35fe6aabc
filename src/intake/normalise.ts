import type { z } from 'zod';
import type { Alert, AlertSource } from './alert.ts';
import { nameProblems } from './router.ts';
import { adapters } from './sources/index.ts';

export interface PayloadProblem {
  /** Field path such as `detail.resource.accessKeyDetails.accessKeyId` or `alerts[0].labels`; '' for the whole body. */
  path: string;
  message: string;
}

/** The payload does not satisfy its source's schema; every problem is listed. */
export class InvalidPayloadError extends Error {
  override readonly name = 'InvalidPayloadError';
  constructor(
    readonly source: AlertSource,
    readonly problems: readonly PayloadProblem[],
  ) {
    super(`invalid ${source} payload: ${problems.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`)).join('; ')}`);
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}

function problemsOf(error: z.ZodError): PayloadProblem[] {
  return error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

function finish(alert: Alert): Alert {
  const problems = nameProblems(alert);
  return problems.length === 0 ? alert : { ...alert, problems };
}

/**
 * Validates a parsed JSON payload of one source and turns it into Alerts. An
 * alert whose names break their system's rule comes back with `problems`.
 */
export function normalisePayload(source: AlertSource, payload: unknown, receivedAt: string): Alert[] {
  const adapter = adapters[source];
  const parsed = adapter.schema.safeParse(payload);
  if (!parsed.success) throw new InvalidPayloadError(source, problemsOf(parsed.error));
  return adapter.normalise(parsed.data, receivedAt).map(finish);
}

/** Parses a raw body as JSON, then normalises it; invalid JSON is a problem at the root. */
export function normaliseBody(source: AlertSource, body: string, receivedAt: string): Alert[] {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch (e) {
    throw new InvalidPayloadError(source, [{ path: '', message: `not valid JSON (${e instanceof Error ? e.message : String(e)})` }]);
  }
  return normalisePayload(source, payload, receivedAt);
}
