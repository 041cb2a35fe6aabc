/**
 * Child processes for the sandbox servers: started with a bounded readiness
 * wait, their output kept (last lines in memory, all of it in a log file), and
 * stopped on request, on exit and on interrupt, so that nothing outlives the
 * process that started it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { freePort } from '../net/ports.ts';

/** Environment marker set on every server a sandbox starts; lets a check find leftovers. */
export const ownerMarkerVariable = 'FIREBREAK_SANDBOX_OWNER';

/** Owner marker prefix of every server a test run starts (checked by scripts/check-leftovers.ts). */
export const testRunOwnerPrefix = 'vitest-';

/** Why a server did not start: it could not be spawned, it exited, or it did not answer in time. */
export type ServerStartFailure = 'spawn' | 'exited' | 'not-ready' | 'unhealthy';

export class ServerStartError extends Error {
  override readonly name = 'ServerStartError';
  constructor(
    message: string,
    readonly failure: ServerStartFailure = 'unhealthy',
  ) {
    super(message);
  }
}

export interface ProcessSpec {
  /** Human name used in messages, e.g. "kube-apiserver". */
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** The port the server listens on, named in messages. */
  port: number;
  /** Resolves true once the server answers; errors count as "not yet". */
  ready: () => Promise<boolean>;
  readyTimeoutMs: number;
  /** Where to write the full output; when omitted only the last lines are kept. */
  logFile?: string;
  /** Run as this user and group (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
  /** How to ask it to stop (default SIGTERM; PostgreSQL's fast shutdown is SIGINT). */
  stopSignal?: NodeJS.Signals;
}

export interface ManagedProcess {
  readonly name: string;
  readonly port: number;
  readonly pid: number;
  readonly logFile: string | undefined;
  /** The last lines the process printed. */
  tail(lines?: number): string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHandlerInstalled = false;

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  // Last resort: whatever is still running when this process exits is killed.
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/**
 * Kills every server this process started when it is interrupted, then lets
 * the signal take its course. For processes (like the test runner) that have
 * no graceful shutdown of their own; `firebreak local` stops its servers itself.
 */
export function killServersOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const child of live) child.kill('SIGKILL');
      live.clear();
      process.kill(process.pid, signal);
    });
  }
}

/**
 * Processes still running whose owner marker starts with `ownerPrefix` (Linux:
 * read from /proc). Finds servers that a sandbox failed to stop.
 */
export function findOwnedProcesses(ownerPrefix: string): { pid: number; owner: string; command: string }[] {
  const found: { pid: number; owner: string; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let environ: string;
    let cmdline: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // exited meanwhile, or not ours to read
    }
    const marker = environ.split('\0').find((v) => v.startsWith(`${ownerMarkerVariable}=${ownerPrefix}`));
    if (marker !== undefined) {
      found.push({
        pid: Number(entry),
        owner: marker.slice(ownerMarkerVariable.length + 1),
        command: cmdline.split('\0').join(' ').trim(),
      });
    }
  }
  return found;
}

/** `port` when it is free on 127.0.0.1, else any free port. */
export async function preferredPort(port: number): Promise<number> {
  const free = await new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
  return free ? port : freePort();
}

class RingBuffer {
  private readonly lines: string[] = [];
  private partial = '';
  constructor(private readonly size: number) {}
  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > this.size) this.lines.shift();
    }
  }
  tail(n: number): string {
    const all = this.partial === '' ? this.lines : [...this.lines, this.partial];
    return all.slice(-n).join('\n');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a server and waits until `ready()` says it answers. Fails with the
 * server's name, port and last log lines when it exits early or times out.
 */
export async function startProcess(spec: ProcessSpec, ownerId: string): Promise<ManagedProcess> {
  installExitHandler();
  const buffer = new RingBuffer(200);
  let log: WriteStream | undefined;
  if (spec.logFile !== undefined) log = createWriteStream(spec.logFile, { flags: 'a' });
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env, [ownerMarkerVariable]: ownerId },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(spec.uid === undefined ? {} : { uid: spec.uid }),
    ...(spec.gid === undefined ? {} : { gid: spec.gid }),
  });
  live.add(child);
  const onData = (data: Buffer) => {
    buffer.push(data.toString('utf8'));
    // Output can still arrive after the exit event, once the log is closed.
    if (log !== undefined && !log.writableEnded) log.write(data);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('error', (e) => {
      spawnError = e;
      live.delete(child);
      resolve();
    });
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      live.delete(child);
      resolve();
    });
  });

  const describe = () =>
    `${spec.name} (${spec.command}, port ${spec.port})` + (spec.logFile ? `, full log: ${spec.logFile}` : '');
  const lastLines = () => {
    const t = buffer.tail(25).trim();
    return t === '' ? '(it printed nothing)' : t.replace(/^/gm, '    ');
  };

  const stop = async () => {
    if (exited === undefined && spawnError === undefined) {
      child.kill(spec.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitPromise;
      clearTimeout(timer);
    }
    await new Promise<void>((r) => (log ? log.end(r) : r()));
  };

  const deadline = Date.now() + spec.readyTimeoutMs;
  for (;;) {
    if (spawnError !== undefined) {
      await stop();
      throw new ServerStartError(`Could not start ${describe()}: ${spawnError.message}`, 'spawn');
    }
    if (exited !== undefined) {
      await stop();
      throw new ServerStartError(
        `${describe()} exited before it was ready (exit code ${exited.code ?? 'none'}, signal ${exited.signal ?? 'none'}). Last log lines:\n${lastLines()}`,
        'exited',
      );
    }
    if (await spec.ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new ServerStartError(
        `${describe()} was not ready within ${Math.round(spec.readyTimeoutMs / 1000)}s. Last log lines:\n${lastLines()}`,
        'not-ready',
      );
    }
    await sleep(150);
  }

  return {
    name: spec.name,
    port: spec.port,
    pid: child.pid!,
    logFile: spec.logFile,
    tail: (n = 25) => buffer.tail(n),
    stop,
  };
}

export { freePort };
