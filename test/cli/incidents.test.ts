import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusQuery } from '../../workflows/engine/messages.ts';
import { awaiting, newWorld, engineOnDevServer, startIncident, testInput, testPolicy, waitForStatus } from '../support/engine.ts';
import { runFirebreak } from '../support/cli.ts';
import { sandbox, temporalClient, uniqueName } from '../support/servers.ts';

const world = newWorld();
const client = await temporalClient();
const scratch = await mkdtemp(join(tmpdir(), 'firebreak-cli-incidents-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));
let taskQueue: string;

beforeAll(async () => {
  taskQueue = await engineOnDevServer(world);
});

/** Runs the real `firebreak` command as the given operator. */
async function firebreak(args: string[], operator: string | null = 'bob') {
  return runFirebreak(args, {
    TEMPORAL_ADDRESS: sandbox().temporalAddress,
    ...(operator === null ? {} : { FIREBREAK_OPERATOR: operator }),
  });
}

async function incidentAwaitingIsolate() {
  const handle = await startIncident(client, taskQueue, testInput(testPolicy()));
  await waitForStatus(handle, awaiting('isolate'));
  return handle;
}

describe('firebreak incident commands', () => {
  it('approve records the decision as the configured operator and prints the step state', async () => {
    const handle = await incidentAwaitingIsolate();
    const r = await firebreak(['approve', handle.workflowId, 'isolate', '--reason', 'reverse shell']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.trim()).toBe('isolate: approved (1 of 1); approved by cli:bob ("reverse shell")');
    const status = await waitForStatus(handle, awaiting('cordon'));
    expect(status.steps.find((s) => s.id === 'isolate')?.approvals[0]?.actor).toBe('cli:bob');
  });

  it('approve refuses, in one line with exit 1, an operator who is not an approver', async () => {
    const handle = await incidentAwaitingIsolate();
    const r = await firebreak(['approve', handle.workflowId, 'isolate'], 'mallory');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('firebreak: cli:mallory is not an approver of step "isolate".\n');
    expect((await handle.query(statusQuery)).pendingApprovals[0]?.approvals).toBe(0);
  });

  it("approve refuses the requester's own approval of a two-person step", async () => {
    const handle = await incidentAwaitingIsolate();
    const r = await firebreak(['approve', handle.workflowId, 'isolate'], 'alice');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('needs two-person approval');
  });

  it('approve says which step is not pending', async () => {
    const handle = await incidentAwaitingIsolate();
    const r = await firebreak(['approve', handle.workflowId, 'cordon']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('firebreak: Step "cordon" is not awaiting a decision (it is not-started).\n');
  });

  it('approve of an unknown incident exits 1 pointing at firebreak list', async () => {
    const r = await firebreak(['approve', 'no-such-incident', 'isolate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^firebreak: No open incident "no-such-incident": see `firebreak list`/);
  });

  it('acting without FIREBREAK_OPERATOR exits 1 naming the variable', async () => {
    const handle = await incidentAwaitingIsolate();
    const r = await firebreak(['approve', handle.workflowId, 'isolate'], null);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('FIREBREAK_OPERATOR is not set');
  });

  it('deny needs --reason', async () => {
    const handle = await incidentAwaitingIsolate();
    const r = await firebreak(['deny', handle.workflowId, 'isolate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("required option '--reason <text>' not specified");
  });

  it('deny settles the step with the reason', async () => {
    const handle = await incidentAwaitingIsolate();
    const r = await firebreak(['deny', handle.workflowId, 'isolate', '--reason', 'pentest window', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: 'isolate', status: 'denied', denial: { actor: 'cli:bob', reason: 'pentest window' } });
  });

  it('status --json prints the incident status; list --open includes it', async () => {
    const handle = await incidentAwaitingIsolate();
    const status = await firebreak(['status', handle.workflowId, '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ incidentId: handle.workflowId, pendingApprovals: [{ step: 'isolate' }] });
    const list = await firebreak(['list', '--open', '--json']);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { incidentId: string }[]).map((i) => i.incidentId)).toContain(handle.workflowId);
  });

  it('rollback and close act on the incident and report its state', async () => {
    const handle = await startIncident(client, taskQueue, testInput(testPolicy({ isolate: 'none', cordon: 'none' })));
    await waitForStatus(handle, (s) => s.steps.find((x) => x.id === 'cordon')?.status === 'succeeded');
    const rollback = await firebreak(['rollback', handle.workflowId, '--reason', 'false positive'], 'alice');
    expect(rollback, rollback.stderr).toMatchObject({ code: 0, stdout: 'rollback approved\n' });
    await waitForStatus(handle, (s) => s.phase === 'rolled-back');
    expect(world.of(handle.workflowId)).toMatchObject({ isolated: false, cordoned: false });
    const close = await firebreak(['close', handle.workflowId], 'alice');
    expect(close).toMatchObject({ code: 0, stdout: `${handle.workflowId} closed\n` });
  });

  it('timeline writes each format to a file and refuses to overwrite one', async () => {
    const handle = await incidentAwaitingIsolate();
    const starts = { md: '# ', json: '{', csv: '"seq",', html: '<!doctype html>' };
    for (const [format, start] of Object.entries(starts)) {
      const file = join(scratch, `${uniqueName('tl')}.${format}`);
      const r = await firebreak(['timeline', handle.workflowId, '--format', format, '-o', file]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^wrote \d+ events \(query\) to /);
      const text = await readFile(file, 'utf8');
      expect(text.length).toBeGreaterThan(100);
      expect(text.toLowerCase().startsWith(start), `${format} starts ${JSON.stringify(text.slice(0, 20))}`).toBe(true);
    }
    const taken = join(scratch, 'taken.md');
    await writeFile(taken, 'keep me');
    const r = await firebreak(['timeline', handle.workflowId, '-o', taken]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('exists already');
    expect(await readFile(taken, 'utf8')).toBe('keep me');
  });

  it('timeline of an unknown incident exits 1 with one line', async () => {
    const r = await firebreak(['timeline', 'no-such-incident']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('firebreak: No incident "no-such-incident" exists: list incidents with `firebreak list`.\n');
  });

  it('every incident command has --help', async () => {
    for (const command of ['list', 'status', 'approve', 'deny', 'rollback', 'close', 'timeline']) {
      const r = await firebreak([command, '--help']);
      expect(r.code, command).toBe(0);
      expect(r.stdout, command).toContain(`Usage: firebreak ${command}`);
    }
  });
});
