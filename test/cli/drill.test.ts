import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/sandbox/tools.ts';
import { runFirebreak } from '../support/cli.ts';

describe('firebreak drill', () => {
  it('runs a shipped scenario by name, writes its scorecard and report, and exits 0 when it passes', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'drill-cli-'));
    const r = await runFirebreak(['drill', 'run', 'leaked-ci-key', '--quiet', '-o', path.join(dir, 'a.json'), '--report', 'md', '--report-output', path.join(dir, 'a.md')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^DRILL leaked-ci-key — Leaked CI deploy key, attacker minting keys: PASS\n/);
    expect(JSON.parse(await readFile(path.join(dir, 'a.json'), 'utf8'))).toMatchObject({ schema: 'firebreak.scorecard/v1', drill: true, pass: true, realCalls: 0 });
    expect(await readFile(path.join(dir, 'a.md'), 'utf8')).toMatch(/^\*\*PASS\*\*/);
  });

  it('exits 3 when the drill fails its thresholds, and compare fails a CI rule on the slower run', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'drill-cli-'));
    const text = (await readFile(path.join(repoRoot, 'scenarios', 'leaked-ci-key.yaml'), 'utf8')).replace('after: 4m, reason: key is in a public commit', 'after: 12m, reason: key is in a public commit');
    await writeFile(path.join(dir, 'slow.yaml'), text);
    const a = path.join(dir, 'a.json');
    const b = path.join(dir, 'b.json');
    expect((await runFirebreak(['drill', 'run', 'leaked-ci-key', '--quiet', '-o', a])).code).toBe(0);
    const slow = await runFirebreak(['drill', 'run', path.join(dir, 'slow.yaml'), '--quiet', '-o', b]);
    expect(slow.code).toBe(3);
    expect(slow.stdout).toContain('FAILED timeToFirstContainment <= 10m');
    const cmp = await runFirebreak(['drill', 'compare', a, b, '--fail-if', 'timeToFirstContain>+20%']);
    expect(cmp.code).toBe(3);
    expect(cmp.stdout).toMatch(/FAILED timeToFirstContain>\+20%: timeToFirstContainment went from 4m0\ds to 12m0\ds/);
    expect((await runFirebreak(['drill', 'compare', a, a, '--fail-if', 'timeToFirstContain>+20%'])).code).toBe(0);
  }, 120_000);

  it('refuses a scenario with problems, naming each with its line, before starting anything', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'drill-cli-'));
    await writeFile(path.join(dir, 'bad.yaml'), 'version: 1\nscenario: { name: Bad Name, title: t, runbook: credential-compromise }\nhorizon: soon\ninjects: []\n');
    const r = await runFirebreak(['drill', 'run', path.join(dir, 'bad.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml:2:\d+: scenario\.name: expected a lowercase name/);
    expect(r.stderr).toMatch(/bad\.yaml:3:\d+: horizon: expected a time/);
  });

  it('lists the shipped scenarios with their runbooks', async () => {
    const r = await runFirebreak(['drill', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^leaked-ci-key +credential-compromise +Leaked CI deploy key/m);
    expect(r.stdout).toMatch(/^role-session-abuse +credential-compromise /m);
  });
});
