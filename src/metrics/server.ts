/**
 * The process's `/metrics` endpoint: Firebreak's metrics, then the Temporal
 * SDK's (its core runtime serves them on a loopback port of its own, read and
 * passed through here so each process has one scrape target).
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** The SDK exporter's address (host:port), when this process runs a worker. */
  sdkAddress?: string;
}

async function sdkMetrics(address: string): Promise<string> {
  const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`the Temporal SDK's metrics exporter at ${address} answered ${res.status}`);
  return res.text();
}

export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain' }).end(path === '/metrics' ? 'GET only\n' : 'not found: metrics are at /metrics\n');
      return;
    }
    void (async () => {
      try {
        const own = await o.registry.metrics();
        const sdk = o.sdkAddress === undefined ? '' : await sdkMetrics(o.sdkAddress).catch((e: unknown) => `# Temporal SDK metrics unavailable: ${e instanceof Error ? e.message : String(e)}\n`);
        res.writeHead(200, { 'content-type': o.registry.contentType }).end(own + (own.endsWith('\n') ? '' : '\n') + sdk);
      } catch (e) {
        // Temporal unreachable: say so, so the scrape shows as failed rather than as zeros.
        res.writeHead(503, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    })();
  });
  server.listen(o.port, o.host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e as Error))]);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
