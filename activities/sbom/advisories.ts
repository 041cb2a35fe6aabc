/**
 * Advisories: OSV JSON 1.x (as OSV.dev and GitHub's advisory database publish
 * them), validated with zod for the fields matching needs, and the responder's
 * forms: a purl with an exact version (`pkg:npm/chalk@5.6.1`) or an image digest.
 */
import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { identityFromPurl, type Identity } from './identity.ts';
import { describeIssues } from './problems.ts';

const event = z
  .object({ introduced: z.string().min(1), fixed: z.string().min(1), last_affected: z.string().min(1), limit: z.string().min(1) })
  .partial()
  .refine((e) => Object.values(e).filter((v) => v !== undefined).length === 1, {
    message: 'each event has exactly one of introduced, fixed, last_affected, limit',
  });

const range = z.object({
  type: z.enum(['SEMVER', 'ECOSYSTEM', 'GIT']),
  repo: z.string().optional(),
  events: z.array(event).min(1),
});

const affected = z.object({
  package: z.object({ ecosystem: z.string().min(1), name: z.string().min(1), purl: z.string().optional() }).optional(),
  ranges: z.array(range).optional(),
  versions: z.array(z.string()).optional(),
});

export const osvAdvisory = z.object({
  id: z.string().min(1),
  schema_version: z.string().optional(),
  summary: z.string().optional(),
  aliases: z.array(z.string()).optional(),
  withdrawn: z.string().optional(),
  affected: z.array(affected).default([]),
});

export type OsvEvent = z.infer<typeof event>;
export type OsvRange = z.infer<typeof range>;
export type OsvAffected = z.infer<typeof affected>;
export type OsvAdvisory = z.infer<typeof osvAdvisory>;

/** What a matcher works from: an OSV advisory, or image digests a responder named. */
export interface AdvisorySet {
  advisories: OsvAdvisory[];
  digests: string[];
}

/** An advisory input that cannot be used; the message names the input, what is wrong, and what to do. */
export class AdvisoryInputError extends Error {
  override readonly name = 'AdvisoryInputError';
}

/** Advisory files larger than this are refused: OSV entries are kilobytes. */
export const maxAdvisoryBytes = 16 * 1024 * 1024;

/** Parses OSV JSON text: one advisory, or an array of them. Throws AdvisoryInputError naming `source`. */
export function parseOsv(text: string, source: string): OsvAdvisory[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    if (e instanceof RangeError) throw new AdvisoryInputError(`${source} is JSON nested too deeply to read: pass an OSV advisory file`);
    throw new AdvisoryInputError(`${source} is not JSON (${e instanceof Error ? e.message : String(e)}): pass an OSV advisory file`);
  }
  const list = Array.isArray(json) ? json : [json];
  return list.map((entry, i) => {
    const r = osvAdvisory.safeParse(entry);
    if (!r.success) {
      throw new AdvisoryInputError(
        `${source} is not an OSV advisory: ${describeIssues(r.error, Array.isArray(json) ? `[${i}]` : '')} (see https://ossf.github.io/osv-schema/)`,
      );
    }
    return r.data;
  });
}

export async function readOsvFile(file: string): Promise<OsvAdvisory[]> {
  let text: string;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new AdvisoryInputError(`${file} is not a file: pass an OSV advisory JSON file`);
    if (s.size > maxAdvisoryBytes) {
      throw new AdvisoryInputError(`${file} is ${s.size} bytes, over the ${maxAdvisoryBytes / 1024 / 1024} MiB limit for an advisory file`);
    }
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof AdvisoryInputError) throw e;
    throw new AdvisoryInputError(`cannot read advisory ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parseOsv(text, file);
}

/** `--package pkg:npm/chalk@5.6.1` as an advisory listing that one version. */
export function advisoryFromPurl(purl: string): OsvAdvisory {
  let identity: Identity;
  try {
    identity = identityFromPurl(purl);
  } catch (e) {
    throw new AdvisoryInputError((e as Error).message);
  }
  if (!identity.version) {
    throw new AdvisoryInputError(`--package ${purl} has no version: name the exact bad version, e.g. pkg:npm/chalk@5.6.1`);
  }
  return {
    id: `package ${purl}`,
    affected: [{ package: { ecosystem: identity.ecosystem, name: identity.name, purl }, versions: [identity.version] }],
  };
}

const digestPattern = /^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$/;

/** `--digest sha256:…`: an image digest, lower-case hex. */
export function parseDigest(value: string): string {
  const digest = value.trim().toLowerCase();
  if (!digestPattern.test(digest)) {
    throw new AdvisoryInputError(`--digest ${value} is not an image digest: write it as sha256: followed by 64 hex digits`);
  }
  return digest;
}
