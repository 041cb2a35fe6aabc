/**
 * A referrers API in front of the real test registry, for the one path that
 * registry (distribution v3.1.2) cannot exercise: it forwards every request
 * to the registry unchanged, except GET /v2/<name>/referrers/<digest>, which
 * it answers as the OCI distribution spec says a registry with the API does
 * (200, an image index, empty when there are none), from the referrers it
 * was told about. It records the paths asked, so a test can show that the
 * tag schema was not consulted.
 */
import { createServer, type Server } from 'node:http';
import { afterAll } from 'vitest';

export interface ReferrersApi {
  url: string;
  /** Referrer descriptors by subject digest, as a registry with the API would index them on push. */
  referrers: Map<string, object[]>;
  /** Every request path, in order. */
  requests: string[];
}

export async function referrersApiInFront(registryUrl: string): Promise<ReferrersApi> {
  const referrers = new Map<string, object[]>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push(path);
    const m = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})(\?.*)?$/.exec(path);
    if (req.method === 'GET' && m) {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
      res.end(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: referrers.get(m[2]!) ?? [] }));
      return;
    }
    void (async () => {
      const upstream = await fetch(`${registryUrl}${path}`, {
        method: req.method ?? 'GET',
        headers: Object.fromEntries(Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'host')),
      });
      const body = Buffer.from(await upstream.arrayBuffer());
      res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
      res.end(body);
    })().catch((e: unknown) => {
      res.writeHead(502);
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('the referrers API stand-in has no port');
  return { url: `http://127.0.0.1:${address.port}`, referrers, requests };
}
