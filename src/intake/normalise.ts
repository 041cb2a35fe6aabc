import type { z } from 'zod';
import type { Alert, AlertSource } from './alert.ts';
import { nameProblems } from './router.ts';
import { formatPath, maxListedProblems } from './sources/common.ts';
import { adapters } from './sources/index.ts';

export { formatPath, maxListedProblems };

export interface PayloadProblem {
  /** Field path such as `detail.resource.accessKeyDetails.accessKeyId` or `alerts[0].labels`; '' for the whole body. */
  path: string;
  message: string;
}

/** Deeper nesting is refused before validation: storing it would overflow JSON.stringify's stack. */
export const maxPayloadDepth = 64;
/**
 * More members in one array or object are refused before validation: zod
 * reports every bad member, and 250,000 empty alerts cost seconds. Far above
 * what a real sender puts in 1 MiB.
 */
export const maxPayloadMembers = 10_000;

/** The payload does not satisfy its source's schema; the first problems are listed, the rest counted. */
export class InvalidPayloadError extends Error {
  override readonly name = 'InvalidPayloadError';
  readonly problems: readonly PayloadProblem[];
  /** How many problems there were beyond those listed. */
  readonly omitted: number;
  constructor(
    readonly source: AlertSource,
    problems: readonly PayloadProblem[],
    total = problems.length,
  ) {
    const listed = problems.slice(0, maxListedProblems);
    const omitted = Math.max(0, total - listed.length);
    const more = omitted === 0 ? '' : `; and ${omitted} more`;
    super(`invalid ${source} payload: ${listed.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`)).join('; ')}${more}`);
    this.problems = listed;
    this.omitted = omitted;
  }
}

function problemsOf(error: z.ZodError): PayloadProblem[] {
  return error.issues.slice(0, maxListedProblems).map((i) => ({ path: formatPath(i.path), message: i.message }));
}

interface Node {
  value: unknown;
  depth: number;
  key: PropertyKey;
  parent: Node | undefined;
}

function pathOf(node: Node): string {
  const keys: PropertyKey[] = [];
  for (let n: Node | undefined = node; n?.parent !== undefined; n = n.parent) keys.unshift(n.key);
  return formatPath(keys);
}

/**
 * The first place the payload is nested too deep or an array or object too
 * large, walked without recursion (a recursive walk would overflow on the very
 * payloads it is meant to refuse).
 */
function shapeProblem(payload: unknown): PayloadProblem | undefined {
  const stack: Node[] = [{ value: payload, depth: 1, key: '', parent: undefined }];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const { value, depth } = node;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > maxPayloadDepth) {
      return { path: pathOf(node), message: `nested more than ${maxPayloadDepth} levels deep; at most ${maxPayloadDepth} are accepted` };
    }
    const entries: [PropertyKey, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    if (entries.length > maxPayloadMembers) {
      return { path: pathOf(node), message: `${entries.length} members; at most ${maxPayloadMembers} are accepted in one array or object` };
    }
    for (const [key, child] of entries) stack.push({ value: child, depth: depth + 1, key, parent: node });
  }
  return undefined;
}

export interface NormaliseOptions {
  /**
   * The cluster an alert about a pod, node or namespace is taken to be about
   * when it names none (FIREBREAK_DEFAULT_CLUSTER), so it correlates with
   * alerts from sources that do name it.
   */
  defaultCluster?: string | undefined;
}

function finish(alert: Alert, o: NormaliseOptions): Alert {
  const e = alert.entities;
  const kubernetes = e.pod !== undefined || e.node !== undefined || e.namespace !== undefined;
  const withCluster = kubernetes && e.cluster === undefined && o.defaultCluster !== undefined ? { ...alert, entities: { ...e, cluster: o.defaultCluster } } : alert;
  // Problems the source found (an invalid or unsupported alert) are kept; name problems are added to them.
  const problems = [...new Set([...(alert.problems ?? []), ...nameProblems(withCluster)])];
  return problems.length === 0 ? withCluster : { ...withCluster, problems };
}

/**
 * Validates a parsed JSON payload of one source and turns it into Alerts. An
 * alert whose names break their system's rule comes back with `problems`.
 */
export function normalisePayload(source: AlertSource, payload: unknown, receivedAt: string, o: NormaliseOptions = {}): Alert[] {
  const shape = shapeProblem(payload);
  if (shape !== undefined) throw new InvalidPayloadError(source, [shape]);
  const adapter = adapters[source];
  const parsed = adapter.schema.safeParse(payload);
  if (!parsed.success) throw new InvalidPayloadError(source, problemsOf(parsed.error), parsed.error.issues.length);
  return adapter.normalise(parsed.data, receivedAt).map((a) => finish(a, o));
}

/** Parses a raw body as JSON, then normalises it; invalid JSON is a problem at the root. */
export function normaliseBody(source: AlertSource, body: string, receivedAt: string, o: NormaliseOptions = {}): Alert[] {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch (e) {
    throw new InvalidPayloadError(source, [{ path: '', message: `not valid JSON (${e instanceof Error ? e.message : String(e)})` }]);
  }
  return normalisePayload(source, payload, receivedAt, o);
}
