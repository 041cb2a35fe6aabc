import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFirebreak } from '../support/cli.ts';

describe('firebreak scenario from-incident', () => {
  it('turns a drill scorecard into a scenario file that drill run accepts and passes', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'scenario-cli-'));
    const card = path.join(dir, 'card.json');
    const made = path.join(dir, 'replay.yaml');
    expect((await runFirebreak(['drill', 'run', 'leaked-ci-key', '--quiet', '-o', card])).code).toBe(0);
    const r = await runFirebreak(['scenario', 'from-incident', card, '-o', made, '--name', 'leaked-key-replay']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`scenario written to ${made}`);
    expect(r.stderr).toMatch(/replaced by placeholders: .*access key/);
    expect(await readFile(made, 'utf8')).toMatch(/^ {2}name: leaked-key-replay$/m);
    const replayed = await runFirebreak(['drill', 'run', made, '--quiet']);
    expect(replayed.stdout).toMatch(/^DRILL leaked-key-replay — .*: PASS\n/);
    expect(replayed.code).toBe(0);
  }, 120_000);

  it('refuses a JSON file that is neither a timeline nor a scorecard, saying what to give instead', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'scenario-cli-'));
    await writeFile(path.join(dir, 'history.json'), JSON.stringify({ events: [] }));
    const r = await runFirebreak(['scenario', 'from-incident', path.join(dir, 'history.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/history\.json is neither a firebreak\.timeline\/v1 timeline nor a firebreak\.scorecard\/v1 scorecard/);
  });

  it('refuses a scenario name that drill files could not carry', async () => {
    const r = await runFirebreak(['scenario', 'from-incident', 'whatever.json', '--name', 'My Replay']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--name "My Replay": expected a lowercase name/);
  });
});
