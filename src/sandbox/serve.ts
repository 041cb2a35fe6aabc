/**
 * `firebreak serve` roles as child processes, as the compose file runs them:
 * shared by the production test suite and scripts/bench-production.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `firebreak` entry point, found from this file so a caller's working directory does not matter. */
const firebreakBin = fileURLToPath(new URL('../../bin/firebreak.js', import.meta.url));

/**
 * What a worker role needs to reach the sandbox: its kube-apiserver, and moto
 * (or another AWS endpoint in front of it) with moto's fixed credentials.
 */
export function sandboxWorkerEnv(o: { kubeconfigPath: string; awsEndpoint: string }): Record<string, string> {
  return {
    KUBECONFIG: o.kubeconfigPath,
    AWS_ENDPOINT_URL: o.awsEndpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/**
 * The environment every role of one deployment shares, as docker-compose.yml's
 * x-firebreak-environment sets it; each replica gets its own data directory
 * (`<scratch>/<name>/data`), so no two share an outbox.
 */
export function sharedServeEnv(o: { temporal: { address: string; namespace: string }; taskQueue: string; scratch: string; name: string }): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: o.temporal.address,
    TEMPORAL_NAMESPACE: o.temporal.namespace,
    FIREBREAK_TASK_QUEUE: o.taskQueue,
    FIREBREAK_LOG_LEVEL: 'info',
    FIREBREAK_DATA_DIR: path.join(o.scratch, o.name, 'data'),
    FIREBREAK_RUNBOOKS_DIR: fileURLToPath(new URL('../../runbooks', import.meta.url)),
  };
}

export type LogLine = { msg?: unknown; state?: unknown } & Record<string, unknown>;

/** `node bin/firebreak.js serve` as a child process, its JSON log lines collected from stderr. */
export function spawnServe(env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, [firebreakBin, 'serve'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let stderr = '';
  let partial = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as LogLine);
      } catch {
        // Not a log record (e.g. a Node warning): kept in `stderr` for failure messages only.
      }
    }
  });
  child.stdout!.resume();
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve((exit = { code, signal }))),
  );
  const tail = () => stderr.split('\n').slice(-15).join('\n');

  /** Waits (bounded) until `check` returns a value; fails early, with the log's tail, if the process exits first. */
  async function until<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = check();
      if (found !== undefined) return found;
      if (exit !== undefined) throw new Error(`firebreak serve exited (${JSON.stringify(exit)}) while waiting for ${what}; its stderr ended:\n${tail()}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; firebreak serve's stderr ended:\n${tail()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  return {
    child,
    lines,
    until,
    log: (what: string, match: (l: LogLine) => boolean, timeoutMs: number) => until(`log line: ${what}`, () => lines.find(match), timeoutMs),
    async exit(timeoutMs: number) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`firebreak serve did not exit within ${timeoutMs} ms of SIGTERM; its stderr ended:\n${tail()}`)), timeoutMs);
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    /** Ends the process if a failed test left it running. */
    async kill() {
      if (exit === undefined && child.kill('SIGKILL')) await exited;
    },
  };
}
