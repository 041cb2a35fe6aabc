/**
 * Pushes synthetic images and their SBOMs to a registry with the OCI
 * distribution API, as a build pipeline would: blobs by monolithic upload,
 * manifests by digest or tag, SBOMs as OCI 1.1 artifacts whose `subject` is
 * the image, listed in the referrers tag schema when the registry has no
 * referrers API (it says so by not answering the push with `OCI-Subject`).
 */
import { createHash, randomBytes } from 'node:crypto';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  platform?: { os: string; architecture: string; variant?: string };
}

const ociIndex = 'application/vnd.oci.image.index.v1+json';
const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
const emptyConfig = 'application/vnd.oci.empty.v1+json';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function ok(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

export class OciPusher {
  readonly host: string;
  constructor(readonly url: string) {
    this.host = new URL(url).host;
  }

  async blob(repo: string, content: Buffer | string, mediaType: string): Promise<Descriptor> {
    const bytes = Buffer.from(content);
    const digest = sha256(bytes);
    const start = await ok(await fetch(`${this.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' }), `start upload to ${repo}`);
    const location = new URL(start.headers.get('location')!, this.url);
    location.searchParams.set('digest', digest);
    await ok(
      await fetch(location, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes }),
      `upload blob to ${repo}`,
    );
    return { mediaType, digest, size: bytes.length };
  }

  /** PUTs a manifest by tag or (when reference is omitted) by its digest; says whether the registry took its subject as a referrer. */
  async manifest(repo: string, doc: object, reference?: string): Promise<Descriptor & { ociSubject: boolean }> {
    const bytes = Buffer.from(JSON.stringify(doc));
    const digest = sha256(bytes);
    const mediaType = (doc as { mediaType: string }).mediaType;
    const res = await ok(
      await fetch(`${this.url}/v2/${repo}/manifests/${reference ?? digest}`, { method: 'PUT', headers: { 'content-type': mediaType }, body: bytes }),
      `put manifest ${reference ?? digest} to ${repo}`,
    );
    return { mediaType, digest, size: bytes.length, ociSubject: res.headers.has('oci-subject') };
  }

  /** A one-layer image for a platform: config and layer blobs, then its manifest (tagged when a tag is given). */
  async image(repo: string, platform: { os: string; architecture: string }, tag?: string): Promise<Descriptor> {
    const config = await this.blob(
      repo,
      JSON.stringify({ ...platform, rootfs: { type: 'layers', diff_ids: [] }, config: {} }),
      'application/vnd.oci.image.config.v1+json',
    );
    const layer = await this.blob(repo, randomBytes(64), 'application/vnd.oci.image.layer.v1.tar+gzip');
    const m = await this.manifest(repo, { schemaVersion: 2, mediaType: ociManifest, config, layers: [layer] }, tag);
    return { mediaType: m.mediaType, digest: m.digest, size: m.size, platform };
  }

  /** A multi-arch image: one image per platform and an index over them, tagged. */
  async multiArch(repo: string, tag: string, platforms: { os: string; architecture: string }[]): Promise<{ index: Descriptor; platforms: Descriptor[] }> {
    const manifests = [];
    for (const p of platforms) manifests.push(await this.image(repo, p));
    const index = await this.manifest(repo, { schemaVersion: 2, mediaType: ociIndex, manifests }, tag);
    return { index: { mediaType: index.mediaType, digest: index.digest, size: index.size }, platforms: manifests };
  }

  /**
   * Attaches an SBOM to `subject` as an OCI 1.1 artifact. With `tagSchema`
   * 'always' it is listed in the referrers tag schema whatever the registry
   * says; with 'fallback' only when the registry did not take the subject.
   */
  async attachSbom(
    repo: string,
    subject: Descriptor,
    sbom: string,
    artifactType: string,
    tagSchema: 'always' | 'fallback' = 'fallback',
  ): Promise<Descriptor & { listedInTagSchema: boolean }> {
    const config = await this.blob(repo, '{}', emptyConfig);
    const layer = await this.blob(repo, sbom, artifactType);
    const { mediaType, digest, size } = subject;
    const m = await this.manifest(repo, { schemaVersion: 2, mediaType: ociManifest, artifactType, config, layers: [layer], subject: { mediaType, digest, size } });
    const referrer: Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.size, artifactType };
    const listed = tagSchema === 'always' || !m.ociSubject;
    if (listed) {
      const tag = subject.digest.replace(':', '-');
      const current = await fetch(`${this.url}/v2/${repo}/manifests/${tag}`, { headers: { accept: ociIndex } });
      const manifests: Descriptor[] = current.ok ? ((await current.json()) as { manifests: Descriptor[] }).manifests : (await current.body?.cancel(), []);
      await this.manifest(repo, { schemaVersion: 2, mediaType: ociIndex, manifests: [...manifests, referrer] }, tag);
    }
    return { ...referrer, listedInTagSchema: listed };
  }
}
