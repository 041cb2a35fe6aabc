/**
 * The supply-chain runbook's matching: advisories, exact packages, image
 * digests and CI actions against every configured SBOM source, and a
 * compromised action against the CI workflow files that use it. Read-only;
 * what it read to decide (the advisories, each affected SBOM) is sealed as it
 * is read, so the evidence is what the decision was made on.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { S3Client } from '@aws-sdk/client-s3';
import type { EvidenceStore } from '../evidence/index.ts';
import {
  AdvisoryIndex,
  AdvisoryInputError,
  advisoryFromPurl,
  directorySource,
  Matcher,
  parseOsv,
  readEntry,
  registrySource,
  s3Source,
  SbomSourceError,
  type OsvAdvisory,
  type SbomEntry,
  type SbomResult,
  type SbomSource,
} from '../sbom/index.ts';
import { sealItem, type SealedItem } from '../evidence/index.ts';
import type { WorkflowUse } from '../ci/index.ts';
import { supplyChainFailure } from './errors.ts';
import type { AffectedImage, MatchInput, MatchScope, SbomSourceConfig, SupplyChainScope } from './types.ts';

const actionsEcosystem = 'GitHub Actions';


export interface ActionScope {
  /** Uses at an affected ref. */
  uses: (WorkflowUse & { advisory: string; matched: string })[];
  /** Uses whose ref cannot be placed in the advisory's ranges (a branch, a commit SHA): check by hand. */
  undecidable: (WorkflowUse & { advisory: string; reason: string })[];
  scanned: number;
  problems: string[];
}

/** The scope of a worker given none: only its cluster, only digests a responder names (src/config/scope.ts documents the file). */
export const defaultScope: SupplyChainScope = {
  sbomSources: [],
  registries: [],
  checkouts: [],
  secrets: [],
  signingKeys: [],
  blockNamespace: 'firebreak',
  canaryNamespace: 'firebreak',
  controlImage: 'registry.k8s.io/pause:3.10',
};

/** What the workflow acts with, from the worker's scope: where to block, what to rotate, which keys sign. */
export type ScopeSettings = Omit<SupplyChainScope, 'sbomSources' | 'checkouts'>;

export interface ScopeDeps {
  scope: SupplyChainScope;
  evidence: EvidenceStore;
  s3?: S3Client | undefined;
  findWorkflowUses: (input: { checkouts: string[]; action: string; refs: string[] }) => Promise<{ uses: WorkflowUse[]; scanned: number; problems: string[] }>;
}

function refuse(message: string): never {
  throw ApplicationFailure.create({ type: supplyChainFailure.invalidAdvisory, nonRetryable: true, message });
}

/** `owner/repo[/path]@ref` → the action (`owner/repo`, lower case) and the ref. */
export function splitAction(action: string): { action: string; ref: string } {
  const at = action.lastIndexOf('@');
  const path = action.slice(0, at).split('/');
  return { action: `${path[0]}/${path[1]}`.toLowerCase(), ref: action.slice(at + 1) };
}

function advisoriesOf(input: MatchInput): OsvAdvisory[] {
  try {
    return [
      ...input.advisories.flatMap((a) => parseOsv(a.text, a.name)),
      ...input.packages.map((p) => advisoryFromPurl(p)),
      ...input.actions.map((a) => {
        const { action, ref } = splitAction(a);
        const advisory: OsvAdvisory = { id: `action ${a}`, affected: [{ package: { ecosystem: actionsEcosystem, name: action }, versions: [ref] }] };
        return advisory;
      }),
    ];
  } catch (e) {
    if (e instanceof AdvisoryInputError) refuse(`${e.message}. Start the incident again with a valid advisory.`);
    throw e;
  }
}

function sourceOf(config: SbomSourceConfig, s3: S3Client | undefined): SbomSource {
  if ('directory' in config) return directorySource([config.directory]);
  if ('registry' in config) return registrySource({ url: config.registry, images: config.images });
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(config.s3);
  if (m === null || s3 === undefined) {
    throw ApplicationFailure.create({
      type: supplyChainFailure.notConfigured,
      nonRetryable: true,
      message: `SBOM source ${config.s3} needs an S3 client and an s3://bucket/prefix address: give the worker AWS credentials and check FIREBREAK_SUPPLY_CHAIN_SCOPE.`,
    });
  }
  return s3Source({ client: s3, bucket: m[1]!, prefix: m[2] ?? '' });
}

