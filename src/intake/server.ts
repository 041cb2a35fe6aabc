/**
 * The intake HTTP server (node:http, no framework):
 *
 *   POST /v1/alerts/{falco,guardduty,alertmanager,generic,inspector}
 *   GET  /healthz   the process is up
 *   GET  /readyz    Temporal answers (503 otherwise)
 *   GET  /metrics   Prometheus counters
 *
 * Order of checks on an alert: the source exists (404), the method (405), the
 * credentials are present and, for a bearer token, right (401), the content
 * type is JSON (415), the body is at most 1 MiB (413), an HMAC signature
 * matches the raw body (401), the payload is valid (400, with zod field paths:
 * the first 20, and how many more). A request must arrive, headers and
 * body, within 30 s (408 otherwise).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { alertSources, type AlertSource } from './alert.ts';
import { hasCredentials, hmacProblem, type IntakeAuth } from './auth.ts';
import { InvalidPayloadError, normaliseBody } from './normalise.ts';
import type { IntakeService } from './service.ts';
import { RecordTooLargeError } from './store.ts';

export const maxBodyBytes = 1024 * 1024;
/** A body this much over the limit is not drained but the connection is cut. */
const maxDrainBytes = 16 * maxBodyBytes;

export interface IntakeServerOptions {
  service: IntakeService;
  auth: IntakeAuth;
  /** Resolves when Temporal is reachable. */
  ready: () => Promise<void>;
  log: Logger;
  host: string;
  port: number;
  now?: () => number;
  /** FIREBREAK_DEFAULT_CLUSTER: the cluster of an alert that names none (see normalise.ts). */
  defaultCluster?: string | undefined;
  /** How long a request may take to arrive, headers and body (default 30 s; Node's own is 5 minutes). */
  requestTimeoutMs?: number;
}

export const defaultRequestTimeoutMs = 30_000;

export interface IntakeServer {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  server: Server;
  close(): Promise<void>;
}

type Rejection = 'unauthorized' | 'too-large' | 'unsupported-media-type' | 'invalid';

