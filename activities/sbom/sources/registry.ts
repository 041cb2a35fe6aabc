/**
 * SBOMs attached to images in an OCI registry as OCI 1.1 referrers
 * (`artifactType` application/vnd.cyclonedx+json or application/spdx+json,
 * `subject` the image manifest or index), over plain HTTP with the OCI
 * distribution API. Referrers come from the referrers API where the registry
 * has it and from the referrers tag schema (tag `sha256-<hex>` holding an
 * image index of referrers) where it answers 404. An image index resolves to
 * its platform manifests; an SBOM found for one of them names the index and
 * the platform digest. An image with no SBOM at all is listed as such.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { describeIssues } from '../problems.ts';
import { SbomSourceRefusedError, SbomSourceUnavailableError, SbomTooLargeError, type ImageSubject, type SbomSource, type SourceEntry } from './types.ts';

export interface RegistryImage {
  /** Repository name, e.g. `shop/storefront`. */
  repository: string;
  /** A tag or a `sha256:…` digest. */
  reference: string;
}

export interface RegistrySourceOptions {
  /** Base URL of the registry, e.g. `http://127.0.0.1:5000`. */
  url: string;
  images: RegistryImage[];
  /** Extra request headers (e.g. an Authorization bearer token); never printed. */
  headers?: Record<string, string>;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
}

/** How a referrer was found, for the runbook's evidence (and the tests, which check which path a registry took). */
export type ReferrersPath = 'referrers API' | 'referrers tag schema';

export const sbomArtifactTypes = ['application/vnd.cyclonedx+json', 'application/spdx+json'] as const;

const ociIndex = 'application/vnd.oci.image.index.v1+json';
const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
const dockerList = 'application/vnd.docker.distribution.manifest.list.v2+json';
const dockerManifest = 'application/vnd.docker.distribution.manifest.v2+json';
/** Every manifest media type a client of the distribution API accepts (activities/registry reads with the same). */
export const manifestAccept = [ociIndex, ociManifest, dockerList, dockerManifest].join(', ');

export const digestPattern = /^sha256:[0-9a-f]{64}$/;
const descriptor = z.object({
  mediaType: z.string(),
  digest: z.string().regex(digestPattern, 'a sha256 digest'),
  size: z.number().int().nonnegative(),
  artifactType: z.string().optional(),
  platform: z.object({ os: z.string(), architecture: z.string(), variant: z.string().optional() }).optional(),
});
type Descriptor = z.infer<typeof descriptor>;
export const indexDoc = z.object({ mediaType: z.string().optional(), manifests: z.array(descriptor) });
const manifestDoc = z.object({ mediaType: z.string().optional(), artifactType: z.string().optional(), config: descriptor, layers: z.array(descriptor) });

// The OCI distribution spec's grammar: checked before either is put in a URL path.
export const imageRef = z.object({
  repository: z
    .string()
    .regex(/^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/, 'a repository name: lower-case path components such as shop/storefront'),
  reference: z.union([z.string().regex(digestPattern), z.string().regex(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/)], {
    message: 'a tag (letters, digits, . _ -, up to 128) or a sha256: digest',
  }),
});

const isSbomType = (t: string | undefined): boolean => t !== undefined && sbomArtifactTypes.some((s) => t === s || t.startsWith(`${s};`));
export const isIndexType = (t: string | undefined): boolean => t === ociIndex || t === dockerList;

/** A per-image failure: reported as unreadable by the image's name, the rest still scanned. */
class ImageProblem extends Error {}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function platformName(p: Descriptor['platform']): string {
  return p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : 'unknown platform';
}

