import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  displayPath,
  loadRunbookFile,
  loadRunbooks,
  RunbookValidationError,
  type RunbookContext,
} from '../../src/runbooks/index.ts';

/** The loader is checked against a workflow of the tests' own, not the real catalog. */
const ctx: RunbookContext = {
  catalog: {
    'test-workflow': { steps: ['collect', 'isolate', 'delete'] },
    'other-workflow': { steps: ['notify'] },
  },
  groups: { oncall: ['slack:U024BE7LH', 'cli:alice'], 'security-leads': ['cli:bob'] },
};

const fixture = (name: string) => path.join(import.meta.dirname, 'fixtures', name);
/** How the loader prints a fixture's path: relative to the current directory. */
const shown = (name: string) => path.relative(process.cwd(), fixture(name));

/** The RunbookValidationError that loading these fixtures raises. */
async function problemsLoading(...names: string[]): Promise<RunbookValidationError> {
  try {
    await loadRunbooks(names.map(fixture), ctx);
  } catch (e) {
    if (e instanceof RunbookValidationError) return e;
    throw e;
  }
  throw new Error(`expected ${names.join(', ')} to be rejected`);
}

describe('loading a valid runbook policy', () => {
  it('returns the policy with its file and its durations parsed into milliseconds', async () => {
    const { file, policy } = await loadRunbookFile(fixture('valid/test-runbook.yaml'), ctx);
    expect(file).toBe(fixture('valid/test-runbook.yaml'));
    expect(policy).toMatchObject({ id: 'test-runbook', version: 3, workflow: 'test-workflow' });
    const [, isolate, remove] = policy.steps;
    expect(isolate?.gate).toMatchObject({ timeout: { text: '30m', ms: 30 * 60_000 } });
    expect(remove?.gate).toMatchObject({ timeout: { text: '1h30m', ms: 90 * 60_000 } });
    expect(policy.rollback.gate).toMatchObject({ timeout: { text: '90s', ms: 90_000 } });
  });

  it('normalises a bare Slack user id to slack:<id> and keeps group: and cli: approvers as written', async () => {
    const { policy } = await loadRunbookFile(fixture('valid/test-runbook.yaml'), ctx);
    expect(policy.steps.map((s) => (s.gate === 'none' ? 'none' : s.gate.approvers))).toEqual([
      'none',
      ['slack:U024BE7LH', 'group:oncall'],
      ['cli:alice', 'slack:W0123ABCD'],
    ]);
  });

  it('fills in a gate’s defaults: one approval, no two-person rule, no escalation', async () => {
    const { policy } = await loadRunbookFile(fixture('valid/test-runbook.yaml'), ctx);
    expect(policy.steps[2]?.gate).toMatchObject({ required: 1, twoPerson: false, escalateTo: [] });
  });

  it('loads every *.yaml and *.yml file of a directory, sorted by name', async () => {
    const runbooks = await loadRunbooks(fixture('valid'), ctx);
    expect(runbooks.map((r) => [path.basename(r.file), r.policy.id])).toEqual([
      ['minimal.yml', 'minimal-runbook'],
      ['test-runbook.yaml', 'test-runbook'],
    ]);
  });
});

