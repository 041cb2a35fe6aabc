import { createServer, connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { guardNetwork } from '../../src/drills/network-guard.ts';

function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e) => resolve(e.message));
  });
}

describe('the drill network guard', () => {
  it('refuses and counts a connection beyond loopback before it leaves', async () => {
    const guard = guardNetwork();
    try {
      expect(await tryConnect('192.0.2.10', 443)).toMatch(/refused a connection to 192\.0\.2\.10:443: a drill never leaves loopback/);
      expect(guard.refused()).toEqual({ count: 1, targets: ['192.0.2.10:443'] });
    } finally {
      guard.release();
    }
  });

  it('lets loopback through (the control)', async () => {
    const server = createServer((c) => c.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const guard = guardNetwork();
    try {
      expect(await tryConnect('127.0.0.1', port)).toBe('connected');
      expect(guard.refused().count).toBe(0);
    } finally {
      guard.release();
      server.close();
    }
  });

  it('puts sockets back as they were once released', async () => {
    guardNetwork().release();
    const guard = guardNetwork();
    guard.release();
    // A documentation address: unguarded, the attempt reaches the network stack and fails there, not at the guard.
    expect(await tryConnect('192.0.2.10', 9)).not.toMatch(/a drill never leaves loopback/);
  });
});
