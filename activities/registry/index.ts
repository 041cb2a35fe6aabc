/**
 * The supply-chain runbook's registry activities: which tags point at
 * affected digests (OCI registries and ECR), the manifests and tag listing
 * sealed as evidence, and untagging with its undo. Reads run concurrently,
 * bounded; writes in dry-run are recorded only (nothing sent).
 */
import type { ECRClient } from '@aws-sdk/client-ecr';
import { ApplicationFailure } from '@temporalio/common';
import type { ActionResult } from '../../domain/actions.ts';
import { awsFailure, ecrTagsAt } from '../aws/index.ts';
import { sealItem, type EvidenceStore, type SealedItem as EvidenceRefSummary } from '../evidence/index.ts';
import { indexDoc, isIndexType } from '../sbom/sources/registry.ts';
import { mapBounded } from './bounded.ts';
import { digestProblem, refuse, registryUrlProblem, repositoryProblem, tagProblem } from './checks.ts';
import { failure, registryFailure } from './errors.ts';
import { OciRegistry } from './oci.ts';

export { registryFailure, type RegistryFailureType } from './errors.ts';

export interface TagRef {
  /** Base URL, e.g. http://127.0.0.1:5000, or 'ecr'. */
  registry: string;
  repository: string;
  tag: string;
  /** sha256:… the tag points at. */
  digest: string;
  mediaType?: string;
  /** For a tag on an image index: the affected digests it holds (the index's own, or its platform manifests'). */
  matched?: string[];
}

export type RegistryMode = 'live' | 'dry-run';

export type { SealedItem as EvidenceRefSummary } from '../evidence/index.ts';

export interface RegistryDeps {
  evidence: EvidenceStore;
  ecr?: ECRClient | undefined;
  /** Request headers per registry base URL (e.g. an Authorization bearer token); never logged or returned. */
  registryHeaders?: Record<string, Record<string, string>>;
  /** Per-request timeout (default 30 s). */
  registryTimeoutMs?: number;
  /** Tags asked for per page of a tag list (default 1,000). */
  registryPageSize?: number;
  /** Reads in flight at once (default 8). */
  registryConcurrency?: number;
}

export interface FindTagsInput {
  registries: { url: string; repositories: string[] }[];
  ecr?: { repositories: string[] };
  digests: string[];
}

const referrersTag = /^sha256-[0-9a-f]{64}$/;
const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
const said = (mode: RegistryMode, text: string, calls: string[]): string =>
  mode === 'live' ? text : `dry-run (nothing sent to the registry): would have ${text} (not sent: ${calls.join(', ')})`;

