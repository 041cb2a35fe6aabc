import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowCatalog } from '../../workflows/catalog.ts';

const execFileP = promisify(execFile);

const fixtures = path.relative(process.cwd(), path.join(import.meta.dirname, 'fixtures'));
/** The approver groups the fixtures use, as the CLI reads them from its configuration. */
const groups = JSON.stringify({ oncall: ['U024BE7LH', 'cli:alice'] });

/** Runs the real `firebreak` command with only the given environment (plus PATH and HOME). */
async function firebreak(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, ['bin/firebreak.js', ...args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', FIREBREAK_APPROVER_GROUPS: groups, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

let emptyDir: string;
beforeAll(async () => {
  emptyDir = await mkdtemp(path.join(tmpdir(), 'firebreak-runbooks-'));
});
afterAll(async () => {
  await rm(emptyDir, { recursive: true, force: true });
});

describe('firebreak runbooks validate', () => {
  it('prints the file, line:column, field and expectation of a malformed policy on stderr and exits 1', async () => {
    const r = await firebreak(['runbooks', 'validate', `${fixtures}/malformed/bad-timeout.yaml`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${fixtures}/malformed/bad-timeout.yaml:22:16: steps[1].gate.timeout: expected a duration such as "90s", "30m", "1h30m" or "2d"; got "30 minutes"\n`,
    );
    expect(r.stdout).toBe('');
  });

  it('prints every problem of every file given, one per line, then how many', async () => {
    const r = await firebreak(['runbooks', 'validate', `${fixtures}/malformed/many-problems.yaml`, `${fixtures}/malformed/bad-on-timeout.yaml`]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    // The CLI's catalog does not register test-workflow, so instead of the step checks each file gets an
    // unknown-workflow problem: many-problems.yaml has 3 + 1 problems, bad-on-timeout.yaml 1 + 1.
    expect(lines).toHaveLength(7);
    expect(lines.filter((l) => l.startsWith(`${fixtures}/malformed/many-problems.yaml:`))).toHaveLength(4);
    expect(lines).toContain(
      `${fixtures}/malformed/bad-on-timeout.yaml:30:18: steps[2].gate.onTimeout: expected one of "escalate", "deny", "proceed"; got "retry"`,
    );
    expect(lines.at(-1)).toBe('6 problems in 2 of 2 policy files');
  });

  it('checks a policy against the registered workflows, listing them when its workflow is not one', async () => {
    // The policy is valid for its own workflow (see loader.test.ts), which the real catalog does not register.
    const known = Object.keys(workflowCatalog).sort();
    const r = await firebreak(['runbooks', 'validate', `${fixtures}/valid/test-runbook.yaml`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${fixtures}/valid/test-runbook.yaml:7:11: workflow: unknown workflow "test-workflow"; known workflows: ${
        known.length === 0 ? 'none (no runbook workflow is registered yet)' : known.join(', ')
      }\n`,
    );
    expect(r.stderr).toContain('1 problem in 1 of 1 policy file');
  });

  it('says there are no policy files and exits 0 when the runbooks directory is empty', async () => {
    const r = await firebreak(['runbooks', 'validate'], { FIREBREAK_RUNBOOKS_DIR: emptyDir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`no policy files in ${emptyDir}\n`);
  });

  it('exits 1 with one line when a path given does not exist', async () => {
    const r = await firebreak(['runbooks', 'validate', `${fixtures}/no-such-policy.yaml`]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `firebreak: no such file or directory: ${fixtures}/no-such-policy.yaml; give runbook policy files (.yaml) or directories that hold them.`,
    ]);
  });

  it('exits 1 when the directories given hold no policy file', async () => {
    const r = await firebreak(['runbooks', 'validate', emptyDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no policy files (*.yaml, *.yml) in ${emptyDir}`);
  });
});

describe('firebreak runbooks list', () => {
  it('prints an empty JSON list for an empty runbooks directory', async () => {
    const r = await firebreak(['runbooks', 'list', '--json'], { FIREBREAK_RUNBOOKS_DIR: emptyDir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it('says there are no policies, and where it looked, for an empty runbooks directory', async () => {
    const r = await firebreak(['runbooks', 'list'], { FIREBREAK_RUNBOOKS_DIR: emptyDir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`No runbook policies (*.yaml, *.yml) in ${emptyDir} (FIREBREAK_RUNBOOKS_DIR).\n`);
  });

  it('exits 1 with one line saying what to do when the runbooks directory does not exist', async () => {
    const missing = path.join(emptyDir, 'missing');
    const r = await firebreak(['runbooks', 'list', '--json'], { FIREBREAK_RUNBOOKS_DIR: missing });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `firebreak: The runbooks directory ${missing} does not exist: create it, or set FIREBREAK_RUNBOOKS_DIR to the directory that holds the runbook policies.`,
    ]);
  });

  it('lists nothing and exits 1 with the problems when a policy does not validate', async () => {
    const r = await firebreak(['runbooks', 'list', '--json'], { FIREBREAK_RUNBOOKS_DIR: `${fixtures}/valid` });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${fixtures}/valid/test-runbook.yaml:7:11: workflow: unknown workflow "test-workflow"`);
  });

});

describe('firebreak runbooks', () => {
  it('describes list and validate in --help', async () => {
    const r = await firebreak(['runbooks', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\s+list \[options\]/m);
    expect(r.stdout).toMatch(/^\s+validate \[paths\.\.\.\]/m);
  });
});