describe('a malformed runbook policy', () => {
  it('is reported with its file, field path, line:column and the expected duration format when a timeout is not a duration', async () => {
    const error = await problemsLoading('malformed/bad-timeout.yaml');
    expect(error.problems).toEqual([
      {
        file: shown('malformed/bad-timeout.yaml'),
        path: 'steps[1].gate.timeout',
        line: 22,
        column: 16,
        message: 'expected a duration such as "90s", "30m", "1h30m" or "2d"; got "30 minutes"',
      },
    ]);
    expect(error.message).toBe(
      `${shown('malformed/bad-timeout.yaml')}:22:16: steps[1].gate.timeout: expected a duration such as "90s", "30m", "1h30m" or "2d"; got "30 minutes"`,
    );
  });

  it('is reported with the allowed values when onTimeout is not escalate, deny or proceed', async () => {
    const { problems } = await problemsLoading('malformed/bad-on-timeout.yaml');
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'steps[2].gate.onTimeout',
        line: 30,
        column: 18,
        message: 'expected one of "escalate", "deny", "proceed"; got "retry"',
      }),
    ]);
  });

  it('must say whom to escalate to when a gate escalates on timeout', async () => {
    const { problems } = await problemsLoading('malformed/missing-escalate-to.yaml');
    expect(problems).toEqual([
      expect.objectContaining({ path: 'steps[1].gate.escalateTo', line: 19, column: 7, message: 'required when onTimeout is "escalate"' }),
    ]);
  });

  it('is rejected for a key the schema does not know, pointing at the key and listing the allowed keys', async () => {
    const { problems } = await problemsLoading('malformed/unknown-key.yaml');
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'steps[1].gate.notify',
        line: 22,
        column: 7,
        message: 'unknown key "notify"; expected one of: approvers, required, twoPerson, timeout, onTimeout, escalateTo',
      }),
    ]);
  });

  it('is reported as a YAML syntax error with its line and column when the YAML does not parse', async () => {
    const { problems } = await problemsLoading('malformed/syntax-error.yaml');
    expect(problems).toEqual([
      {
        file: shown('malformed/syntax-error.yaml'),
        path: '',
        line: 12,
        column: 7,
        message: expect.stringMatching(/^YAML syntax error: Flow sequence .* end with a \]$/),
      },
    ]);
  });

  it('is reported as empty when the file holds no policy, rather than as a list of missing fields', async () => {
    const { problems } = await problemsLoading('malformed/empty.yaml');
    expect(problems).toEqual([
      { file: shown('malformed/empty.yaml'), path: '', message: expect.stringMatching(/^the file is empty: expected a runbook policy/) },
    ]);
  });

  it('is reported as unreadable when the file does not exist', async () => {
    const { problems } = await problemsLoading('malformed/no-such-policy.yaml');
    expect(problems).toEqual([{ file: shown('malformed/no-such-policy.yaml'), path: '', message: 'no such file' }]);
  });
});

describe('a policy checked against its workflow and the configured groups', () => {
  it('is rejected for a step id the workflow does not have, naming the step and listing the workflow’s steps', async () => {
    const { problems } = await problemsLoading('malformed/unknown-step.yaml');
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'steps[3].id',
        line: 31,
        column: 9,
        message: 'unknown step "wipe-node": workflow "test-workflow" has the steps collect, isolate, delete',
      }),
    ]);
  });

  it('is rejected when a workflow step has no entry, so that no gate is implicit', async () => {
    const { problems } = await problemsLoading('malformed/missing-step.yaml');
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'steps',
        line: 13,
        message: expect.stringMatching(/^no policy for step delete of workflow "test-workflow": every step needs an entry/),
      }),
    ]);
  });

  it('is rejected for a workflow that is not registered, listing the registered ones', async () => {
    const { problems } = await problemsLoading('malformed/unknown-workflow.yaml');
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'workflow',
        line: 7,
        column: 11,
        message: 'unknown workflow "credential-compromise"; known workflows: other-workflow, test-workflow',
      }),
    ]);
  });

  it('is rejected for an approver group the configuration does not define, listing the defined groups', async () => {
    const { problems } = await problemsLoading('malformed/undefined-group.yaml');
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'rollback.gate.approvers[0]',
        line: 36,
        column: 17,
        message: 'group "night-shift" is not defined; defined groups: oncall, security-leads',
      }),
    ]);
  });

  it('is rejected when another file has the same id, naming both files', async () => {
    const { problems } = await problemsLoading('duplicate/first.yaml', 'duplicate/second.yaml');
    expect(problems).toEqual([
      {
        file: shown('duplicate/second.yaml'),
        path: 'id',
        line: 2,
        column: 5,
        message: `"shared-id" is also the id of ${shown('duplicate/first.yaml')}: each runbook policy needs its own id`,
      },
    ]);
  });
});

