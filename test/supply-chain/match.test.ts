/**
 * The supply-chain runbook's matching activity against the real registry
 * (distribution v3.1.2) and SBOM files: which digests an advisory reaches,
 * what is unknown rather than clean, what is a clean re-pin candidate, and
 * that what it decided on is sealed as read.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEvidenceStore } from '../../activities/evidence/index.ts';
import { createSupplyChainActivities } from '../../activities/supply-chain/index.ts';
import { emptyScope } from '../../src/config/scope.ts';
import { refusal } from '../support/failures.ts';
import { TestRegistry } from '../support/registry.ts';
import { uniqueName } from '../support/servers.ts';

const registry = new TestRegistry();
const cyclonedx = 'application/vnd.cyclonedx+json';
let dir: string;
let advisory: string;
let sbom: (chalk: string, name: string) => string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'firebreak-match-'));
  advisory = await readFile('test/sbom/fixtures/advisories/npm-qix-compromise-2025-09-08.json', 'utf8');
  sbom = (chalk, name) =>
    JSON.stringify({
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      metadata: { component: { type: 'container', name, version: '1.0' } },
      components: [{ type: 'library', name: 'chalk', version: chalk, purl: `pkg:npm/chalk@${chalk}` }],
    });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function activities(scope: Partial<typeof emptyScope>) {
  const evidence = new LocalEvidenceStore(await mkdtemp(join(dir, 'evidence-')));
  const uses = { uses: [], scanned: 0, problems: [] };
  return { evidence, ...createSupplyChainActivities({ scope: { ...emptyScope, ...scope }, evidence, findWorkflowUses: () => Promise.resolve(uses) }) };
}

const input = (incidentId: string, over: Partial<Parameters<Awaited<ReturnType<typeof activities>>['matchSupplyChain']>[0]> = {}) => ({
  incidentId,
  advisories: [],
  packages: [],
  images: [],
  actions: [],
  ...over,
});

describe('matching an advisory for the supply-chain runbook', () => {
  it('names the index and platform digests of an affected image, not the clean platform of the same index', async () => {
    const repo = `${uniqueName('shop').toLowerCase()}/web`;
    const { index, platforms } = await registry.multiArch(repo, '1.0', [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);
    await registry.attachSbom(repo, platforms[0]!, sbom('5.6.1', repo), cyclonedx);
    await registry.attachSbom(repo, platforms[1]!, sbom('5.6.0', repo), cyclonedx);
    const a = await activities({ sbomSources: [{ registry: registry.url, images: [{ repository: repo, reference: '1.0' }] }] });

    const r = await a.matchSupplyChain(input('inc-index', { advisories: [{ name: 'qix.json', text: advisory }] }));

    expect(r.digests).toEqual([index.digest, platforms[0]!.digest].sort());
    expect(r.images.map((i) => i.repository)).toEqual([`${registry.host}/${repo}`]);
    expect(r.digests).not.toContain(platforms[1]!.digest);
    // The arm64 manifest is clean by its SBOM but shares the affected index: no re-pin candidate.
    expect(r.clean).toEqual({});
  });

  it('lists an image with no SBOM as unknown, never as clean', async () => {
    const repo = `${uniqueName('shop').toLowerCase()}/worker`;
    await registry.image(repo, { os: 'linux', architecture: 'amd64' }, '0.9');
    const a = await activities({ sbomSources: [{ registry: registry.url, images: [{ repository: repo, reference: '0.9' }] }] });

    const r = await a.matchSupplyChain(input('inc-unknown', { packages: ['pkg:npm/chalk@5.6.1'] }));

    expect(r.digests).toEqual([]);
    expect(r.unknown.map((u) => u.label)).toEqual([expect.stringContaining(`${repo}:0.9`)]);
    expect(r.clean).toEqual({});
  });

  it('offers an unaffected image of an affected repository as the clean digest to re-pin to', async () => {
    const repo = `${uniqueName('shop').toLowerCase()}/api`;
    const bad = await registry.image(repo, { os: 'linux', architecture: 'amd64' }, '1.0');
    const good = await registry.image(repo, { os: 'linux', architecture: 'amd64' }, '1.1');
    await registry.attachSbom(repo, bad, sbom('5.6.1', repo), cyclonedx);
    await registry.attachSbom(repo, good, sbom('5.6.2', repo), cyclonedx);
    const a = await activities({
      sbomSources: [{ registry: registry.url, images: [{ repository: repo, reference: '1.0' }, { repository: repo, reference: '1.1' }] }],
    });

    const r = await a.matchSupplyChain(input('inc-clean', { packages: ['pkg:npm/chalk@5.6.1'] }));

    expect(r.digests).toEqual([bad.digest]);
    expect(r.clean).toEqual({ [`${registry.host}/${repo}`]: `${registry.host}/${repo}@${good.digest}` });
  });

  it('seals the advisory and each affected SBOM while reading, and nothing for an unaffected one', async () => {
    await writeFile(join(dir, 'bad.cdx.json'), sbom('5.6.1', 'shop/bad'));
    await writeFile(join(dir, 'good.cdx.json'), sbom('5.6.0', 'shop/good'));
    const a = await activities({ sbomSources: [{ directory: dir }] });

    const r = await a.matchSupplyChain(input('inc-sealed', { advisories: [{ name: 'qix.json', text: advisory }] }));
    const manifest = await a.evidence.manifest('inc-sealed');

    expect(manifest.map((m) => m.name)).toEqual(['advisory qix.json', `sbom ${join(dir, 'bad.cdx.json')}`]);
    expect(r.refs.map((x) => x.sha256)).toEqual(manifest.map((m) => m.sha256));
  });

  it('matches an image digest a responder names even where no SBOM lists it', async () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const a = await activities({});

    const r = await a.matchSupplyChain(input('inc-digest', { images: [`127.0.0.1:5000/shop/web@${digest}`] }));

    expect(r.digests).toEqual([digest]);
    expect(r.images[0]).toMatchObject({ repository: '127.0.0.1:5000/shop/web', why: [expect.stringContaining('named by the responder')] });
  });

  it('refuses a malformed advisory, not retryably, saying what to do', async () => {
    const a = await activities({});

    const f = await refusal(() => a.matchSupplyChain(input('inc-bad', { advisories: [{ name: 'broken.json', text: '{"id": 1}' }] })));

    expect(f.type).toBe('SupplyChainInvalidAdvisory');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(/broken\.json.*Start the incident again/s);
  });
});
