// A client that dribbles its body is timed out by intake, which keeps
// answering others meanwhile; a body over the limit gets a small 413.
import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { startTestIntake, testPolicies, tokens } from '../intake/helpers.ts';
import { temporalClient, uniqueName } from '../support/servers.ts';

let url: string;

beforeAll(async () => {
  const client = await temporalClient();
  ({ url } = await startTestIntake({ client, taskQueue: uniqueName('slow-no-worker'), policies: testPolicies(uniqueName('slow').toLowerCase()).all, requestTimeoutMs: 1500 }));
});

describe('intake against slow and oversized bodies', () => {
  it('closes a connection whose body dribbles in past the request timeout, and answers others meanwhile', { timeout: 20_000 }, async () => {
    const { hostname, port } = new URL(url);
    const socket = net.connect(Number(port), hostname);
    socket.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('utf8')));
    const started = Date.now();
    socket.write(`POST /v1/alerts/falco HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: Bearer ${tokens.falco}\r\ncontent-length: 100000\r\n\r\n`);
    const dribble = setInterval(() => socket.writable && socket.write('{'), 100);
    try {
      const other = await fetch(`${url}/healthz`);
      expect(other.status).toBe(200);
      const at = await closed;
      // The timeout is 1.5 s, checked every second: closed within a few seconds, not when the body would have ended (~3 h at this pace).
      expect(at - started).toBeLessThan(6000);
      expect(answer === '' || answer.startsWith('HTTP/1.1 408')).toBe(true);
    } finally {
      clearInterval(dribble);
      socket.destroy();
    }
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('answers a body over the 1 MiB limit with a small 413', async () => {
    const res = await fetch(`${url}/v1/alerts/falco`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.falco}` }, body: `{"x":"${'a'.repeat(2 * 2 ** 20)}"}` });
    const text = await res.text();
    expect(res.status).toBe(413);
    expect(text.length).toBeLessThan(1000);
  });
});