describe('a policy whose rollback would undo a dangerous step', () => {
  const dangerous: RunbookContext = { ...ctx, catalog: { 'test-workflow': { steps: ['collect', 'isolate', 'delete'], dangerousUndo: ['isolate'] } } };
  const minimal = readFileSync(fixture('valid/minimal.yml'), 'utf8');
  async function load(rollback: string) {
    const dir = mkdtempSync(path.join(tmpdir(), 'firebreak-keep-'));
    const file = path.join(dir, 'policy.yaml');
    writeFileSync(file, minimal.replace('rollback:\n  gate: none', rollback));
    try {
      return await loadRunbookFile(file, dangerous);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('is rejected when a one-person rollback would undo it, saying the two ways out', async () => {
    await expect(load('rollback:\n  gate: none')).rejects.toThrow(/rolling back step isolate would put a leaked credential back: list it in rollback.keep, or make the rollback gate two-person/);
  });

  it('loads when the policy keeps the step on rollback', async () => {
    const { policy } = await load('rollback:\n  gate: none\n  keep: [isolate]');
    expect(policy.rollback.keep).toEqual(['isolate']);
  });

  it('loads when rollback needs two people (control)', async () => {
    const { policy } = await load('rollback:\n  gate: { approvers: ["cli:alice", "cli:bob", "cli:carol"], required: 2, twoPerson: true, timeout: 1h, onTimeout: deny }');
    expect(policy.rollback.keep).toEqual([]);
  });

  it('is rejected for keeping a step the policy does not define', async () => {
    await expect(load('rollback:\n  gate: none\n  keep: [isolate, wipe]')).rejects.toThrow(/rollback.keep\[1\].*names step "wipe"/s);
  });
});

describe('reporting', () => {
  it('reports every problem of a file in one error, in the order of the file', async () => {
    const { problems } = await problemsLoading('malformed/many-problems.yaml');
    expect(problems.map((p) => [p.line, p.path])).toEqual([
      [7, 'owner'],
      [9, 'steps'],
      [15, 'steps[1].gate.approvers[0]'],
      [16, 'steps[1].gate.timeout'],
      [18, 'steps[2].id'],
    ]);
  });

  it('reports the problems of every file together, not only those of the first', async () => {
    const { problems } = await problemsLoading('malformed/empty.yaml', 'malformed/syntax-error.yaml', 'malformed/many-problems.yaml');
    expect(new Set(problems.map((p) => p.file))).toEqual(
      new Set([shown('malformed/empty.yaml'), shown('malformed/syntax-error.yaml'), shown('malformed/many-problems.yaml')]),
    );
    expect(problems).toHaveLength(7);
  });

  it('puts one problem per line in the error message: file:line:column: field: message', async () => {
    const error = await problemsLoading('malformed/many-problems.yaml', 'malformed/empty.yaml');
    const lines = error.message.split('\n');
    expect(lines).toHaveLength(error.problems.length);
    expect(lines).toContain(
      `${shown('malformed/many-problems.yaml')}:18:9: steps[2].id: unknown step "reboot": workflow "test-workflow" has the steps collect, isolate, delete`,
    );
    expect(lines).toContain(`${shown('malformed/empty.yaml')}: the file is empty: expected a runbook policy (id, version, title, summary, workflow, steps, rollback)`);
  });

  it('prints a path relative to the current directory when inside it, and absolute otherwise', () => {
    expect(displayPath(path.join(process.cwd(), 'runbooks', 'a.yaml'))).toBe(path.join('runbooks', 'a.yaml'));
    expect(displayPath(path.join(path.dirname(process.cwd()), 'elsewhere.yaml'))).toBe(path.join(path.dirname(process.cwd()), 'elsewhere.yaml'));
  });
});
