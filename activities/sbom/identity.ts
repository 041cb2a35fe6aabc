/**
 * Package identity: the (ecosystem, normalised name) pair advisories are indexed
 * by, taken from a purl (decoded by packageurl-js, so `%40scope` and `@scope` are
 * the same) or from an ecosystem and a name. Names are normalised as each
 * registry compares them (PEP 503 for PyPI, case-insensitive NuGet and Packagist,
 * `-` = `_` on crates.io).
 */
import { PackageURL } from 'packageurl-js';
import { baseEcosystem } from './versions/index.ts';

export interface Identity {
  /** OSV ecosystem name, e.g. `npm`, `Debian`. */
  ecosystem: string;
  /** The name as OSV writes it (`@scope/name`, `group:artifact`, `vendor/package`). */
  name: string;
  version?: string;
  /** Linux distribution release from the purl (`distro=debian-12`), when given. */
  distro?: string;
  /** The source package of an OS package (`upstream=xz-utils`), which is what OS advisories name. */
  source?: string;
}

/** purl type → OSV ecosystem; OS package types take the distribution from the namespace. */
const purlTypes: Record<string, string> = {
  npm: 'npm',
  pypi: 'PyPI',
  maven: 'Maven',
  golang: 'Go',
  composer: 'Packagist',
  gem: 'RubyGems',
  cargo: 'crates.io',
  nuget: 'NuGet',
  hex: 'Hex',
  pub: 'Pub',
  swift: 'SwiftURL',
  cran: 'CRAN',
  hackage: 'Hackage',
  conan: 'ConanCenter',
};
const distributions: Record<string, string> = { debian: 'Debian', ubuntu: 'Ubuntu', alpine: 'Alpine' };

export class InvalidPurlError extends Error {
  override readonly name = 'InvalidPurlError';
  constructor(
    readonly purl: string,
    reason: string,
  ) {
    super(`"${purl}" is not a package URL (${reason}): write it as pkg:<type>/<namespace>/<name>@<version>, e.g. pkg:npm/chalk@5.6.1`);
  }
}

function osvName(type: string, namespace: string | undefined, name: string): string {
  if (!namespace) return name;
  if (type === 'maven') return `${namespace}:${name}`;
  if (type === 'deb' || type === 'apk' || type === 'rpm') return name;
  return `${namespace}/${name}`;
}

/** Parses a purl into an identity; throws InvalidPurlError. Unknown types keep `purl:<type>` as their ecosystem. */
export function identityFromPurl(purl: string): Identity {
  let p: PackageURL;
  try {
    p = PackageURL.fromString(purl);
  } catch (e) {
    throw new InvalidPurlError(purl, e instanceof Error ? e.message.replace(/^Invalid purl: /, '') : String(e));
  }
  const type = p.type.toLowerCase();
  let ecosystem = purlTypes[type];
  if (ecosystem === undefined && (type === 'deb' || type === 'apk')) ecosystem = distributions[(p.namespace ?? '').toLowerCase()];
  const identity: Identity = { ecosystem: ecosystem ?? `purl:${type}`, name: osvName(type, p.namespace ?? undefined, p.name) };
  if (p.version) identity.version = p.version;
  const q = p.qualifiers;
  if (q?.['distro']) identity.distro = q['distro'];
  // Syft writes `upstream=<source>` or `upstream=<source>@<source version>`.
  if (q?.['upstream']) identity.source = q['upstream'].split('@')[0];
  return identity;
}

/** The name as the ecosystem's registry compares it. */
export function normaliseName(ecosystem: string, name: string): string {
  switch (baseEcosystem(ecosystem)) {
    case 'PyPI':
      return name.toLowerCase().replace(/[-_.]+/g, '-');
    case 'crates.io':
      return name.toLowerCase().replace(/_/g, '-');
    case 'NuGet':
    case 'Packagist':
    case 'npm':
    case 'Debian':
    case 'Ubuntu':
    case 'Alpine':
    case 'GitHub Actions':
      return name.toLowerCase();
    default:
      return name;
  }
}

/** The key advisories are indexed by. */
export function identityKey(ecosystem: string, name: string): string {
  const base = baseEcosystem(ecosystem);
  return `${base}\u0000${normaliseName(base, name)}`;
}

/**
 * Whether an advisory for `Debian:12` or `Alpine:v3.20` concerns a package from
 * distro `debian-12` / `alpine-3.20.3`. A component that does not say its release
 * is kept: better a question than a silent miss.
 */
export function releaseMatches(advisoryEcosystem: string, distro: string | undefined): boolean {
  const colon = advisoryEcosystem.indexOf(':');
  if (colon === -1 || distro === undefined) return true;
  const release = advisoryEcosystem.slice(colon + 1).split(':')[0]!.replace(/^v/, '');
  const version = distro.slice(distro.indexOf('-') + 1);
  // A codename (`trixie/sid`) cannot be compared with a release number: keep it.
  if (!/^\d/.test(version)) return true;
  return version === release || version.startsWith(`${release}.`);
}

/**
 * A coarse key shared by every spelling of a name: its last `/` or `:` segment,
 * lower-cased, with runs of `-`, `_`, `.` as one `-`. Two identities with
 * different loose names can never be the same package, which lets the matcher
 * skip parsing the purls of components no advisory could name.
 */
export function looseName(name: string): string {
  return name
    .slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf(':')) + 1)
    .toLowerCase()
    .replace(/[-_.]+/g, '-');
}

/**
 * The loose name of a purl without parsing it, or undefined when the purl is
 * unusual enough (a source package qualifier, an odd `@`, bad escapes) that
 * only a full parse can say. Never a wrong answer: only "don't know".
 */
export function purlLooseName(purl: string): string | undefined {
  if (purl.includes('upstream=')) return undefined;
  let end = purl.length;
  const q = purl.indexOf('?');
  if (q !== -1) end = q;
  const h = purl.indexOf('#');
  if (h !== -1 && h < end) end = h;
  const path = purl.slice(0, end);
  const slash = path.lastIndexOf('/');
  if (slash === -1) return undefined;
  const at = path.lastIndexOf('@');
  // An `@` before the last segment is only an unencoded npm scope (`/@scope/`); anything else needs the parser.
  if (at !== -1 && at < slash && path[at - 1] !== '/') return undefined;
  let segment = path.slice(slash + 1);
  if (at > slash) segment = path.slice(slash + 1, at);
  try {
    return looseName(decodeURIComponent(segment));
  } catch {
    return undefined;
  }
}