/** `127.0.0.1:5000/shop/web@sha256:…` → `127.0.0.1:5000/shop/web`; a tag before the digest is dropped. */
export function repositoryOf(image: string): string {
  const at = image.lastIndexOf('@');
  const ref = at < 0 ? image : image.slice(0, at);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(0, colon) : ref;
}

/** The repository an SBOM subject label names (`host/repo:tag index sha256:…`), when it names one. */
function repositoryFromLabel(label: string): string | undefined {
  const first = label.split(' ')[0] ?? '';
  return first.includes('/') ? repositoryOf(first) : undefined;
}

/** Affected images and the evidence of why, from every SBOM source. */
async function matchSources(deps: ScopeDeps, input: MatchInput, index: AdvisoryIndex, refs: SealedItem[]): Promise<Omit<MatchScope, 'advisories' | 'refs'>> {
  const images = new Map<string, AffectedImage>();
  const unknown: MatchScope['unknown'] = [];
  const unreadable: MatchScope['unreadable'] = [];
  const undecidable: MatchScope['undecidable'] = [];
  // Candidates by repository, with every digest their SBOM names: one sharing a digest with an affected image (another platform of an affected index) is not clean.
  const candidates: { repository: string; image: string; digests: string[] }[] = [];
  const counts = { sboms: 0, components: 0 };
  const add = (key: string, image: AffectedImage): void => {
    const known = images.get(key);
    if (known === undefined) images.set(key, image);
    else {
      known.digests = [...new Set([...known.digests, ...image.digests])];
      known.why = [...new Set([...known.why, ...image.why])];
    }
  };
  for (const image of input.images) {
    const digest = image.slice(image.lastIndexOf('@') + 1);
    add(digest, { label: image, repository: repositoryOf(image), digests: [digest], why: [`named by the responder: image ${image}`] });
  }
  const seal = async (entry: SbomEntry): Promise<void> => {
    refs.push(await sealItem(deps.evidence, { incidentId: input.incidentId, name: `sbom ${entry.name}`, mediaType: 'application/json', content: await entry.read(64 * 1024 * 1024) }));
  };
  for (const config of deps.scope.sbomSources) {
    const source = sourceOf(config, deps.s3);
    const window: { entry: SbomEntry; result: Promise<SbomResult> }[] = [];
    const settle = async (item: { entry: SbomEntry; result: Promise<SbomResult> }): Promise<void> => {
      const result = await item.result;
      // One matcher per SBOM: what it found is this SBOM's alone.
      const matcher = new Matcher(index);
      matcher.add(result);
      const report = matcher.result();
      counts.sboms += report.counts.sboms;
      counts.components += report.counts.components;
      unreadable.push(...report.unreadable);
      undecidable.push(...report.undecidable.map((u) => ({ sbom: u.sbom, subject: u.subject, name: u.name, version: u.version, advisory: u.advisory, reason: u.reason })));
      if (!result.ok) return;
      const subject = result.sbom.subject;
      const repository = repositoryFromLabel(subject.label);
      if (report.affected.length === 0) {
        const digest = subject.digests[0];
        if (repository !== undefined && digest !== undefined) candidates.push({ repository, image: `${repository}@${digest}`, digests: subject.digests });
        return;
      }
      await seal(item.entry);
      add(subject.digests[0] ?? subject.label, {
        label: subject.label,
        ...(repository === undefined ? {} : { repository }),
        digests: subject.digests,
        why: report.affected.map((a) => `${a.advisory}: ${a.name}${a.version === null ? '' : `@${a.version}`} (${a.matched})`),
        sbom: item.entry.name,
      });
    };
    try {
      for await (const entry of source.list()) {
        if (entry.kind === 'no-sbom') unknown.push({ name: entry.name, label: entry.subject.label, digests: entry.subject.digests });
        else if (entry.kind === 'unreadable') unreadable.push({ sbom: entry.name, problem: entry.problem });
        else {
          window.push({ entry, result: readEntry(entry) });
          if (window.length >= 8) await settle(window.shift()!);
        }
      }
      for (const item of window.splice(0)) await settle(item);
    } catch (e) {
      if (e instanceof SbomSourceError) {
        throw ApplicationFailure.create({ type: supplyChainFailure.sourceUnavailable, nonRetryable: !e.retryable, message: `${source.description}: ${e.message}` });
      }
      throw e;
    }
  }
  const affectedDigests = new Set([...images.values()].flatMap((i) => i.digests));
  const clean: Record<string, string> = {};
  for (const c of candidates) if (!c.digests.some((d) => affectedDigests.has(d))) clean[c.repository] ??= c.image;
  const list = [...images.values()];
  return { images: list, digests: [...affectedDigests].sort(), unknown, unreadable, undecidable, clean, counts };
}

