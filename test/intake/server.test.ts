// The HTTP surface: authentication, refusals with their status codes and
// messages, health, readiness and metrics. Rejected requests never reach Temporal.
import { connect } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '../../src/intake/auth.ts';
import { temporalDelivery } from '../../src/intake/deliver.ts';
import { uniqueName, temporalClient } from '../support/servers.ts';
import { fixture, postAlert, startTestIntake, testPolicies, tokens } from './helpers.ts';

const hmacSecret = 'generic-hmac-secret-0123456789';
let base: string;
let metricsText: () => Promise<string>;
const clock = Date.now();

beforeAll(async () => {
  const client = await temporalClient();
  const intake = await startTestIntake({
    client,
    taskQueue: uniqueName('no-worker'),
    policies: testPolicies(uniqueName('srv').toLowerCase()).all,
    auth: {
      falco: { mode: 'bearer', token: tokens.falco },
      generic: { mode: 'hmac', secret: hmacSecret },
    },
    now: () => clock,
  });
  base = intake.url;
  metricsText = async () => (await fetch(`${base}/metrics`)).text();
});

function signed(body: string, at = clock, secret = hmacSecret): Record<string, string> {
  const ts = String(Math.floor(at / 1000));
  return { authorization: '', 'x-firebreak-timestamp': ts, 'x-firebreak-signature': signBody(secret, ts, body) };
}

describe('authentication', () => {
  it('answers 401 to a request without a bearer token', async () => {
    const r = await postAlert(base, 'falco', await fixture('falco/terminal-shell.json'), { authorization: '' });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: 'unauthorized', message: expect.stringContaining('Authorization: Bearer') });
  });

  it('answers 401 to a wrong bearer token', async () => {
    const r = await postAlert(base, 'falco', await fixture('falco/terminal-shell.json'), { authorization: 'Bearer not-the-token-0123456789' });
    expect(r.status).toBe(401);
  });

  it('answers 401 on a source that has no credentials configured, whatever is sent', async () => {
    const r = await postAlert(base, 'guardduty', await fixture('guardduty/iam-credential-exfiltration.json'));
    expect(r.status).toBe(401);
    expect(r.body.message).toContain('FIREBREAK_INTAKE_GUARDDUTY_TOKEN');
  });

  it('accepts an HMAC-signed body with a fresh timestamp', async () => {
    const body = await fixture('generic/leaked-key.json');
    const r = await postAlert(base, 'generic', body, signed(body));
    expect(r.status).toBe(200);
  });

  it('answers 401 when the HMAC signature was made over a different body', async () => {
    const body = await fixture('generic/leaked-key.json');
    const r = await postAlert(base, 'generic', body.replace('high', 'low'), signed(body));
    expect(r.status).toBe(401);
    expect(r.body.message).toBe('the signature does not match the body');
  });

  it('answers 401 to a correctly signed body whose timestamp is more than five minutes old (replay)', async () => {
    const body = await fixture('generic/leaked-key.json');
    const r = await postAlert(base, 'generic', body, signed(body, clock - 301_000));
    expect(r.status).toBe(401);
    expect(r.body.message).toContain('more than 300 s from now');
  });

  it('answers 401 to a bearer token on a source configured for HMAC', async () => {
    const r = await postAlert(base, 'generic', await fixture('generic/leaked-key.json'), { authorization: `Bearer ${tokens.generic}` });
    expect(r.status).toBe(401);
  });
});

