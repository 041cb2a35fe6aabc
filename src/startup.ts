/**
 * Starting a long-running process (`firebreak local`, `firebreak serve`) is a
 * sequence of parts, each of which may fail: a port taken, a tool missing, a
 * server not ready in time. When one fails, the parts already started are
 * stopped, newest first (the worker before the connection it holds), and the
 * failure is one StartupError whose message says what to change; the CLI
 * prints it once and exits 1.
 */
import type { Logger } from 'pino';
import type { Config } from './config/index.ts';
import { ServerStartError } from './sandbox/processes.ts';
import { ToolInstallError } from './sandbox/tools.ts';

export type StartupFailure = 'port-in-use' | 'address-unavailable' | 'tools' | 'server';

export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(
    readonly failure: StartupFailure,
    message: string,
  ) {
    super(message);
  }
}

/** A listening part: what it is, where, and the variable that moves it. */
export interface Listener {
  what: string;
  host: string;
  port: number;
  variable: string;
  hostVariable: string;
}

/** Where the intake listens, and the variable that moves it. */
export function intakeListener(config: Pick<Config, 'FIREBREAK_INTAKE_HOST' | 'FIREBREAK_INTAKE_PORT'>): Listener {
  return { what: 'The alert intake', host: config.FIREBREAK_INTAKE_HOST, port: config.FIREBREAK_INTAKE_PORT, variable: 'FIREBREAK_INTAKE_PORT', hostVariable: 'FIREBREAK_INTAKE_HOST' };
}

/** Where the Slack app's HTTP endpoint listens (HTTP mode), and the variable that moves it. */
export function slackListener(config: Pick<Config, 'FIREBREAK_SLACK_HOST' | 'FIREBREAK_SLACK_PORT'>): Listener {
  return { what: "The Slack app's /slack/events endpoint", host: config.FIREBREAK_SLACK_HOST, port: config.FIREBREAK_SLACK_PORT, variable: 'FIREBREAK_SLACK_PORT', hostVariable: 'FIREBREAK_SLACK_HOST' };
}

function isErrno(e: unknown, code: string): e is NodeJS.ErrnoException {
  return e instanceof Error && (e as NodeJS.ErrnoException).code === code;
}

/** Runs `start`; a port already in use, or an address this machine lacks, becomes a StartupError naming the variable to change. */
export async function listening<T>(l: Listener, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    if (isErrno(e, 'EADDRINUSE')) {
      throw new StartupError(
        'port-in-use',
        `${l.what} cannot listen on ${l.host}:${l.port}: the port is already in use. Stop what uses it, or set ${l.variable} to a free port.`,
      );
    }
    if (isErrno(e, 'EADDRNOTAVAIL')) {
      throw new StartupError(
        'address-unavailable',
        `${l.what} cannot listen on ${l.host}:${l.port}: this machine has no address ${l.host}. Set ${l.hostVariable} to one of its addresses (127.0.0.1, or 0.0.0.0 for every interface).`,
      );
    }
    throw e;
  }
}

const slowHint = 'If it is only slow (a first start, a busy machine), give it longer with `firebreak local --ready-timeout <seconds>`.';

/** The sandbox's and the tools' own failures, as start-up failures; anything else unchanged. */
export function asStartupError(e: unknown): unknown {
  if (e instanceof StartupError) return e;
  if (e instanceof ToolInstallError) return new StartupError('tools', e.message);
  // startSandbox starts servers concurrently and reports every one that failed.
  const causes = e instanceof AggregateError ? (e.errors as unknown[]) : [e];
  if (causes.length === 0 || !causes.every((c): c is ServerStartError => c instanceof ServerStartError)) return e;
  const message = (e as Error).message;
  return new StartupError('server', causes.some((c) => c.failure === 'not-ready') ? `${message}\n${slowHint}` : message);
}

/**
 * What has been started, to stop in reverse order. Stopping goes on past a
 * part that fails to stop (logged), so one stuck part does not leave the rest running.
 */
export class StartedParts {
  private readonly parts: { name: string; stop: () => Promise<void> }[] = [];
  constructor(private readonly log: Pick<Logger, 'error'>) {}

  add(name: string, stop: () => Promise<void>): void {
    this.parts.push({ name, stop });
  }

  async stopAll(): Promise<void> {
    for (let part = this.parts.pop(); part !== undefined; part = this.parts.pop()) {
      try {
        await part.stop();
      } catch (e) {
        this.log.error({ part: part.name, err: e instanceof Error ? e.message : String(e) }, `could not stop ${part.name}`);
      }
    }
  }
}

