/**
 * A real headless browser for the HTML report tests: Debian's `chromium`
 * loads a page from a file and hands back the DOM as it stands after
 * loading (what scripts, had any run, changed included), with every request
 * it makes sent through a recording proxy. A missing chromium fails the tests
 * with how to install it; they are never skipped.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** The chromium binary on PATH; throws, saying how to install it, when there is none. */
export function chromiumBinary(): string {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, 'chromium');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  throw new Error(
    'chromium is not installed: the HTML report tests load each report in a real headless browser. ' +
      'Install it with `apt-get update && apt-get install -y --no-install-recommends chromium` (.ci/run does this before `npm test`).',
  );
}

/** A proxy that answers every request with 404 and records what was asked: host and path, or host:port for HTTPS. */
export interface RecordingProxy {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

export async function recordingProxy(): Promise<RecordingProxy> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(404).end();
  });
  server.on('connect', (req: { url?: string }, socket: NodeJS.WritableStream & { destroy(): void }) => {
    requests.push(`CONNECT ${req.url ?? ''}`);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Loaded {
  /** The DOM after loading, serialised. */
  dom: string;
  /** Every request the page made, as the proxy saw it (Chromium's own, below, left out). */
  requests: string[];
  /** Requests Chromium made for itself, whatever the page (a blank page makes them too). */
  own: string[];
}

/**
 * Hosts Chromium calls for itself even with background networking off: its
 * component updater, network time and sign-in. No report names them; a
 * request to any other host counts as the page's.
 */
export const chromiumOwnHosts = ['update.googleapis.com', 'clients2.google.com', 'accounts.google.com'];

function hostOf(request: string): string {
  if (request.startsWith('CONNECT ')) return request.slice('CONNECT '.length).replace(/:\d+$/, '');
  try {
    return new URL(request).hostname;
  } catch {
    return request;
  }
}

/**
 * Loads `html` (written to a file first) in headless chromium and returns
 * its DOM after loading, and the requests it made. Chromium's own
 * background traffic is switched off, and every request, loopback
 * included, goes through the recording proxy.
 */
export async function loadInChromium(html: string): Promise<Loaded> {
  const binary = chromiumBinary();
  const dir = await mkdtemp(join(tmpdir(), 'firebreak-chromium-'));
  const proxy = await recordingProxy();
  try {
    const page = join(dir, 'report.html');
    await writeFile(page, html);
    const { stdout } = await execFileP(
      binary,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--no-default-browser-check',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-extensions',
        '--disable-sync',
        '--component-updater=disable',
        `--user-data-dir=${join(dir, 'profile')}`,
        `--proxy-server=${proxy.url}`,
        // Chromium sends loopback direct unless told not to: "<-loopback>" removes that exception.
        '--proxy-bypass-list=<-loopback>',
        // Time for timers and loads to fire before the DOM is dumped.
        '--virtual-time-budget=2000',
        '--dump-dom',
        pathToFileURL(page).href,
      ],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const own = proxy.requests.filter((r) => chromiumOwnHosts.includes(hostOf(r)));
    return { dom: stdout, requests: proxy.requests.filter((r) => !own.includes(r)), own };
  } finally {
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The text inside every element `<tag class="… cls …">…</tag>` of a dumped DOM, in document order (flat elements only). */
export function textsOf(dom: string, tag: string, cls: string): string[] {
  const re = new RegExp(`<${tag}\\b[^>]*\\bclass="(?:[^"]*\\s)?${cls}(?:\\s[^"]*)?"[^>]*>([^<]*)</${tag}>`, 'g');
  return [...dom.matchAll(re)].map((m) => decode(m[1]!));
}

/** How many elements `<tag class="… cls …">` a dumped DOM holds. */
export function countOf(dom: string, tag: string, cls: string): number {
  return [...dom.matchAll(new RegExp(`<${tag}\\b[^>]*\\bclass="(?:[^"]*\\s)?${cls}(?:\\s[^"]*)?"`, 'g'))].length;
}

/** The document's title as the browser left it. */
export function titleOf(dom: string): string {
  return decode(/<title>([^<]*)<\/title>/.exec(dom)?.[1] ?? '');
}

function decode(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}
