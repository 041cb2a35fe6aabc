/**
 * Start-up failures of the real `firebreak local` and `firebreak serve`,
 * each run as a child process: a port taken (occupied here by a net server),
 * a tool missing from the cache, a server that does not answer in time. Each
 * must print one message naming the cause and what to change, stop what it
 * had started, and exit 1 within seconds: no stack trace, no hang.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/sandbox/processes.ts';
import { toolPaths } from '../../src/sandbox/tools.ts';
import { sandbox, uniqueName } from '../support/servers.ts';

const scratch = await mkdtemp(path.join(tmpdir(), 'firebreak-startup-'));
const occupied: Server[] = [];
afterAll(async () => {
  for (const server of occupied) await new Promise((resolve) => server.close(resolve));
  await rm(scratch, { recursive: true, force: true });
});

/** A port held by a server of this test until the file ends. */
async function occupiedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  occupied.push(server);
  return (server.address() as { port: number }).port;
}

/** Node and tsx start, the tools check, and the failure: seconds, where a hang used to last until killed. */
const startupBudgetMs = 20_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** From spawn to exit. */
  ms: number;
}

/** `firebreak <args>` as a child process with only `env` (plus PATH and HOME), its output collected. */
function spawnFirebreak(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['bin/firebreak.js', ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output.stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output.stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { child, output, exited };
}

/** Runs `firebreak <args>` to its end; kills it and fails if it runs longer than `limitMs`. */
async function firebreak(args: string[], env: Record<string, string>, limitMs = 30_000): Promise<Run> {
  const started = Date.now();
  const { child, output, exited } = spawnFirebreak(args, env);
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const code = await exited;
  clearTimeout(timer);
  const ms = Date.now() - started;
  if (code === null) throw new Error(`firebreak ${args.join(' ')} was still running after ${limitMs} ms; its stderr:\n${output.stderr}`);
  return { code, ...output, ms };
}

/** `firebreak local` against the suite's Temporal, without sandbox servers: what remains is intake, Slack and the worker. */
function localEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: sandbox().temporalAddress,
    FIREBREAK_TASK_QUEUE: uniqueName('startup'),
    FIREBREAK_SANDBOX: 'none',
    FIREBREAK_DATA_DIR: path.join(scratch, uniqueName('data')),
    FIREBREAK_RUNBOOKS_DIR: 'runbooks',
    FIREBREAK_LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** Slack HTTP mode whose Web API refuses connections: Bolt would retry its token check for half an hour. */
async function unreachableSlack(port: number): Promise<Record<string, string>> {
  return {
    SLACK_MODE: 'http',
    SLACK_BOT_TOKEN: 'xoxb-startup-test',
    SLACK_SIGNING_SECRET: 'startup-test-signing-secret',
    SLACK_API_URL: `http://127.0.0.1:${await freePort()}/api/`,
    FIREBREAK_SLACK_PORT: String(port),
  };
}

function expectOneCleanLine(r: Run, line: string): void {
  expect(r.stderr).toContain(`firebreak: ${line}\n`);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).not.toContain('unexpected failure');
}

/**
 * A tools cache whose folders are marked complete, with the suite's real
 * binaries except those replaced by `fakes` (a shell script body each) or
 * left out by `missing`.
 */
