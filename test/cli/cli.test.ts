import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/sandbox/processes.ts';
import { createWorker } from '../../src/worker/index.ts';
import { testDeps } from '../support/deps.ts';
import { sandbox, uniqueName } from '../support/servers.ts';
import { runFirebreak } from '../support/cli.ts';

describe('the firebreak command', () => {
  it('prints its commands with --help and exits 0', async () => {
    const r = await runFirebreak(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: firebreak/);
    for (const command of ['local', 'serve', 'doctor']) expect(r.stdout).toContain(command);
  });

  it('exits 1 on an unknown command, pointing at --help', async () => {
    const r = await runFirebreak(['contain-everything']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown command 'contain-everything'");
    expect(r.stderr).toContain('--help');
  });

  it('exits 1 listing every invalid variable when the configuration is bad', async () => {
    const r = await runFirebreak(['doctor'], { FIREBREAK_LOG_LEVEL: 'loud', TEMPORAL_ADDRESS: 'nowhere' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('2 environment variables to fix');
    expect(r.stderr).toContain('FIREBREAK_LOG_LEVEL');
    expect(r.stderr).toContain('TEMPORAL_ADDRESS: expected host:port');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 with one line saying how to fix it when Temporal cannot be reached', async () => {
    const port = await freePort();
    const r = await runFirebreak(['doctor'], { TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`Cannot reach Temporal at 127.0.0.1:${port}`);
    expect(r.stderr).toContain('npm start');
  });

  it('exits 1 when no worker serves the task queue', async () => {
    const info = sandbox();
    const r = await runFirebreak(['doctor', '--timeout', '2'], {
      TEMPORAL_ADDRESS: info.temporalAddress,
      FIREBREAK_TASK_QUEUE: uniqueName('nobody-home'),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/No worker answered on task queue nobody-home-\w+ within 2s/);
  });

  it('doctor reports what a running worker can reach and exits 0', async () => {
    const info = sandbox();
    const taskQueue = uniqueName('doctor');
    const config = { TEMPORAL_ADDRESS: info.temporalAddress, TEMPORAL_NAMESPACE: 'default', FIREBREAK_TASK_QUEUE: taskQueue };
    const { worker, connection } = await createWorker({
      config,
      deps: await testDeps(),
    });
    try {
      const r = await worker.runUntil(runFirebreak(['doctor', '--json'], config));
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as { ok: boolean; checks: { system: string; ok: boolean }[] };
      expect(report).toMatchObject({ ok: true, checks: [{ system: 'kubernetes', ok: true }, { system: 'aws', ok: true }] });
    } finally {
      await connection.close();
    }
  });
});
