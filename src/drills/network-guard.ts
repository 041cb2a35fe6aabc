/**
 * A drill may only talk to loopback (its time-skipping server, its simulated
 * world). While a drill runs, every attempt to connect elsewhere is refused
 * before a packet leaves and counted: the scorecard's `realCalls`.
 */
import net from 'node:net';
import { isIP } from 'node:net';

export interface NetworkGuard {
  /** Attempts refused so far, and where they went (host:port). */
  refused(): { count: number; targets: string[] };
  release(): void;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const h = host.replace(/^\[|\]$/g, '');
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.startsWith('::ffff:127.');
  return false;
}

type Connect = (this: net.Socket, ...args: unknown[]) => net.Socket;

/** Installs the guard on every socket of this process until released. */
export function guardNetwork(): NetworkGuard {
  // Read off the prototype, not called: it is put back unchanged on release.
  const original = Object.getOwnPropertyDescriptor(net.Socket.prototype, 'connect')!.value as Connect;
  const targets: string[] = [];
  let count = 0;
  const guarded = function (this: net.Socket, ...given: unknown[]) {
    // net.connect and http's agents pass their arguments normalised: one array of [options, callback].
    const args = given.length === 1 && Array.isArray(given[0]) ? (given[0] as unknown[]) : given;
    const first = args[0];
    // A path (Unix socket, the test server's own pipes) never leaves the machine.
    const options = typeof first === 'object' && first !== null && !Array.isArray(first) ? (first as { host?: string; port?: number; path?: string }) : undefined;
    const path = options?.path ?? (typeof first === 'string' && !/^\d+$/.test(first) ? first : undefined);
    if (path === undefined) {
      const host = options !== undefined ? (options.host ?? 'localhost') : typeof args[1] === 'string' ? args[1] : 'localhost';
      const port = options !== undefined ? options.port : Number(first);
      if (!isLoopback(host)) {
        count += 1;
        if (targets.length < 20) targets.push(`${host}:${String(port)}`);
        process.nextTick(() => this.destroy(new Error(`firebreak drill: refused a connection to ${host}:${String(port)}: a drill never leaves loopback`)));
        return this;
      }
    }
    return original.apply(this, given);
  };
  net.Socket.prototype.connect = guarded;
  return {
    refused: () => ({ count, targets: [...targets] }),
    release: () => {
      net.Socket.prototype.connect = original;
    },
  };
}
