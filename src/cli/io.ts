import { printable, printableJson } from '../text/terminal.ts';

/** Exit codes: 0 success, 1 the user must change something, 2 the system failed. */
export const exit = { ok: 0, user: 1, system: 2 } as const;

/** An error whose message is complete advice for the user; printed as one line, exit 1. */
export class UserError extends Error {
  override readonly name = 'UserError';
}

/** Ends a command with an exit code after it printed its own report. */
export class SilentFailure extends Error {
  override readonly name = 'SilentFailure';
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

// Every line the CLI prints goes through `printable`: alerts and APIs put attacker-chosen text
// (a Falco `output` names files) into what commands show.

export function out(line: string): void {
  process.stdout.write(`${printable(line)}\n`);
}

/** A command's result as JSON: valid, and with no raw control character in it. */
export function outJson(value: unknown): void {
  process.stdout.write(`${printableJson(value)}\n`);
}

/** A note for the user that is not the command's result (stderr). */
export function note(line: string): void {
  process.stderr.write(`${printable(line)}\n`);
}

/** Commander argument parser for a positive whole number. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UserError(`expected a positive whole number, got "${value}"`);
  return n;
}
