/**
 * SBOMs: CycloneDX JSON 1.2–1.6 (nested `components`, `metadata.component` as
 * the subject) and SPDX JSON 2.2/2.3 (`packages[]` with purl `externalRefs` and
 * `versionInfo`; the packages the document DESCRIBES are the subject). Only the
 * fields matching needs are validated, with zod; anything else is left alone.
 * A file that cannot be used comes back as a problem naming it, never a throw,
 * so one bad SBOM does not stop the others from being matched.
 */
import { z } from 'zod';
import { identityFromPurl, looseName, purlLooseName, type Identity } from './identity.ts';
import { describeIssues } from './problems.ts';

export interface Component {
  name: string;
  version?: string;
  purl?: string;
  /** Ecosystem and name, from the purl or else from the producer's package type; absent when neither says. */
  identity?: Identity;
}

export interface Subject {
  /** How a responder names it: `alpine:3.20 sha256:…`, or the described component's name and version. */
  label: string;
  /** Image digests the SBOM describes (manifest or config), lower-case `sha256:…`. */
  digests: string[];
}

export interface Sbom {
  file: string;
  format: string;
  subject: Subject;
  components: Component[];
}

export type SbomResult = { ok: true; sbom: Sbom } | { ok: false; file: string; problem: string };

export interface ReadOptions {
  /** Refuse files larger than this (default maxSbomBytes). */
  maxBytes?: number;
  /**
   * Whether any advisory could name a package of this loose name (identity.ts). When given, the purls
   * of components it rules out are not parsed: they keep their purl and get no identity.
   */
  wanted?: (looseName: string) => boolean;
}

/** SBOMs larger than this are refused, with the limit in the message: one image's SBOM is a few MiB. */
export const maxSbomBytes = 32 * 1024 * 1024;
/** Deeper `components` nesting than this is refused (a real SBOM nests a few levels: image → jar → shaded jar). */
export const maxNesting = 32;

const property = z.object({ name: z.string(), value: z.string().optional() });
const cdxComponent = z.object({
  name: z.string(),
  version: z.string().optional(),
  group: z.string().optional(),
  purl: z.string().optional(),
  properties: z.array(property).optional(),
  components: z.array(z.unknown()).optional(),
});
type CdxComponent = z.infer<typeof cdxComponent>;

const cdxDocument = z.object({
  bomFormat: z.literal('CycloneDX'),
  specVersion: z.enum(['1.2', '1.3', '1.4', '1.5', '1.6'], { message: 'CycloneDX JSON 1.2 to 1.6 is supported' }),
  metadata: z.object({ component: cdxComponent.optional() }).optional(),
  components: z.array(z.unknown()).optional(),
});

const spdxPackage = z.object({
  SPDXID: z.string(),
  name: z.string(),
  versionInfo: z.string().optional(),
  sourceInfo: z.string().optional(),
  externalRefs: z.array(z.object({ referenceCategory: z.string(), referenceType: z.string(), referenceLocator: z.string() })).optional(),
});
const spdxDocument = z.object({
  spdxVersion: z.enum(['SPDX-2.2', 'SPDX-2.3'], { message: 'SPDX JSON 2.2 and 2.3 are supported' }),
  name: z.string().optional(),
  documentDescribes: z.array(z.string()).optional(),
  packages: z.array(spdxPackage).default([]),
  relationships: z.array(z.object({ spdxElementId: z.string(), relationshipType: z.string(), relatedSpdxElement: z.string() })).optional(),
});

/** Producers' package types (Syft, Trivy) → OSV ecosystem, for components without a purl. */
const packageTypes: Record<string, string> = {
  npm: 'npm',
  node: 'npm',
  'node-pkg': 'npm',
  python: 'PyPI',
  pip: 'PyPI',
  'python-pkg': 'PyPI',
  'java-archive': 'Maven',
  jar: 'Maven',
  pom: 'Maven',
  'go-module': 'Go',
  gomod: 'Go',
  gobinary: 'Go',
  'php-composer': 'Packagist',
  composer: 'Packagist',
  gem: 'RubyGems',
  bundler: 'RubyGems',
  gemspec: 'RubyGems',
  'rust-crate': 'crates.io',
  cargo: 'crates.io',
  dotnet: 'NuGet',
  nuget: 'NuGet',
  'dotnet-core': 'NuGet',
  debian: 'Debian',
  ubuntu: 'Ubuntu',
  alpine: 'Alpine',
  apk: 'Alpine',
};

