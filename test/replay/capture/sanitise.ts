/**
 * Sanitising a captured history before it is committed: payloads (base64
 * JSON inside the history) are decoded, any field named like a secret is
 * redacted, this machine's paths and loopback ports are replaced, and the
 * result is refused if anything secret-looking is left.
 */
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { historyToJson } from '../../../src/replay/proto-json.ts';

/** Field names whose string values are never kept (matched whole, case-insensitive). */
const secretField = /^(secret(string|value|binary|accesskey)?|secretaccesskey|password|passphrase|token|sessiontoken|accesstoken|refreshtoken|bottoken|privatekey|clientsecret|signingsecret|webhookurl|authorization)$/i;

/** Text that is a secret whatever field holds it. */
const secretText: { what: string; pattern: RegExp }[] = [
  { what: 'a PEM private key', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { what: 'a Slack token', pattern: /\bxox[abposr]-[0-9A-Za-z-]{8,}/ },
  { what: 'a Slack webhook', pattern: /hooks\.slack\.com\/services\/[A-Z0-9]/ },
  { what: 'an AWS secret access key', pattern: /(?:secret_?access_?key|SecretAccessKey)["'\s:=]+[A-Za-z0-9/+]{40}/ },
  { what: 'a bearer token', pattern: /\bBearer\s+[A-Za-z0-9._~+/-]{16,}/ },
];

export interface SanitiseOptions {
  /** Machine-specific text (temporary directories, loopback addresses) and what to put instead, longest first. */
  replace: [from: string, to: string][];
  /** Secret values the capture seeded (e.g. a Secrets Manager secret's value): none may appear. */
  knownSecrets: string[];
}

export class UnsafeHistoryError extends Error {
  override readonly name = 'UnsafeHistoryError';
}

function replaced(text: string, o: SanitiseOptions): string {
  let s = text;
  for (const [from, to] of o.replace) s = s.split(from).join(to);
  return s;
}

function sanitiseValue(value: unknown, o: SanitiseOptions): unknown {
  if (typeof value === 'string') return replaced(value, o);
  if (Array.isArray(value)) return value.map((v) => sanitiseValue(v, o));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, secretField.test(k) && typeof v === 'string' ? '[redacted]' : sanitiseValue(v, o)]),
    );
  }
  return value;
}

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

function isPayload(v: Record<string, unknown>): v is { metadata: Record<string, string>; data: string } {
  return typeof v['data'] === 'string' && typeof v['metadata'] === 'object' && v['metadata'] !== null && 'encoding' in v['metadata'];
}

/** Walks the history's JSON: payloads are decoded, sanitised and re-encoded; other strings only have machine text replaced. */
function walk(node: unknown, o: SanitiseOptions): unknown {
  if (typeof node === 'string') return replaced(node, o);
  if (Array.isArray(node)) return node.map((n) => walk(n, o));
  if (typeof node !== 'object' || node === null) return node;
  const obj = node as Record<string, unknown>;
  if (isPayload(obj) && b64(obj.metadata['encoding'] ?? '') === 'json/plain') {
    const decoded = sanitiseValue(JSON.parse(b64(obj.data)), o);
    return { ...obj, data: Buffer.from(JSON.stringify(decoded)).toString('base64') };
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, walk(v, o)]));
}

/** Every string of the history, payloads decoded: what the safety check reads. */
export function readableText(historyJson: unknown): string {
  const parts: string[] = [];
  const visit = (node: unknown) => {
    if (typeof node === 'string') parts.push(node);
    else if (Array.isArray(node)) node.forEach(visit);
    else if (typeof node === 'object' && node !== null) {
      const obj = node as Record<string, unknown>;
      if (isPayload(obj)) parts.push(b64(obj.data));
      Object.values(obj).forEach(visit);
    }
  };
  visit(historyJson);
  return parts.join('\n');
}

/** What secret-looking text the history's strings (payloads decoded) hold: empty when none. */
export function secretsIn(historyJson: unknown): string[] {
  const text = readableText(historyJson);
  return secretText.filter(({ pattern }) => pattern.test(text)).map(({ what }) => what);
}

/** The history as JSON (the `temporal workflow show --output json` shape), sanitised; throws when a secret is left in it. */
export function sanitiseHistory(history: History, o: SanitiseOptions): unknown {
  const clean = walk(historyToJson(history), o);
  const text = readableText(clean);
  for (const what of secretsIn(clean)) {
    throw new UnsafeHistoryError(`the history still holds ${what} after sanitising: find which activity returns it and return its name or version instead`);
  }
  for (const secret of o.knownSecrets) {
    if (secret.length > 0 && text.includes(secret)) throw new UnsafeHistoryError('the history holds a secret value the capture seeded: an activity returns or logs it');
  }
  return clean;
}