/** Uses of a compromised action in the configured CI workflows, judged against the advisories like an SBOM component. */
async function matchWorkflows(deps: ScopeDeps, input: MatchInput, index: AdvisoryIndex, advisories: OsvAdvisory[]): Promise<ActionScope> {
  const actions = new Set([
    ...input.actions.map((a) => splitAction(a).action),
    ...advisories.flatMap((a) => (a.affected ?? []).filter((x) => x.package?.ecosystem === actionsEcosystem).map((x) => x.package!.name.toLowerCase())),
  ]);
  const out: ActionScope = { uses: [], undecidable: [], scanned: 0, problems: [] };
  if (actions.size === 0) return out;
  if (deps.scope.checkouts.length === 0) {
    out.problems.push(`no CI checkouts are configured (checkouts in FIREBREAK_SUPPLY_CHAIN_SCOPE): workflows using ${[...actions].join(', ')} were not searched`);
    return out;
  }
  for (const action of actions) {
    const found = await deps.findWorkflowUses({ checkouts: deps.scope.checkouts, action, refs: [] });
    out.scanned = Math.max(out.scanned, found.scanned);
    out.problems.push(...found.problems);
    for (const use of found.uses) {
      const matcher = new Matcher(index);
      matcher.add({
        ok: true,
        sbom: {
          file: `${use.checkout}/${use.file}:${use.line}`,
          format: 'workflow',
          subject: { label: use.uses, digests: [] },
          components: [{ name: action, version: use.ref.replace(/^v(?=\d)/, ''), identity: { ecosystem: actionsEcosystem, name: action, version: use.ref } }],
        },
      });
      const r = matcher.result();
      for (const a of r.affected) out.uses.push({ ...use, advisory: a.advisory, matched: a.matched });
      for (const u of r.undecidable) out.undecidable.push({ ...use, advisory: u.advisory, reason: u.reason });
    }
  }
  return out;
}

export function createSupplyChainActivities(deps: ScopeDeps) {
  return {
    /** Matches the incident's advisories against every SBOM source and CI workflow; seals the advisories and each affected SBOM. */
    matchSupplyChain: async (input: MatchInput): Promise<MatchScope & { actions: ActionScope; settings: ScopeSettings }> => {
      const advisories = advisoriesOf(input);
      if (advisories.length === 0 && input.images.length === 0) refuse('The supply-chain incident names nothing to look for: give --advisory, or a package:, image: or action: target.');
      const index = new AdvisoryIndex({ advisories, digests: input.images.map((i) => i.slice(i.lastIndexOf('@') + 1)) });
      const refs: SealedItem[] = [];
      for (const a of input.advisories) {
        refs.push(await sealItem(deps.evidence, { incidentId: input.incidentId, name: `advisory ${a.name}`, mediaType: 'application/json', content: a.text }));
      }
      const found = await matchSources(deps, input, index, refs);
      const actions = await matchWorkflows(deps, input, index, advisories);
      const { sbomSources: _sources, checkouts: _checkouts, ...settings } = deps.scope;
      return { advisories: advisories.map((a) => a.id), refs, ...found, actions, settings };
    },
  };
}

export type SupplyChainActivities = ReturnType<typeof createSupplyChainActivities>;