// Purls repeat across SBOMs of one fleet (the same base image everywhere): parse each once.
const purlCache = new Map<string, Identity | null>();
function cachedIdentity(purl: string): Identity | undefined {
  let identity = purlCache.get(purl);
  if (identity === undefined) {
    try {
      identity = identityFromPurl(purl);
    } catch {
      identity = null;
    }
    if (purlCache.size >= 50_000) purlCache.clear();
    purlCache.set(purl, identity);
  }
  return identity ?? undefined;
}

const digestIn = /sha256:[0-9a-f]{64}/gi;
function digestsOf(...values: (string | undefined)[]): string[] {
  const found = new Set<string>();
  for (const v of values) for (const m of (v ?? '').replaceAll('%3A', ':').replaceAll('%3a', ':').matchAll(digestIn)) found.add(m[0].toLowerCase());
  return [...found];
}

function component(
  wanted: ReadOptions['wanted'],
  name: string,
  version: string | undefined,
  purl: string | undefined,
  packageType: string | undefined,
  source?: string,
): Component {
  const c: Component = { name };
  if (version !== undefined && version !== '') c.version = version;
  if (purl) c.purl = purl;
  if (purl && wanted) {
    const loose = purlLooseName(purl);
    if (loose !== undefined && !wanted(loose) && !(source && wanted(looseName(source)))) return c;
  }
  let identity = purl ? cachedIdentity(purl) : undefined;
  if (!identity && packageType && packageTypes[packageType]) identity = { ecosystem: packageTypes[packageType], name };
  if (identity) {
    if (source && !identity.source) identity = { ...identity, source };
    c.identity = identity;
  }
  return c;
}

function prop(c: CdxComponent, name: string): string | undefined {
  return c.properties?.find((p) => p.name === name)?.value;
}

function cdxToComponent(c: CdxComponent, wanted: ReadOptions['wanted']): Component {
  const type = prop(c, 'syft:package:type') ?? prop(c, 'aquasecurity:trivy:PkgType');
  // Without a purl, the group joins the name as the ecosystem writes it: Maven `group:artifact`, npm `@scope/name`.
  const name = c.group && !c.purl ? `${c.group}${type && packageTypes[type] === 'Maven' ? ':' : '/'}${c.name}` : c.name;
  return component(wanted, name, c.version, c.purl, type, prop(c, 'aquasecurity:trivy:SrcName'));
}

class Unusable extends Error {}

/** The label names the image digest when the producer put it elsewhere (a Trivy purl, a property). */
function subject(label: string, digests: string[]): Subject {
  const first = digests[0];
  return { label: first && !label.toLowerCase().includes(first) ? `${label} ${first}` : label, digests };
}

function parseCycloneDx(json: unknown, file: string, wanted: ReadOptions['wanted']): Sbom {
  const doc = cdxDocument.safeParse(json);
  if (!doc.success) throw new Unusable(`not a usable CycloneDX SBOM: ${describeIssues(doc.error)}`);
  const components: Component[] = [];
  // Iterative walk: nesting depth is bounded here, not by the call stack.
  const stack: { items: unknown[]; path: string; depth: number }[] = [{ items: doc.data.components ?? [], path: 'components', depth: 1 }];
  while (stack.length > 0) {
    const { items, path, depth } = stack.pop()!;
    if (depth > maxNesting) throw new Unusable(`components nested deeper than ${maxNesting} levels at ${path}: not a real SBOM`);
    for (let i = 0; i < items.length; i++) {
      const r = cdxComponent.safeParse(items[i]);
      if (!r.success) throw new Unusable(`not a usable CycloneDX SBOM: ${describeIssues(r.error, `${path}[${i}]`)}`);
      components.push(cdxToComponent(r.data, wanted));
      if (r.data.components && r.data.components.length > 0) stack.push({ items: r.data.components, path: `${path}[${i}].components`, depth: depth + 1 });
    }
  }
  const m = doc.data.metadata?.component;
  const digests = m ? digestsOf(m.version, m.purl, prop(m, 'aquasecurity:trivy:RepoDigest'), prop(m, 'aquasecurity:trivy:ImageID')) : [];
  const label = m ? [m.group ? `${m.group}/${m.name}` : m.name, m.version].filter(Boolean).join(' ') : '(no metadata.component)';
  return { file, format: `CycloneDX ${doc.data.specVersion}`, subject: subject(label, digests), components };
}

