// The Slack app against the requests the fuzz suite found or cannot time:
// a body that dribbles in, one over the limit, a signed body Bolt 5.1 alone
// would crash on, and a signature whose timestamp lies in the future.
import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { postToSlackApp, signingSecret, slackHarness, slackSignature } from '../support/slack.ts';

let h: Awaited<ReturnType<typeof slackHarness>>;

beforeAll(async () => {
  h = await slackHarness({ requestTimeoutMs: 1500 });
});

const alive = async () => (await postToSlackApp(h.url, 'ssl_check=1', { signature: null })).status;

/** POSTs `body` as JSON, correctly signed. */
async function signedJson(body: string, timestamp = Math.floor(Date.now() / 1000)) {
  const res = await fetch(h.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': slackSignature(signingSecret, timestamp, body) },
    body,
  });
  return { status: res.status, text: await res.text() };
}

describe('the Slack app against hostile requests', () => {
  it('closes a connection whose body dribbles in past the request timeout, and answers others meanwhile', { timeout: 20_000 }, async () => {
    const { hostname, port, pathname } = new URL(h.url);
    const socket = net.connect(Number(port), hostname);
    socket.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
    const started = Date.now();
    const timestamp = Math.floor(Date.now() / 1000);
    socket.write(`POST ${pathname} HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\nx-slack-request-timestamp: ${timestamp}\r\nx-slack-signature: v0=00\r\ncontent-length: 100000\r\n\r\n`);
    const dribble = setInterval(() => socket.writable && socket.write('a'), 100);
    try {
      expect(await alive()).toBe(200);
      // 1.5 s, checked every second: closed within seconds, not when the body would have ended (~3 h at this pace).
      expect((await closed) - started).toBeLessThan(6000);
    } finally {
      clearInterval(dribble);
      socket.destroy();
    }
    expect(await alive()).toBe(200);
  });

  it('answers a body over the 1 MiB limit with a small 413, without reading it', async () => {
    const res = await postToSlackApp(h.url, `payload=${'a'.repeat(2 * 2 ** 20)}`);
    expect(res.status).toBe(413);
    expect(res.body.length).toBeLessThan(1000);
  });

  it('refuses a correctly signed body of null with 400 and keeps answering (Bolt alone throws, unhandled, and never answers)', async () => {
    expect((await signedJson('null')).status).toBe(400);
    expect((await postToSlackApp(h.url, 'payload=null')).status).toBe(400);
    expect(await alive()).toBe(200);
  });

  it('refuses a correctly signed body of a shape Bolt cannot read with 400, not 500', async () => {
    const res = await postToSlackApp(h.url, `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', actions: 7, team: null, user: { id: 'U0X' } }))}`);
    expect(res.status).toBe(400);
  });

  it('refuses a correctly signed request stamped more than 5 minutes in the future, as it does one 5 minutes old', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await signedJson('{"type":"url_verification","challenge":"c"}', now + 6 * 60)).status).toBe(401);
    expect((await signedJson('{"type":"url_verification","challenge":"c"}', now - 6 * 60)).status).toBe(401);
    // Control: the same request stamped now is answered.
    const fresh = await signedJson('{"type":"url_verification","challenge":"c"}', now);
    expect(fresh.status).toBe(200);
    expect(fresh.text).toContain('"challenge":"c"');
  });
});
