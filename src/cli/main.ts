import { Command, CommanderError, Option } from 'commander';
import { ConfigError, getConfig } from '../config/index.ts';
import { createClients } from '../clients.ts';
import { runLocal } from '../local.ts';
import { createLogger } from '../log.ts';
import { ToolInstallError } from '../sandbox/tools.ts';
import { ServerStartError } from '../sandbox/processes.ts';
import { connectClient, TemporalUnreachableError } from '../temporal.ts';
import { createWorker } from '../worker/index.ts';
import { installRuntime } from '../worker/runtime.ts';
import type { PreflightReport } from '../../workflows/preflight.ts';

/** Exit codes: 0 success, 1 the user must change something, 2 the system failed. */
export const exit = { ok: 0, user: 1, system: 2 } as const;

/** An error whose message is complete advice for the user; printed as one line. */
export class UserError extends Error {
  override readonly name = 'UserError';
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function buildProgram(): Command {
  const program = new Command()
    .name('firebreak')
    .description('Incident-response runbooks on Temporal: contain, collect evidence, roll back.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('local')
    .description(
      'Run Firebreak on this machine: embedded Temporal dev server (state in FIREBREAK_DATA_DIR), sandbox Kubernetes and AWS for what is not configured, and the worker.',
    )
    .action(async () => {
      const config = getConfig();
      const log = createLogger(config);
      installRuntime(config.FIREBREAK_LOG_LEVEL, log);
      await runLocal(config, log, out);
    });

  program
    .command('serve')
    .description('Run the processes named in FIREBREAK_ROLES against TEMPORAL_ADDRESS (production entry point).')
    .action(async () => {
      const config = getConfig();
      const log = createLogger(config);
      installRuntime(config.FIREBREAK_LOG_LEVEL, log);
      const unavailable = config.FIREBREAK_ROLES.filter((r) => r !== 'worker');
      if (unavailable.length > 0) {
        throw new UserError(
          `FIREBREAK_ROLES names ${unavailable.join(', ')}, which this version does not provide yet; set FIREBREAK_ROLES=worker.`,
        );
      }
      const { worker, connection } = await createWorker({ config, deps: createClients(config) });
      log.info({ taskQueue: config.FIREBREAK_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE }, 'worker started');
      try {
        await worker.run();
      } finally {
        await connection.close();
      }
      log.info('worker stopped');
    });

  program
    .command('doctor')
    .description('Check, through a running worker, that Firebreak can reach Temporal, Kubernetes and AWS.')
    .addOption(new Option('--json', 'print the report as JSON'))
    .addOption(new Option('--timeout <seconds>', 'how long to wait for a worker').default('30').argParser(positiveInt))
    .action(async (opts: { json?: boolean; timeout: number }) => {
      const config = getConfig();
      const client = await connectClient(config);
      try {
        const handle = await client.workflow.start('preflight', {
          taskQueue: config.FIREBREAK_TASK_QUEUE,
          workflowId: `preflight-${new Date().toISOString()}`,
          workflowExecutionTimeout: `${opts.timeout} seconds`,
        });
        let report: PreflightReport;
        try {
          report = (await handle.result()) as PreflightReport;
        } catch {
          throw new UserError(
            `No worker answered on task queue ${config.FIREBREAK_TASK_QUEUE} within ${opts.timeout}s: start one with \`npm start\` or \`firebreak serve\`.`,
          );
        }
        if (opts.json) out(JSON.stringify(report, null, 2));
        else {
          for (const c of report.checks) {
            out(`${c.ok ? 'ok  ' : 'FAIL'} ${c.system.padEnd(10)} ${c.target}${c.identity ? ` as ${c.identity}` : ''}`);
            if (c.problem) out(`     ${c.problem}`);
          }
        }
        if (!report.ok) throw new SilentFailure(exit.user);
      } finally {
        await client.connection.close();
      }
    });

  return program;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UserError(`expected a positive whole number, got "${value}"`);
  return n;
}

/** Ends the command with an exit code after it printed its own report. */
class SilentFailure extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Runs the CLI; returns the exit code. Never prints a stack trace for an expected failure. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return exit.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander printed the message or help already.
      return e.exitCode === 0 ? exit.ok : exit.user;
    }
    if (e instanceof SilentFailure) return e.code;
    if (e instanceof ConfigError || e instanceof UserError) {
      process.stderr.write(`firebreak: ${e.message}\n`);
      return exit.user;
    }
    if (e instanceof TemporalUnreachableError || e instanceof ToolInstallError || e instanceof ServerStartError) {
      process.stderr.write(`firebreak: ${e.message}\n`);
      return exit.system;
    }
    process.stderr.write(`firebreak: unexpected failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return exit.system;
  }
}
