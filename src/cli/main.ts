import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/index.ts';
import { ServerStartError } from '../sandbox/processes.ts';
import { ToolInstallError } from '../sandbox/tools.ts';
import { StartupError } from '../startup.ts';
import { TemporalUnreachableError } from '../wiring/temporal.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerDrill } from './commands/drill.ts';
import { registerEvidence } from './commands/evidence.ts';
import { registerIncidents } from './commands/incidents.ts';
import { registerIntake } from './commands/intake.ts';
import { registerLocal } from './commands/local.ts';
import { registerReplay } from './commands/replay.ts';
import { registerRunbooks } from './commands/runbooks.ts';
import { registerSbom } from './commands/sbom.ts';
import { registerScenario } from './commands/scenario.ts';
import { registerServe } from './commands/serve.ts';
import { registerStart } from './commands/start.ts';
import { exit, note, SilentFailure, UserError } from './io.ts';

/** Every command of the CLI, one module each under commands/. */
const commands: ((program: Command) => void)[] = [
  registerLocal,
  registerServe,
  registerDoctor,
  registerStart,
  registerIncidents,
  registerRunbooks,
  registerEvidence,
  registerIntake,
  registerSbom,
  registerDrill,
  registerScenario,
  registerReplay,
];

function buildProgram(): Command {
  const program = new Command()
    .name('firebreak')
    .description('Incident-response runbooks on Temporal: contain, collect evidence, roll back.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/** Errors that are the system's fault (exit 2), printed as their one-line message. */
const systemErrors = [TemporalUnreachableError, ToolInstallError, ServerStartError];

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
    if (e instanceof ConfigError || e instanceof UserError || e instanceof StartupError) {
      note(`firebreak: ${e.message}`);
      return exit.user;
    }
    if (systemErrors.some((type) => e instanceof type)) {
      note(`firebreak: ${(e as Error).message}`);
      return exit.system;
    }
    note(`firebreak: unexpected failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return exit.system;
  }
}
