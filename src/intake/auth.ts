/**
 * Per-source authentication: a bearer token, or an HMAC-SHA256 signature over
 * "<timestamp>.<raw body>" with the timestamp (Unix seconds) within five
 * minutes of now. Comparisons are constant-time; secrets are never logged.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/index.ts';
import { alertSources, type AlertSource } from './alert.ts';

export type SourceAuth = { mode: 'bearer'; token: string } | { mode: 'hmac'; secret: string };
export type IntakeAuth = Partial<Record<AlertSource, SourceAuth>>;

export const timestampHeader = 'x-firebreak-timestamp';
export const signatureHeader = 'x-firebreak-signature';
/** How far a signed timestamp may be from now, in seconds (replay window). */
export const signatureToleranceSeconds = 300;

/** The authentication of each source from FIREBREAK_INTAKE_<SOURCE>_{AUTH,TOKEN,HMAC_SECRET}. */
export function intakeAuthFromConfig(config: Config): IntakeAuth {
  const auth: IntakeAuth = {};
  for (const source of alertSources) {
    // Uppercase<AlertSource>: a source without its variables in the config schema does not compile.
    const name = source.toUpperCase() as Uppercase<AlertSource>;
    const mode = config[`FIREBREAK_INTAKE_${name}_AUTH`];
    const token = config[`FIREBREAK_INTAKE_${name}_TOKEN`];
    const secret = config[`FIREBREAK_INTAKE_${name}_HMAC_SECRET`];
    if ((mode === 'bearer' || mode === undefined) && token !== undefined) auth[source] = { mode: 'bearer', token };
    else if ((mode === 'hmac' || mode === undefined) && secret !== undefined) auth[source] = { mode: 'hmac', secret };
  }
  return auth;
}

function sameSecret(given: string, expected: string): boolean {
  // Hash both so the comparison takes the same time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** `sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<body>"): what a sender puts in X-Firebreak-Signature. */
export function signBody(secret: string, timestamp: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Whether the request carries credentials in the form the source expects (checked before the body is read). */
export function hasCredentials(auth: SourceAuth | undefined, headers: IncomingHttpHeaders): boolean {
  if (auth === undefined) return false;
  if (auth.mode === 'bearer') {
    const h = header(headers, 'authorization');
    return h !== undefined && /^Bearer\s+\S+$/i.test(h) && sameSecret(h.replace(/^Bearer\s+/i, ''), auth.token);
  }
  return header(headers, timestampHeader) !== undefined && header(headers, signatureHeader) !== undefined;
}

/** The reason an HMAC-signed body is refused, or undefined when the signature is good and fresh. */
export function hmacProblem(auth: SourceAuth, headers: IncomingHttpHeaders, body: Buffer, nowMs: number): string | undefined {
  if (auth.mode !== 'hmac') return undefined;
  const ts = header(headers, timestampHeader) ?? '';
  const sig = header(headers, signatureHeader) ?? '';
  if (!/^\d{1,12}$/.test(ts)) return `${timestampHeader} must be Unix seconds`;
  if (Math.abs(nowMs / 1000 - Number(ts)) > signatureToleranceSeconds) return `${timestampHeader} is more than ${signatureToleranceSeconds} s from now`;
  if (!sameSecret(sig, signBody(auth.secret, ts, body))) return 'the signature does not match the body';
  return undefined;
}
