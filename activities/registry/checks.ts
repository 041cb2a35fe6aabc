/**
 * The registry activities' boundary: registry URLs, repositories, tags and
 * digests are checked against the OCI grammar before any of them is put in a
 * URL path, so a crafted name is refused with a typed failure.
 */
import { digestPattern, imageRef } from '../sbom/sources/registry.ts';
import { failure, registryFailure } from './errors.ts';

const tagPattern = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export function registryUrlProblem(url: unknown): string | undefined {
  if (typeof url !== 'string') return 'a registry URL is not a string';
  if (url === 'ecr') return undefined;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `registry ${JSON.stringify(url.slice(0, 200))} is not a URL`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `registry ${u.origin} is not http(s)`;
  // Credentials come from the worker's settings, never from an input that could be logged.
  if (u.username !== '' || u.password !== '') return 'a registry URL carries credentials: configure them on the worker instead';
  if (u.search !== '' || u.hash !== '') return `registry ${u.origin} has a query or fragment`;
  return undefined;
}

export function repositoryProblem(repository: unknown): string | undefined {
  const r = imageRef.shape.repository.safeParse(repository);
  return r.success ? undefined : `repository ${JSON.stringify(String(repository).slice(0, 200))} is not a repository name (lower-case path components such as shop/storefront)`;
}

export function tagProblem(tag: unknown): string | undefined {
  return typeof tag === 'string' && tagPattern.test(tag) ? undefined : `tag ${JSON.stringify(String(tag).slice(0, 200))} is not a tag (letters, digits, . _ -, up to 128)`;
}

export function digestProblem(digest: unknown): string | undefined {
  return typeof digest === 'string' && digestPattern.test(digest) ? undefined : `digest ${JSON.stringify(String(digest).slice(0, 100))} is not sha256:<64 hex>`;
}

/** Throws a non-retryable typed failure for the first problem. */
export function refuse(...problems: (string | undefined)[]): void {
  const problem = problems.find((p) => p !== undefined);
  if (problem !== undefined) throw failure(registryFailure.invalidName, `Refused before any request to the registry: ${problem}.`, { problem });
}
