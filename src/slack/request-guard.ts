/**
 * In front of Bolt's HTTP receiver: reads the body itself, within a size
 * limit, and refuses a body Bolt would choke on before Bolt sees it. Bolt
 * 5.1 reads `body.ssl_check` of whatever the body parses to, so a signed
 * `null` (as JSON, or as `payload=null`) throws inside its request handler:
 * the rejection is unhandled (it ends a Node process) and the request is
 * never answered. A body that parses to anything but an object is no request
 * Slack sends, so it gets a 400 here. Bolt takes the buffered body as its own
 * (it reads `rawBody` when present), so nothing is read twice.
 *
 * Bolt also refuses a request timestamp only when it is over five minutes in
 * the past; one in the future passes, which would stretch a replay window.
 * Slack's rule is five minutes either way, so that is checked here too.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse } from 'node:querystring';

/** Slack's payloads are a few KiB; intake's limit is the same. */
export const slackBodyLimit = 1024 * 1024;

/** How far a request's X-Slack-Request-Timestamp may be from now, either way (Slack's rule). */
const maxSkewSeconds = 5 * 60;

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** What the body parses to as Bolt parses it (form with an optional JSON `payload`, else JSON); undefined when it is no JSON at all. */
function parsedAsBolt(raw: Buffer, contentType: string | undefined): { value: unknown } | undefined {
  const text = raw.toString();
  try {
    if (contentType === 'application/x-www-form-urlencoded') {
      const form = parse(text);
      return { value: typeof form['payload'] === 'string' ? JSON.parse(form['payload']) : form };
    }
    return { value: JSON.parse(text) };
  } catch {
    // Bolt answers malformed bodies itself (401 unsigned, 400 signed).
    return undefined;
  }
}

function read(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'aborted'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve('too-large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.pause();
        resolve('too-large');
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve('aborted'));
    req.on('aborted', () => resolve('aborted'));
  });
}

/**
 * Wraps Bolt's request listener: POSTs to the events path are buffered (at
 * most `limit` bytes) and checked; anything else passes as it came, at once,
 * so Bolt's own answer to other paths (a 404 it raises synchronously) stands.
 */
export function guardSlackRequests(bolt: Listener, o: { path: string; onError: (e: unknown) => void; limit?: number }): Listener {
  const limit = o.limit ?? slackBodyLimit;
  return (req, res) => {
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== o.path) {
      bolt(req, res);
      return;
    }
    const stamp = Number(req.headers['x-slack-request-timestamp']);
    if (Number.isFinite(stamp) && Math.abs(Date.now() / 1000 - stamp) > maxSkewSeconds) {
      // Not read: a request Firebreak will not verify needs no body.
      res.writeHead(401, { 'content-type': 'text/plain', connection: 'close' }).end('X-Slack-Request-Timestamp is more than 5 minutes from now\n');
      return;
    }
    void (async () => {
      const body = await read(req, limit);
      if (body === 'aborted') return;
      if (body === 'too-large') {
        res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end(`request body over ${limit} bytes\n`);
        return;
      }
      const parsed = parsedAsBolt(body, req.headers['content-type']);
      if (parsed !== undefined && (parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value))) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('not a Slack request: the body is not an object\n');
        return;
      }
      Object.assign(req, { rawBody: body });
      bolt(req, res);
    })().catch((e: unknown) => {
      o.onError(e);
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
}
