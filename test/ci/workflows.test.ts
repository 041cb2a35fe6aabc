/**
 * An action advisory (tj-actions/changed-files, GHSA-mrrh-fwg8-r2c3, bad at
 * v44): the workflow files of a checkout that use the action at an affected
 * ref, with their lines and the secrets they reference, and the files sealed
 * as found. The fixture checkout (test/ci/fixtures/shop-api) has two affected
 * files, a control on the fixed v46, and a control using another action.
 */
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allRepositorySecrets, ciFailure, createCiActivities } from '../../activities/ci/index.ts';
import { LocalEvidenceStore } from '../../activities/evidence/index.ts';
import { tempDir } from '../evidence/helpers.ts';
import { refusal } from '../support/failures.ts';

const checkout = fileURLToPath(new URL('./fixtures/shop-api', import.meta.url));
const action = 'tj-actions/changed-files';

async function activities() {
  const evidence = new LocalEvidenceStore(await tempDir('ci'));
  return { evidence, acts: createCiActivities({ evidence }) };
}

describe('finding the workflows that use a compromised action', () => {
  it('finds each use at the affected ref, with its line, job and the secrets its file references', async () => {
    const { acts } = await activities();
    const { uses, scanned, problems } = await acts.findWorkflowUses({ checkouts: [checkout], action, refs: ['v44'] });
    expect(scanned).toBe(4);
    expect(problems).toEqual([]);
    expect(uses).toEqual([
      { checkout, file: '.github/workflows/pr.yml', line: 10, uses: 'tj-actions/changed-files@v44', ref: 'v44', job: 'changes', secrets: ['DEPLOY_AWS_KEY', 'GITHUB_TOKEN', 'NPM_TOKEN'] },
      { checkout, file: '.github/workflows/release.yaml', line: 8, uses: 'TJ-Actions/changed-files/sub/path@v44', ref: 'v44', job: 'files', secrets: [allRepositorySecrets] },
      {
        checkout,
        file: '.github/workflows/release.yaml',
        line: 10,
        uses: 'tj-actions/changed-files/.github/workflows/reusable.yml@v44',
        ref: 'v44',
        job: 'publish',
        secrets: [allRepositorySecrets],
      },
    ]);
  });

  it('does not list the fixed release or another action (controls)', async () => {
    const { acts } = await activities();
    const { uses } = await acts.findWorkflowUses({ checkouts: [checkout], action, refs: ['v44'] });
    expect(uses.map((u) => u.file)).not.toContain('.github/workflows/fixed.yml');
    expect(uses.map((u) => u.file)).not.toContain('.github/workflows/other.yml');
  });

  it('lists every ref when no affected refs are given', async () => {
    const { acts } = await activities();
    const { uses } = await acts.findWorkflowUses({ checkouts: [checkout], action: 'TJ-ACTIONS/Changed-Files', refs: [] });
    expect(uses.map((u) => `${u.file}@${u.ref}`)).toContain('.github/workflows/fixed.yml@v46');
    expect(uses).toHaveLength(4);
  });

  it('matches a full commit SHA whatever its case', async () => {
    const dir = await tempDir('ci-sha');
    const sha = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';
    await mkdir(join(dir, '.github/workflows'), { recursive: true });
    await writeFile(join(dir, '.github/workflows/ci.yml'), `on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: tj-actions/changed-files@${sha}\n`);
    const { acts } = await activities();
    const { uses } = await acts.findWorkflowUses({ checkouts: [dir], action, refs: [sha.toUpperCase()] });
    expect(uses.map((u) => u.line)).toEqual([6]);
  });

  it('refuses a workflow symlinked out of the checkout and a file over 1 MiB, as problems', async () => {
    const outside = await tempDir('ci-outside');
    await writeFile(join(outside, 'secret.yml'), 'jobs: {}\n');
    const dir = await tempDir('ci-evil');
    await mkdir(join(dir, '.github/workflows'), { recursive: true });
    await symlink(join(outside, 'secret.yml'), join(dir, '.github/workflows/escape.yml'));
    await writeFile(join(dir, '.github/workflows/huge.yml'), `# ${'x'.repeat(1024 * 1024)}\n`);
    const { acts } = await activities();
    const { uses, scanned, problems } = await acts.findWorkflowUses({ checkouts: [dir], action, refs: [] });
    expect({ uses, scanned }).toEqual({ uses: [], scanned: 0 });
    expect(problems).toEqual([expect.stringContaining('escape.yml: a symlink out of the checkout'), expect.stringContaining('huge.yml: 1048579 bytes, over the 1 MiB')]);
  });

  it('reports a checkout that does not exist as a problem', async () => {
    const { acts } = await activities();
    const { problems } = await acts.findWorkflowUses({ checkouts: ['/nonexistent/checkout'], action, refs: [] });
    expect(problems).toEqual(['/nonexistent/checkout: no such checkout directory']);
  });

  it('refuses an action that is not owner/repo', async () => {
    const { acts } = await activities();
    expect((await refusal(() => acts.findWorkflowUses({ checkouts: [checkout], action: '../x', refs: [] }))).type).toBe(ciFailure.invalidInput);
  });
});

describe('workflow evidence', () => {
  it('seals each workflow file as found, and a listing', async () => {
    const { acts, evidence } = await activities();
    const files = [{ checkout, file: '.github/workflows/pr.yml' }, { checkout, file: '.github/workflows/release.yaml' }];
    const { refs } = await acts.captureWorkflowEvidence({ incidentId: 'sc-ci-1', files });
    expect(refs.map((r) => r.name)).toEqual([`workflow ${checkout}/.github/workflows/pr.yml`, `workflow ${checkout}/.github/workflows/release.yaml`, 'workflow files.json']);
    expect(await readFile(fileURLToPath(refs[0]!.uri), 'utf8')).toBe(await readFile(join(checkout, '.github/workflows/pr.yml'), 'utf8'));
    expect((await evidence.verify('sc-ci-1')).ok).toBe(true);
  });

  it('refuses a file outside .github/workflows before reading anything', async () => {
    const { acts, evidence } = await activities();
    const f = await refusal(() => acts.captureWorkflowEvidence({ incidentId: 'sc-ci-2', files: [{ checkout, file: '../../../etc/passwd' }] }));
    expect(f.type).toBe(ciFailure.invalidInput);
    expect(await evidence.manifest('sc-ci-2')).toEqual([]);
  });
});