export function createRegistryActivities(deps: RegistryDeps) {
  const concurrency = deps.registryConcurrency ?? 8;
  const clients = new Map<string, OciRegistry>();
  const oci = (url: string): OciRegistry => {
    const base = url.replace(/\/+$/, '');
    let c = clients.get(base);
    if (c === undefined) {
      c = new OciRegistry(base, deps.registryHeaders?.[base] ?? deps.registryHeaders?.[url] ?? {}, deps.registryTimeoutMs, deps.registryPageSize);
      clients.set(base, c);
    }
    return c;
  };
  const ecr = (): ECRClient => {
    if (deps.ecr === undefined) {
      throw ApplicationFailure.create({
        type: awsFailure.notConfigured,
        nonRetryable: true,
        message: 'No AWS ECR client is configured for this worker: give it AWS credentials (the SDK default chain) and AWS_REGION.',
      });
    }
    return deps.ecr;
  };
  const problemOf = (e: unknown): string | undefined =>
    e instanceof ApplicationFailure && e.nonRetryable ? e.message : undefined;

  const seal = (incidentId: string, name: string, content: string | Uint8Array, mediaType: string): Promise<EvidenceRefSummary> =>
    sealItem(deps.evidence, { incidentId, name, content, mediaType });

  const checkTag = (t: TagRef): void => {
    refuse(registryUrlProblem(t.registry), repositoryProblem(t.repository), tagProblem(t.tag), digestProblem(t.digest));
    if (t.registry === 'ecr') {
      throw failure(registryFailure.invalidTarget, `Refused: ${t.repository}:${t.tag} is in ECR, which has no untag that keeps the image; make its tags immutable with setEcrTagImmutability instead.`);
    }
  };

  return {
    findTags: async (input: FindTagsInput): Promise<{ tags: TagRef[]; problems: string[] }> => {
      refuse(
        ...input.digests.map(digestProblem),
        ...input.registries.flatMap((r) => [registryUrlProblem(r.url), ...r.repositories.map(repositoryProblem)]),
        ...(input.ecr?.repositories ?? []).map(repositoryProblem),
      );
      const affected = new Set(input.digests);
      const problems: string[] = [];
      const tags: TagRef[] = [];
      // An index's platform manifests, read once per registry and digest however many tags point at it.
      const indexes = new Map<string, Promise<string[]>>();
      const platformsOf = (reg: OciRegistry, repository: string, digest: string): Promise<string[]> => {
        const key = `${reg.base} ${repository}@${digest}`;
        let p = indexes.get(key);
        if (p === undefined) {
          p = reg.manifest(repository, digest).then((m) => {
            if (m === undefined) return [];
            const parsed = indexDoc.safeParse(JSON.parse(new TextDecoder().decode(m.bytes)));
            return parsed.success ? parsed.data.manifests.map((d) => d.digest) : [];
          });
          indexes.set(key, p);
        }
        return p;
      };

      const repos = input.registries.flatMap((r) => r.repositories.map((repository) => ({ reg: oci(r.url), repository })));
      const listed = await mapBounded(repos, concurrency, async ({ reg, repository }) => {
        try {
          const names = await reg.tags(repository);
          if (names === undefined) problems.push(`${reg.base}/${repository}: no such repository in the registry`);
          return (names ?? []).filter((t) => !referrersTag.test(t)).map((tag) => ({ reg, repository, tag }));
        } catch (e) {
          const p = problemOf(e);
          if (p === undefined) throw e;
          problems.push(`${reg.base}/${repository}: tags not listed: ${p}`);
          return [];
        }
      });
      const found = await mapBounded(listed.flat(), concurrency, async ({ reg, repository, tag }): Promise<TagRef | undefined> => {
        try {
          const r = await reg.resolve(repository, tag);
          if (r === undefined) return undefined;
          const base = { registry: reg.base, repository, tag, digest: r.digest, ...(r.mediaType === undefined ? {} : { mediaType: r.mediaType }) };
          if (affected.has(r.digest)) return { ...base, matched: [r.digest] };
          if (!isIndexType(r.mediaType)) return undefined;
          const matched = (await platformsOf(reg, repository, r.digest)).filter((d) => affected.has(d));
          return matched.length === 0 ? undefined : { ...base, matched };
        } catch (e) {
          const p = problemOf(e);
          if (p === undefined) throw e;
          problems.push(`${reg.base}/${repository}:${tag}: not resolved: ${p}`);
          return undefined;
        }
      });
      tags.push(...found.filter((t): t is TagRef => t !== undefined));
      for (const repository of input.ecr?.repositories ?? []) {
        // ECR lists tag → digest by itself; the platform manifests of an ECR index are not read (that needs the registry API).
        let at: Awaited<ReturnType<typeof ecrTagsAt>>;
        try {
          at = await ecrTagsAt(ecr(), repository, affected);
        } catch (e) {
          // Denied or invalid: this repository is unread, not clean; throttling and outages are retried.
          const p = problemOf(e);
          if (p === undefined) throw e;
          problems.push(`ecr/${repository}: tags not listed: ${p}`);
          continue;
        }
        if (at === undefined) problems.push(`ecr/${repository}: no such ECR repository`);
        else tags.push(...at.map((t) => ({ registry: 'ecr', repository: t.repository, tag: t.tag, digest: t.digest, matched: [t.digest] })));
      }
      const order = (t: TagRef) => `${t.registry} ${t.repository} ${t.tag}`;
      tags.sort((a, b) => order(a).localeCompare(order(b)));
      return { tags, problems };
    },

    captureRegistryEvidence: async (input: {
      incidentId: string;
      tags: TagRef[];
      digests: { registry: string; repository: string; digest: string }[];
    }): Promise<{ refs: EvidenceRefSummary[] }> => {
      refuse(
        ...input.tags.flatMap((t) => [registryUrlProblem(t.registry), repositoryProblem(t.repository), tagProblem(t.tag), digestProblem(t.digest)]),
        ...input.digests.flatMap((d) => [registryUrlProblem(d.registry), repositoryProblem(d.repository), digestProblem(d.digest)]),
      );
      const wanted = new Map<string, { registry: string; repository: string; digest: string }>();
      for (const d of [...input.digests, ...input.tags]) wanted.set(`${d.registry} ${d.repository}@${d.digest}`, { registry: d.registry, repository: d.repository, digest: d.digest });
      const items = [...wanted.values()].sort((a, b) => `${a.registry} ${a.repository}@${a.digest}`.localeCompare(`${b.registry} ${b.repository}@${b.digest}`));
      const served = await mapBounded(items, concurrency, async (d) => {
        if (d.registry === 'ecr') return { d, problem: 'ECR manifests are not read (no registry API access): the tag listing records the digest' };
        try {
          const m = await oci(d.registry).manifest(d.repository, d.digest);
          return m === undefined ? { d, problem: 'not stored in the registry' } : { d, m };
        } catch (e) {
          const p = problemOf(e);
          if (p === undefined) throw e;
          return { d, problem: p };
        }
      });
      const refs: EvidenceRefSummary[] = [];
      // One after the other, in a fixed order: the manifest reads the same on every attempt.
      for (const s of served) {
        if (s.m === undefined) continue;
        refs.push(await seal(input.incidentId, `registry manifest ${s.d.registry}/${s.d.repository}@${s.d.digest}`, s.m.bytes, s.m.mediaType ?? 'application/octet-stream'));
      }
      const listing = {
        tags: input.tags.map((t) => ({ registry: t.registry, repository: t.repository, tag: t.tag, digest: t.digest, ...(t.mediaType === undefined ? {} : { mediaType: t.mediaType }), ...(t.matched === undefined ? {} : { matched: t.matched }) })),
        manifests: served.map((s) => ({ ...s.d, sealed: s.m !== undefined, ...(s.problem === undefined ? {} : { problem: s.problem }) })),
      };
      refs.push(await seal(input.incidentId, 'registry tags.json', json(listing), 'application/json'));
      return { refs };
    },

    untagImage: async (input: { incidentId: string; tag: TagRef; mode: RegistryMode }): Promise<ActionResult> => {
      const { tag: t, mode } = input;
      checkTag(t);
      const reg = oci(t.registry);
      const name = `${reg.base}/${t.repository}:${t.tag}`;
      const now = await reg.resolve(t.repository, t.tag);
      if (now === undefined) return { outcome: 'already-done', detail: `tag ${name} no longer exists: it points at nothing` };
      if (now.digest !== t.digest) return { outcome: 'already-done', detail: `tag ${name} changed since it was found: it points at ${now.digest}, not ${t.digest}; left alone` };
      // The undo PUTs this manifest back: it must still be stored by digest once the tag is gone.
      if ((await reg.resolve(t.repository, t.digest)) === undefined) {
        throw failure(registryFailure.invalid, `Did not untag ${name}: the registry does not serve ${t.digest} by digest, so the tag could not be restored. Check the registry.`);
      }
      if (mode === 'live') await reg.deleteTag(t.repository, t.tag);
      return { outcome: 'changed', detail: said(mode, `removed tag ${name} from ${t.digest} (the manifest stays stored by digest)`, [`DELETE /v2/${t.repository}/manifests/${t.tag}`]) };
    },

    restoreTag: async (input: { incidentId: string; tag: TagRef; mode: RegistryMode }): Promise<string> => {
      const { tag: t, mode } = input;
      checkTag(t);
      const reg = oci(t.registry);
      const name = `${reg.base}/${t.repository}:${t.tag}`;
      const now = await reg.resolve(t.repository, t.tag);
      if (now?.digest === t.digest) return `tag ${name} already points at ${t.digest}`;
      if (now !== undefined) {
        throw failure(
          registryFailure.rollbackUnsafe,
          `Did not restore tag ${name}: it was pushed again since and points at ${now.digest}; putting ${t.digest} back would overwrite that push. Decide by hand which digest it should name.`,
        );
      }
      const m = await reg.manifest(t.repository, t.digest);
      if (m === undefined) {
        throw failure(registryFailure.rollbackUnsafe, `Cannot restore tag ${name}: the registry no longer stores ${t.digest} (garbage-collected or deleted). Push the image again if it is still wanted.`);
      }
      if (mode === 'dry-run') return said(mode, `put tag ${name} back on ${t.digest}`, [`PUT /v2/${t.repository}/manifests/${t.tag}`]);
      const stored = await reg.putTag(t.repository, t.tag, m);
      if (stored !== t.digest) throw failure(registryFailure.invalid, `The registry stored tag ${name} as ${stored}, not ${t.digest}: check the registry.`);
      return `put tag ${name} back on ${t.digest}`;
    },
  };
}

export type RegistryActivities = ReturnType<typeof createRegistryActivities>;
