/**
 * The few calls of the OCI distribution API the runbook needs, over plain
 * fetch: list tags (following `Link` pagination), resolve a tag or digest
 * (HEAD), read a manifest as served, delete a tag, put a manifest under a tag.
 * Names are checked by the caller (checks.ts) before they reach a URL.
 */
import { digestPattern, manifestAccept, sha256 } from '../sbom/sources/registry.ts';
import { failure, httpFailure, registryFailure } from './errors.ts';

export interface Resolved {
  digest: string;
  mediaType: string | undefined;
}

export interface Served extends Resolved {
  bytes: Uint8Array;
}

export class OciRegistry {
  readonly base: string;
  readonly origin: string;

  constructor(
    url: string,
    private readonly headers: Record<string, string> = {},
    private readonly timeoutMs = 30_000,
    private readonly pageSize = 1000,
  ) {
    this.base = url.replace(/\/+$/, '');
    this.origin = new URL(this.base).origin;
  }

  private async request(method: string, path: string, init: { accept?: string; body?: Uint8Array; contentType?: string } = {}): Promise<Response> {
    const url = `${this.base}${path}`;
    try {
      return await fetch(url, {
        method,
        headers: { ...this.headers, ...(init.accept ? { accept: init.accept } : {}), ...(init.contentType ? { 'content-type': init.contentType } : {}) },
        ...(init.body === undefined ? {} : { body: init.body }),
        signal: AbortSignal.timeout(this.timeoutMs),
        // Not followed: a redirect could carry the credentials to another host.
        redirect: 'manual',
      });
    } catch (e) {
      throw failure(registryFailure.unavailable, `The registry ${this.base} could not be reached (${method} ${path}): ${e instanceof Error ? e.message : String(e)}; retrying.`, { verb: method, url });
    }
  }

  /** Every tag of a repository; undefined when the repository does not exist. */
  async tags(repository: string): Promise<string[] | undefined> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repository}/tags/list?n=${this.pageSize}`;
    for (let pages = 0; path !== undefined; pages++) {
      if (pages > 10_000) throw failure(registryFailure.invalid, `The registry ${this.base} kept paginating the tags of ${repository}: stopped after 10,000 pages.`);
      const res = await this.request('GET', path, { accept: 'application/json' });
      if (res.status === 404) {
        await res.body?.cancel();
        return undefined;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw httpFailure('GET', `${this.base}${path}`, res.status);
      }
      const body = (await res.json().catch(() => undefined)) as { tags?: unknown } | undefined;
      if (body === undefined || (body.tags !== null && body.tags !== undefined && !Array.isArray(body.tags))) {
        throw failure(registryFailure.invalid, `The registry ${this.base} answered the tag list of ${repository} with something that is not one.`);
      }
      for (const t of (body.tags as unknown[] | null | undefined) ?? []) if (typeof t === 'string') tags.push(t);
      path = this.nextPage(res.headers.get('link'));
    }
    return tags;
  }

  /** The `rel="next"` target of a Link header, kept on this registry. */
  private nextPage(link: string | null): string | undefined {
    const m = link === null ? null : /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
    if (m === null) return undefined;
    const next = new URL(m[1]!, this.base);
    if (next.origin !== this.origin) throw failure(registryFailure.invalid, `The registry ${this.base} pointed its next page of tags at another origin (${next.origin}): not followed.`);
    const prefix = new URL(this.base).pathname.replace(/\/+$/, '');
    return `${next.pathname.slice(prefix.length)}${next.search}`;
  }

  /** What a tag or digest resolves to, without the body; undefined when it does not exist. */
  async resolve(repository: string, reference: string): Promise<Resolved | undefined> {
    const path = `/v2/${repository}/manifests/${reference}`;
    const res = await this.request('HEAD', path, { accept: manifestAccept });
    await res.body?.cancel();
    if (res.status === 404) return undefined;
    if (!res.ok) throw httpFailure('HEAD', `${this.base}${path}`, res.status);
    const digest = res.headers.get('docker-content-digest');
    if (digest !== null && digestPattern.test(digest)) return { digest, mediaType: res.headers.get('content-type')?.split(';')[0] };
    // No digest header: the body says.
    const served = await this.manifest(repository, reference);
    return served === undefined ? undefined : { digest: served.digest, mediaType: served.mediaType };
  }

  /** A manifest's bytes as served; by digest, checked against it. Undefined when it does not exist. */
  async manifest(repository: string, reference: string): Promise<Served | undefined> {
    const path = `/v2/${repository}/manifests/${reference}`;
    const res = await this.request('GET', path, { accept: manifestAccept });
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw httpFailure('GET', `${this.base}${path}`, res.status);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const digest = sha256(bytes);
    if (digestPattern.test(reference) && digest !== reference) {
      throw failure(registryFailure.invalid, `The registry ${this.base} served ${repository}@${reference} with content hashing to ${digest}: it served something else.`);
    }
    return { digest, mediaType: res.headers.get('content-type')?.split(';')[0], bytes };
  }

  async deleteTag(repository: string, tag: string): Promise<void> {
    const path = `/v2/${repository}/manifests/${tag}`;
    const res = await this.request('DELETE', path);
    await res.body?.cancel();
    // 404: gone already, which is what was asked.
    if (!res.ok && res.status !== 404) throw httpFailure('DELETE', `${this.base}${path}`, res.status);
  }

  /** PUTs manifest bytes under a tag; the digest the registry stored them under. */
  async putTag(repository: string, tag: string, m: Served): Promise<string> {
    const path = `/v2/${repository}/manifests/${tag}`;
    const res = await this.request('PUT', path, { body: m.bytes, ...(m.mediaType === undefined ? {} : { contentType: m.mediaType }) });
    await res.body?.cancel();
    if (!res.ok) throw httpFailure('PUT', `${this.base}${path}`, res.status);
    return res.headers.get('docker-content-digest') ?? m.digest;
  }
}