class BodyTooLarge extends Error {}
/** The client closed the connection (or timed out) before its body had arrived: nothing to answer. */
class BodyIncomplete extends Error {}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Reads the body, refusing more than `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        if (size > maxDrainBytes) req.destroy();
        return;
      }
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => (tooLarge ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks))));
    req.on('error', () => reject(tooLarge ? new BodyTooLarge() : new BodyIncomplete()));
    req.on('close', () => {
      if (tooLarge) reject(new BodyTooLarge());
      else if (!req.complete) reject(new BodyIncomplete());
    });
  });
}

function isJson(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'application/json' || (type !== undefined && /^application\/[a-z0-9.+-]+\+json$/.test(type));
}

export async function startIntakeServer(o: IntakeServerOptions): Promise<IntakeServer> {
  const { service, log } = o;
  const metrics = service.metrics;
  const now = o.now ?? Date.now;

  const reject = (req: IncomingMessage, res: ServerResponse, source: AlertSource, reason: Rejection, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    metrics.inc('firebreak_intake_requests_rejected_total', { source, reason });
    log.info({ source, status, reason, remote: req.socket.remoteAddress }, `alert refused: ${reason}`);
    // The body may be unread: drain it (bounded) so the client reads the answer, then close.
    if (!req.complete) req.resume();
    send(res, status, { error: reason, ...body }, { connection: 'close', ...headers });
  };

  async function handleAlert(req: IncomingMessage, res: ServerResponse, source: AlertSource): Promise<void> {
    const auth = o.auth[source];
    if (!hasCredentials(auth, req.headers)) {
      const message =
        auth === undefined
          ? `the ${source} endpoint has no credentials configured (FIREBREAK_INTAKE_${source.toUpperCase()}_TOKEN or _HMAC_SECRET)`
          : auth.mode === 'bearer'
            ? 'expected "Authorization: Bearer <token>" with this source\'s token'
            : 'expected X-Firebreak-Timestamp and X-Firebreak-Signature (HMAC-SHA256, see docs/alerts.md)';
      return reject(req, res, source, 'unauthorized', 401, { message }, auth?.mode === 'bearer' ? { 'www-authenticate': 'Bearer' } : {});
    }
    if (!isJson(req.headers['content-type'])) {
      return reject(req, res, source, 'unsupported-media-type', 415, {
        message: `expected Content-Type: application/json; got ${req.headers['content-type'] === undefined ? 'none' : JSON.stringify(req.headers['content-type'])}`,
      });
    }
    const tooLarge = { message: `the body is larger than ${maxBodyBytes} bytes (1 MiB)` };
    if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) return reject(req, res, source, 'too-large', 413, tooLarge);
    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (e) {
      if (e instanceof BodyTooLarge) return reject(req, res, source, 'too-large', 413, tooLarge);
      if (e instanceof BodyIncomplete) {
        // A sender's own doing (it gave up, or was slower than the request timeout): it retries; not an intake error.
        log.info({ source, remote: req.socket.remoteAddress }, 'the request ended before its body arrived (the client closed it, or it took longer than the request timeout); nothing was accepted');
        return;
      }
      throw e;
    }
    const problem = auth === undefined ? 'no credentials' : hmacProblem(auth, req.headers, body, now());
    if (problem !== undefined) return reject(req, res, source, 'unauthorized', 401, { message: problem });

    const receivedAt = new Date(now()).toISOString();
    let alerts;
    try {
      alerts = normaliseBody(source, body.toString('utf8'), receivedAt, { defaultCluster: o.defaultCluster });
    } catch (e) {
      if (e instanceof InvalidPayloadError) {
        const message = e.omitted === 0 ? `invalid ${source} payload` : `invalid ${source} payload: the first ${e.problems.length} problems are listed, ${e.omitted} more are not`;
        return reject(req, res, source, 'invalid', 400, { message, problems: e.problems, omittedProblems: e.omitted });
      }
      throw e;
    }
    try {
      const outcomes = await service.accept(alerts);
      send(res, 200, { accepted: outcomes.length, alerts: outcomes });
    } catch (e) {
      if (e instanceof RecordTooLargeError) {
        // Retrying the same request can never succeed: not a 503.
        return reject(req, res, source, 'too-large', 413, { message: `the alerts of this request are too large to store (${e.message}); send fewer alerts per request (Alertmanager: max_alerts)` });
      }
      metrics.inc('firebreak_intake_alerts_failed_total', { source }, alerts.length);
      log.error({ source, err: e instanceof Error ? e.message : String(e) }, 'alert not accepted (not stored, or a resolved alert Temporal could not take); answered 503 so the sender retries');
      send(res, 503, { error: 'unavailable', message: 'could not store the alert or reach Temporal; nothing was accepted, retry' }, { 'retry-after': '5' });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const match = /^\/v1\/alerts\/([a-z]+)\/?$/.exec(path);
    if (match !== null) {
      const source = match[1] as AlertSource;
      if (!alertSources.includes(source)) return send(res, 404, { error: 'not-found', message: `no alert source "${source}"; expected one of ${alertSources.join(', ')}` });
      if (req.method !== 'POST') return send(res, 405, { error: 'method-not-allowed', message: 'alerts are POSTed' }, { allow: 'POST' });
      return handleAlert(req, res, source);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method-not-allowed' }, { allow: 'GET' });
    switch (path) {
      case '/healthz':
        return send(res, 200, { status: 'ok' });
      case '/readyz':
        try {
          await o.ready();
          return send(res, 200, { status: 'ready', temporal: 'reachable' });
        } catch (e) {
          return send(res, 503, { status: 'not-ready', temporal: `unreachable: ${e instanceof Error ? e.message : String(e)}` });
        }
      case '/metrics':
        return send(res, 200, metrics.render(), { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      default:
        return send(res, 404, { error: 'not-found' });
    }
  }

  const requestTimeout = o.requestTimeoutMs ?? defaultRequestTimeoutMs;
  const server = createServer(
    // A slow sender holds a connection at most this long (answered 408), also when authenticated.
    { requestTimeout, headersTimeout: Math.min(requestTimeout, 10_000), connectionsCheckingInterval: Math.min(1000, requestTimeout) },
    (req, res) => {
      handle(req, res).catch((e: unknown) => {
        log.error({ err: e instanceof Error ? e.message : String(e) }, 'intake request failed');
        if (!res.headersSent) send(res, 500, { error: 'internal' });
        else res.destroy();
      });
    },
  );
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(o.port, o.host, () => {
      server.off('error', rejectListen);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
