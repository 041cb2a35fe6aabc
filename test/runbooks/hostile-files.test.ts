/**
 * `runbooks validate` on files made to hurt it: one with about 130,000
 * problems (it used to overflow the stack) and one of several MiB (a 50 MB
 * policy took 2.5 GB). Both are generated here rather than kept as fixtures.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFirebreak } from '../support/cli.ts';

const dir = await mkdtemp(path.join(tmpdir(), 'firebreak-hostile-runbooks-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const header = ['id: hostile', 'version: 1', 'title: Hostile', 'summary: Made to hurt the validator.', 'workflow: containerEscape', 'rollback:', '  gate: none'].join('\n');

/** A policy whose steps are `count` empty mappings: each misses its id, description and gate. */
async function policyWithEmptySteps(name: string, count: number): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `${header}\nsteps: [${Array.from({ length: count }, () => '{}').join(',')}]\n`);
  return file;
}

describe('runbooks validate on hostile files', () => {
  it('lists the first 50 problems of a file with 130,003, then one line counting the rest, and exits 1', async () => {
    const file = await policyWithEmptySteps('many-problems.yaml', 43_334);
    const r = await runFirebreak(['runbooks', 'validate', file]);
    expect(r.stderr).not.toContain('Maximum call stack size exceeded');
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(52);
    expect(lines.slice(0, 50).every((l) => l.startsWith(`${file}:8:`))).toBe(true);
    expect(lines[50]).toBe(`${file}: 129953 more problems not listed (the first 50 are): fix those and validate again`);
    expect(lines[51]).toBe('130003 problems in 1 of 1 policy file');
  });

  it('lists every problem of a file with 49 (the control: under the cap nothing is left out)', async () => {
    // 16 empty steps: 48 problems, and one for the workflow's steps the policy lacks.
    const file = await policyWithEmptySteps('under-the-cap.yaml', 16);
    const r = await runFirebreak(['runbooks', 'validate', file]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(50);
    expect(lines.at(-1)).toBe('49 problems in 1 of 1 policy file');
    expect(r.stderr).not.toContain('more problems not listed');
  });

  it('refuses a policy file over 1 MiB without parsing it, saying the limit', async () => {
    const file = path.join(dir, 'huge.yaml');
    // Valid YAML padded with 5 MiB of comments: only its size is wrong.
    await writeFile(file, `${header}\nsteps: []\n${`# ${'x'.repeat(1022)}\n`.repeat(5 * 1024)}`);
    const started = Date.now();
    const r = await runFirebreak(['runbooks', 'validate', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${file}: the file is 5 MiB; a policy file may be at most 1 MiB (policies are a few KiB): is this the right file?\n1 problem in 1 of 1 policy file\n`);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