export function registrySource(opts: RegistrySourceOptions): SbomSource {
  const base = opts.url.replace(/\/+$/, '');
  const host = new URL(base).host;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  // Learned from the first 404: a registry either has the referrers API or does not.
  let hasReferrersApi: boolean | undefined;

  const get = async (path: string, accept?: string): Promise<Response> => {
    try {
      return await fetch(`${base}${path}`, {
        headers: { ...opts.headers, ...(accept ? { accept } : {}) },
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'follow',
      });
    } catch (e) {
      throw new SbomSourceUnavailableError(`registry ${base} could not be reached (GET ${path}): ${e instanceof Error ? e.message : String(e)}; try again`, { cause: e });
    }
  };

  /** A manifest or index by tag or digest, its bytes checked against the digest. */
  const manifest = async (repo: string, ref: string): Promise<{ digest: string; mediaType: string | undefined; json: unknown } | undefined> => {
    const res = await get(`/v2/${repo}/manifests/${ref}`, manifestAccept);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status >= 500) {
      await res.body?.cancel();
      throw new SbomSourceUnavailableError(`registry ${base} answered HTTP ${res.status} for ${repo}:${ref}; try again`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new ImageProblem(`the registry refused the manifest (HTTP ${res.status}): check the credentials given for ${host}`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const digest = sha256(bytes);
    if (digestPattern.test(ref) && ref !== digest) throw new ImageProblem(`the manifest's content hashes to ${digest}, not ${ref}: the registry served something else`);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new ImageProblem(`manifest ${digest} is not JSON`);
    }
    const declared = (json as { mediaType?: unknown } | null)?.mediaType;
    const mediaType = typeof declared === 'string' ? declared : (res.headers.get('content-type')?.split(';')[0] ?? undefined);
    return { digest, mediaType, json };
  };

  /** The image index of a subject's referrers: from the API, else from the tag schema; empty when none. */
  const referrers = async (repo: string, digest: string): Promise<{ via: ReferrersPath; manifests: Descriptor[] }> => {
    if (hasReferrersApi !== false) {
      const res = await get(`/v2/${repo}/referrers/${digest}`, ociIndex);
      if (res.ok) {
        hasReferrersApi = true;
        const parsed = indexDoc.safeParse(await res.json().catch(() => undefined));
        if (!parsed.success) throw new ImageProblem(`the referrers of ${digest} are not an image index: ${describeIssues(parsed.error)}`);
        return { via: 'referrers API', manifests: parsed.data.manifests };
      }
      await res.body?.cancel();
      if (res.status !== 404) throw new ImageProblem(`the registry answered HTTP ${res.status} for the referrers of ${digest}`);
      hasReferrersApi = false;
    }
    const tag = await manifest(repo, digest.replace(':', '-'));
    if (tag === undefined) return { via: 'referrers tag schema', manifests: [] };
    const parsed = indexDoc.safeParse(tag.json);
    if (!parsed.success) throw new ImageProblem(`tag ${digest.replace(':', '-')} is not an image index of referrers: ${describeIssues(parsed.error)}`);
    return { via: 'referrers tag schema', manifests: parsed.data.manifests };
  };

  /** The SBOM referrers of one subject digest, as source entries. */
  async function* sbomsOf(repo: string, subjectDigest: string, subject: ImageSubject): AsyncGenerator<SourceEntry, number> {
    const { via, manifests } = await referrers(repo, subjectDigest);
    let found = 0;
    for (const d of manifests) {
      // A referrer without artifactType in its descriptor may still be an SBOM: its manifest says.
      if (d.artifactType !== undefined && !isSbomType(d.artifactType)) continue;
      const name = `${host}/${repo}@${d.digest}`;
      try {
        const m = await manifest(repo, d.digest);
        if (m === undefined) throw new ImageProblem('the referrer is listed but its manifest is gone');
        const parsed = manifestDoc.safeParse(m.json);
        if (!parsed.success) throw new ImageProblem(`not an OCI artifact manifest: ${describeIssues(parsed.error)}`);
        const type = parsed.data.artifactType ?? parsed.data.config.mediaType;
        if (!isSbomType(type)) continue;
        const layer = parsed.data.layers.find((l) => isSbomType(l.mediaType)) ?? parsed.data.layers[0];
        if (layer === undefined) throw new ImageProblem('the SBOM artifact has no layer holding the SBOM');
        found++;
        yield { kind: 'sbom', name, size: layer.size, subject, found: via, read: (maxBytes) => blob(repo, layer, maxBytes) };
      } catch (e) {
        if (!(e instanceof ImageProblem)) throw e;
        found++;
        yield { kind: 'unreadable', name, problem: e.message };
      }
    }
    return found;
  }

  const blob = async (repo: string, d: Descriptor, maxBytes: number): Promise<string> => {
    if (d.size > maxBytes) throw new SbomTooLargeError(d.size, maxBytes);
    const res = await get(`/v2/${repo}/blobs/${d.digest}`);
    if (!res.ok) {
      await res.body?.cancel();
      throw new ImageProblem(`the registry answered HTTP ${res.status} for blob ${d.digest}`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    // Counted as it arrives: a registry's Content-Length need not match the descriptor's size.
    const body: AsyncIterable<Uint8Array> = res.body ?? (async function* () {})();
    for await (const chunk of body) {
      size += chunk.length;
      if (size > maxBytes) throw new SbomTooLargeError(undefined, maxBytes);
      chunks.push(chunk);
    }
    const bytes = Buffer.concat(chunks);
    if (sha256(bytes) !== d.digest) throw new ImageProblem(`blob ${d.digest} hashes to ${sha256(bytes)}: the registry served something else`);
    return bytes.toString('utf8');
  };

  async function* image(img: RegistryImage): AsyncGenerator<SourceEntry> {
    const label = `${host}/${img.repository}${digestPattern.test(img.reference) ? '@' : ':'}${img.reference}`;
    const top = await manifest(img.repository, img.reference);
    if (top === undefined) throw new ImageProblem(`not found in the registry: check the repository and tag`);
    if (!isIndexType(top.mediaType)) {
      const subject = { label: `${label} ${top.digest}`, digests: [top.digest] };
      const n = yield* sbomsOf(img.repository, top.digest, subject);
      if (n === 0) yield { kind: 'no-sbom', name: label, subject };
      return;
    }
    const parsed = indexDoc.safeParse(top.json);
    if (!parsed.success) throw new ImageProblem(`not an image index: ${describeIssues(parsed.error)}`);
    // Attestation manifests (platform unknown/unknown) and artifacts are not platforms of the image.
    const platforms = parsed.data.manifests.filter((m) => m.artifactType === undefined && m.platform?.os !== 'unknown' && !isIndexType(m.mediaType));
    const indexSubject = { label: `${label} index ${top.digest}`, digests: [top.digest, ...platforms.map((p) => p.digest)] };
    const onIndex = yield* sbomsOf(img.repository, top.digest, indexSubject);
    for (const p of platforms) {
      const subject = { label: `${label} index ${top.digest} platform ${platformName(p.platform)} ${p.digest}`, digests: [top.digest, p.digest] };
      const n = yield* sbomsOf(img.repository, p.digest, subject);
      if (n === 0 && onIndex === 0) yield { kind: 'no-sbom', name: `${label} ${platformName(p.platform)}`, subject };
    }
  }

  return {
    description: `registry ${base}`,
    async *list() {
      const res = await get('/v2/');
      await res.body?.cancel();
      if (res.status === 401 || res.status === 403) throw new SbomSourceRefusedError(`registry ${base} refused access (HTTP ${res.status}): give credentials that may pull`);
      if (res.status >= 500) throw new SbomSourceUnavailableError(`registry ${base} answered HTTP ${res.status}; try again`);
      if (!res.ok) throw new SbomSourceRefusedError(`${base} does not answer the OCI distribution API (GET /v2/ gave HTTP ${res.status}): check the registry URL`);
      for (const img of opts.images) {
        const name = `${host}/${img.repository}${digestPattern.test(img.reference) ? '@' : ':'}${img.reference}`;
        const valid = imageRef.safeParse(img);
        if (!valid.success) {
          yield { kind: 'unreadable', name, problem: `not an image reference: ${describeIssues(valid.error)}` };
          continue;
        }
        try {
          yield* image(valid.data);
        } catch (e) {
          if (!(e instanceof ImageProblem)) throw e;
          yield { kind: 'unreadable', name, problem: e.message };
        }
      }
    },
  };
}