describe('refusals', () => {
  it('answers 415 to a body that is not declared as JSON', async () => {
    const r = await postAlert(base, 'falco', await fixture('falco/terminal-shell.json'), { 'content-type': 'text/plain' });
    expect(r.status).toBe(415);
    expect(r.body).toMatchObject({ error: 'unsupported-media-type', message: 'expected Content-Type: application/json; got "text/plain"' });
  });

  it('answers 413 to a body over 1 MiB', async () => {
    const big = JSON.stringify({ rule: 'r', priority: 'Notice', time: new Date().toISOString(), output: 'x'.repeat(1024 * 1024) });
    const r = await postAlert(base, 'falco', big);
    expect(r.status).toBe(413);
    expect(r.body.message).toContain('1 MiB');
  });

  it('answers 400 with the zod field paths of an invalid Falco payload', async () => {
    const payload = JSON.parse(await fixture('falco/terminal-shell.json')) as Record<string, unknown>;
    delete payload.rule;
    payload.priority = 'Loud';
    const r = await postAlert(base, 'falco', JSON.stringify(payload));
    expect(r.status).toBe(400);
    expect(r.body.problems?.map((p) => p.path).sort()).toEqual(['priority', 'rule']);
  });

  it('answers 400 with the nested field paths of an invalid generic alert', async () => {
    const body = JSON.stringify({ severity: 'severe', rule: 'r', summary: 's', entities: { pod: '' } });
    const r = await postAlert(base, 'generic', body, signed(body));
    expect(r.status).toBe(400);
    expect(r.body.problems?.map((p) => p.path).sort()).toEqual(['entities.pod', 'severity']);
  });

  it('answers 400 to a body that is not JSON at all', async () => {
    const r = await postAlert(base, 'falco', '{"rule": ');
    expect(r.status).toBe(400);
    expect(r.body.problems?.[0]?.message).toMatch(/^not valid JSON/);
  });

  it('answers 404 to an unknown source', async () => {
    const r = await fetch(`${base}/v1/alerts/splunk`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(404);
  });

  it('counts each refusal in the metrics by reason', async () => {
    await postAlert(base, 'falco', '{}', { 'content-type': 'text/csv' });
    expect(await metricsText()).toMatch(/^firebreak_intake_requests_rejected_total\{source="falco",reason="unsupported-media-type"\} [1-9]\d*$/m);
  });
});

describe('health, readiness and metrics', () => {
  it('answers /healthz with 200', async () => {
    const r = await fetch(`${base}/healthz`);
    expect(r.status).toBe(200);
  });

  it('answers /readyz with 200 while Temporal is reachable', async () => {
    const r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ready', temporal: 'reachable' });
  });

  it('answers /readyz with 503 when Temporal cannot be reached', async () => {
    const connection = Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 500 });
    afterAll(() => connection.close());
    const unreachable = temporalDelivery(new Client({ connection }));
    const other = await startTestIntake({ client: new Client({ connection }), taskQueue: 'none', policies: [], ready: unreachable.ping });
    const r = await fetch(`${other.url}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({ status: 'not-ready', temporal: expect.stringMatching(/^unreachable/) });
  });

  it('serves Prometheus text with every counter declared', async () => {
    const r = await fetch(`${base}/metrics`);
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await r.text();
    for (const name of ['received', 'routed', 'unrouted', 'deduplicated']) {
      expect(text).toContain(`# TYPE firebreak_intake_alerts_${name}_total counter`);
    }
    expect(text).toContain('# TYPE firebreak_intake_requests_rejected_total counter');
  });
});


/** Sends `head` and part of a body on a raw connection; resolves with what the server wrote before closing. */
function partialRequest(url: string, o: { abortAfterMs?: number }): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`POST /v1/alerts/falco HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${tokens.falco}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"rule":`);
      if (o.abortAfterMs !== undefined) setTimeout(() => socket.destroy(), o.abortAfterMs);
    });
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => undefined);
  });
}

describe('slow and vanishing senders', () => {
  async function intakeLogging(requestTimeoutMs?: number) {
    const lines: { level: number; msg: string }[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) });
    const client = await temporalClient();
    const intake = await startTestIntake({
      client,
      taskQueue: uniqueName('no-worker'),
      policies: testPolicies(uniqueName('slow').toLowerCase()).all,
      log,
      ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
    });
    return { url: intake.url, lines };
  }

  it('answers 408 and closes the connection of an authenticated sender whose body does not arrive within the request timeout', async () => {
    const { url } = await intakeLogging(800);
    const started = Date.now();
    const answer = await partialRequest(url, {});
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('sets a request timeout of 30 s by default, not Node\'s 5 minutes', async () => {
    const client = await temporalClient();
    const intake = await startTestIntake({ client, taskQueue: uniqueName('no-worker'), policies: testPolicies(uniqueName('dflt').toLowerCase()).all });
    expect([intake.server.requestTimeout, intake.server.headersTimeout]).toEqual([30_000, 10_000]);
  });

  it('logs a client that closes the connection mid-body at info, not as an intake error', async () => {
    const { url, lines } = await intakeLogging();
    await partialRequest(url, { abortAfterMs: 100 });
    const deadline = Date.now() + 3000;
    while (!lines.some((l) => l.msg.includes('before its body arrived')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    expect(lines.find((l) => l.msg.includes('before its body arrived'))?.level).toBe(30);
  });
});