async function toolsCache(opts: { fakes?: Partial<Record<'temporal', string>>; missing?: 'temporal' }): Promise<string> {
  const root = path.join(scratch, uniqueName('tools'));
  const real = sandbox().tools;
  const { root: _root, ...binaries } = toolPaths(root);
  for (const [name, file] of Object.entries<string>(binaries)) {
    await mkdir(path.dirname(file), { recursive: true });
    // Each pinned set's folder (venv/bin's grandparent, bin's parent) holds the marker ensureTools checks.
    const set = ['etcd', 'kubeApiserver', 'kubectl', 'registry'].includes(name) ? path.dirname(path.dirname(file)) : path.dirname(path.dirname(path.dirname(file)));
    await writeFile(path.join(set, '.complete'), 'test');
    if (opts.missing === name) continue;
    const fake = opts.fakes?.[name as 'temporal'];
    const body = fake ?? `exec ${JSON.stringify(real[name as keyof typeof real])} "$@"`;
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
  }
  return root;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('firebreak local when it cannot start', () => {
  it('names the taken intake port and FIREBREAK_INTAKE_PORT, and exits 1 within seconds', async () => {
    const port = await occupiedPort();
    const r = await firebreak(['local'], localEnv({ FIREBREAK_INTAKE_PORT: String(port) }));
    expect(r.code).toBe(1);
    expectOneCleanLine(r, `The alert intake cannot listen on 127.0.0.1:${port}: the port is already in use. Stop what uses it, or set FIREBREAK_INTAKE_PORT to a free port.`);
    expect(r.ms).toBeLessThan(startupBudgetMs);
  });

  it('names an intake address this machine lacks and FIREBREAK_INTAKE_HOST, and exits 1', async () => {
    const port = await freePort();
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never assigned to a machine.
    const r = await firebreak(['local'], localEnv({ FIREBREAK_INTAKE_HOST: '192.0.2.1', FIREBREAK_INTAKE_PORT: String(port) }));
    expect(r.code).toBe(1);
    expectOneCleanLine(r, `The alert intake cannot listen on 192.0.2.1:${port}: this machine has no address 192.0.2.1. Set FIREBREAK_INTAKE_HOST to one of its addresses (127.0.0.1, or 0.0.0.0 for every interface).`);
    expect(r.ms).toBeLessThan(startupBudgetMs);
  });

  it('names the taken Slack port and FIREBREAK_SLACK_PORT, and exits although Slack is unreachable', async () => {
    const port = await occupiedPort();
    const r = await firebreak(['local'], localEnv({ FIREBREAK_INTAKE_PORT: String(await freePort()), ...(await unreachableSlack(port)) }));
    expect(r.code).toBe(1);
    expectOneCleanLine(r, `The Slack app's /slack/events endpoint cannot listen on 127.0.0.1:${port}: the port is already in use. Stop what uses it, or set FIREBREAK_SLACK_PORT to a free port.`);
    expect(r.ms).toBeLessThan(startupBudgetMs);
  });

  it('says which tool is missing from the cache and how to rebuild it, and exits 1', async () => {
    const tools = await toolsCache({ missing: 'temporal' });
    const r = await firebreak(['local'], localEnv({ FIREBREAK_TOOLS_DIR: tools }));
    expect(r.code).toBe(1);
    // The folder to delete is the one holding the `.complete` marker, or the next run finds the same broken cache.
    const set = path.dirname(path.dirname(path.dirname(toolPaths(tools).temporal)));
    expectOneCleanLine(r, `temporal is missing at ${toolPaths(tools).temporal} although its cache folder is marked complete. Delete ${set} and run \`npm run tools\` again.`);
  });

  it('gives up on a server not ready within --ready-timeout, stops it, names the option and exits 1', async () => {
    const pidFile = path.join(scratch, uniqueName('temporal-pid'));
    // A Temporal CLI that never answers: it records its pid and sleeps.
    const tools = await toolsCache({ fakes: { temporal: `echo $$ > ${JSON.stringify(pidFile)}\nexec sleep 600` } });
    const env = localEnv({ FIREBREAK_TOOLS_DIR: tools, FIREBREAK_INTAKE_PORT: String(await freePort()) });
    delete env['TEMPORAL_ADDRESS'];
    const r = await firebreak(['local', '--ready-timeout', '2'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^firebreak: The sandbox could not start:\nTemporal dev server \(.*temporal, port \d+\), full log: .*temporal\.log was not ready within 2s\./m);
    expect(r.stderr).toContain('give it longer with `firebreak local --ready-timeout <seconds>`');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.ms).toBeLessThan(startupBudgetMs);
    expect(isAlive(Number(await readFile(pidFile, 'utf8')))).toBe(false);
  });

  it('starts and stops cleanly with free ports (the control), printing where it runs', async () => {
    const { child, output, exited } = spawnFirebreak(['local'], localEnv({ FIREBREAK_INTAKE_PORT: String(await freePort()) }));
    try {
      for (const deadline = Date.now() + 60_000; !output.stdout.includes('Press Ctrl-C to stop.'); ) {
        if (Date.now() > deadline) throw new Error(`firebreak local did not start within 60 s; it printed:\n${output.stdout}${output.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(output.stdout).toContain('Firebreak is running locally.');
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(output.stdout).toContain('Stopping the local servers…');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('firebreak serve when it cannot start', () => {
  const serveEnv = (extra: Record<string, string>) => ({
    TEMPORAL_ADDRESS: sandbox().temporalAddress,
    FIREBREAK_TASK_QUEUE: uniqueName('serve-startup'),
    FIREBREAK_DATA_DIR: path.join(scratch, uniqueName('serve-data')),
    FIREBREAK_RUNBOOKS_DIR: 'runbooks',
    FIREBREAK_INTAKE_GENERIC_TOKEN: 'a-generic-token-for-the-startup-test',
    FIREBREAK_LOG_LEVEL: 'warn',
    ...extra,
  });

  it('names the taken intake port and FIREBREAK_INTAKE_PORT, and exits 1', async () => {
    const port = await occupiedPort();
    const r = await firebreak(['serve'], serveEnv({ FIREBREAK_ROLES: 'intake,worker', FIREBREAK_INTAKE_PORT: String(port) }));
    expect(r.code).toBe(1);
    expectOneCleanLine(r, `The alert intake cannot listen on 127.0.0.1:${port}: the port is already in use. Stop what uses it, or set FIREBREAK_INTAKE_PORT to a free port.`);
    expect(r.ms).toBeLessThan(startupBudgetMs);
  });

  it('says in one line that Temporal cannot be reached at TEMPORAL_ADDRESS when the worker connects, and exits 2', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const r = await firebreak(['serve'], serveEnv({ FIREBREAK_ROLES: 'worker', TEMPORAL_ADDRESS: address }));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^firebreak: Cannot reach Temporal at ${address} \\(.*\\)\\. Start it with \`npm start\`, or set TEMPORAL_ADDRESS to your Temporal frontend\\.\n$`));
    expect(r.ms).toBeLessThan(startupBudgetMs);
  });

  it('stops the intake it started when the Slack port is taken, and exits although Slack is unreachable', async () => {
    const port = await occupiedPort();
    const r = await firebreak(['serve'], serveEnv({ FIREBREAK_ROLES: 'intake,slack', FIREBREAK_INTAKE_PORT: String(await freePort()), ...(await unreachableSlack(port)) }));
    expect(r.code).toBe(1);
    expectOneCleanLine(r, `The Slack app's /slack/events endpoint cannot listen on 127.0.0.1:${port}: the port is already in use. Stop what uses it, or set FIREBREAK_SLACK_PORT to a free port.`);
    expect(r.ms).toBeLessThan(startupBudgetMs);
  });
});