function parseSpdx(json: unknown, file: string, wanted: ReadOptions['wanted']): Sbom {
  const doc = spdxDocument.safeParse(json);
  if (!doc.success) throw new Unusable(`not a usable SPDX SBOM: ${describeIssues(doc.error)}`);
  const described = new Set(doc.data.documentDescribes ?? []);
  for (const r of doc.data.relationships ?? []) {
    if (r.relationshipType === 'DESCRIBES' && r.spdxElementId === 'SPDXRef-DOCUMENT') described.add(r.relatedSpdxElement);
    if (r.relationshipType === 'DESCRIBED_BY' && r.relatedSpdxElement === 'SPDXRef-DOCUMENT') described.add(r.spdxElementId);
  }
  const components: Component[] = [];
  const subjects: string[] = [];
  const digests: string[] = [];
  for (const p of doc.data.packages) {
    const purl = p.externalRefs?.find((r) => r.referenceType === 'purl')?.referenceLocator;
    if (described.has(p.SPDXID)) {
      subjects.push([p.name, p.versionInfo].filter(Boolean).join(' '));
      digests.push(...digestsOf(p.versionInfo, purl));
      continue;
    }
    // Trivy names the source package of an OS package only here: "built package from: openssl 3.1.4-r2".
    const source = /^built package from: (\S+)/.exec(p.sourceInfo ?? '')?.[1];
    components.push(component(wanted, p.name, p.versionInfo, purl, undefined, source));
  }
  const label = subjects.length > 0 ? subjects.join(', ') : (doc.data.name ?? '(no described package)');
  return { file, format: doc.data.spdxVersion.replace('-', ' '), subject: subject(label, [...new Set(digests)]), components };
}

/** Parses SBOM JSON text; `file` names it in problems. */
export function parseSbom(text: string, file: string, wanted?: ReadOptions['wanted']): SbomResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    if (e instanceof RangeError) return { ok: false, file, problem: 'JSON nested too deeply to read: not a real SBOM' };
    const message = e instanceof Error ? e.message : String(e);
    // V8 says "end of JSON input" only sometimes; an error at the very end of the text is a cut-off file too.
    const position = /at position (\d+)/.exec(message)?.[1];
    const truncated = /end of (JSON )?input|Unterminated/i.test(message) || (position !== undefined && Number(position) >= text.trimEnd().length);
    return {
      ok: false,
      file,
      problem: truncated ? `truncated (${message}): export the SBOM again` : `not JSON (${message}): pass a CycloneDX or SPDX JSON SBOM`,
    };
  }
  try {
    if (typeof json === 'object' && json !== null && !Array.isArray(json)) {
      const doc = json as Record<string, unknown>;
      if ('bomFormat' in doc) return { ok: true, sbom: parseCycloneDx(json, file, wanted) };
      if ('spdxVersion' in doc) return { ok: true, sbom: parseSpdx(json, file, wanted) };
    }
    return { ok: false, file, problem: 'neither CycloneDX (no bomFormat) nor SPDX (no spdxVersion): pass a CycloneDX or SPDX JSON SBOM' };
  } catch (e) {
    if (e instanceof Unusable) return { ok: false, file, problem: e.message };
    throw e;
  }
}
