import { engineFailure, hasFailureType } from '../../domain/failures.ts';
import type { Timeline } from './timeline.ts';

/** How to undo one containment action, registered when the action changed something. */
export interface Compensation {
  step: string;
  action: string;
  target?: string;
  /** Runs the undo (an activity call); resolves with what it restored. */
  run: () => Promise<string>;
  /** Why a rollback keeps this change instead of undoing it (the policy's rollback.keep). */
  kept?: string;
}

function describe(e: unknown): { error: string; errorType: string } {
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: unknown }).cause;
    const type = (cause as { type?: string } | undefined)?.type ?? (cause instanceof Error ? cause.name : e.name);
    return { error: cause instanceof Error ? cause.message : e.message, errorType: type };
  }
  return { error: String(e), errorType: 'Unknown' };
}

/** The compensations of an incident's actions, run newest first on rollback. */
export class Saga {
  private readonly stack: Compensation[] = [];

  register(c: Compensation): void {
    this.stack.push(c);
  }

  get size(): number {
    return this.stack.length;
  }

  /**
   * Runs every compensation in reverse order, recording each result. A failed
   * compensation is recorded and the others still run. One refused as unsafe
   * for now (RollbackUnsafe) stays owed: it is kept for a later rollback,
   * after the time its refusal names.
   */
  async compensate(timeline: Timeline, actor: string): Promise<{ compensated: number; failed: number }> {
    let compensated = 0;
    let failed = 0;
    const owed: Compensation[] = [];
    while (this.stack.length > 0) {
      const c = this.stack.pop()!;
      const where = { step: c.step, actor };
      if (c.kept !== undefined) {
        timeline.append('rollback.kept', { action: c.action, ...(c.target ? { target: c.target } : {}), why: c.kept }, where);
        continue;
      }
      try {
        const detail = await c.run();
        compensated += 1;
        timeline.append('rollback.compensated', { action: c.action, ...(c.target ? { target: c.target } : {}), detail }, where);
      } catch (e) {
        failed += 1;
        if (hasFailureType(e, engineFailure.rollbackUnsafe)) owed.push(c);
        timeline.append('rollback.failed', { action: c.action, ...(c.target ? { target: c.target } : {}), ...describe(e) }, where);
      }
    }
    this.stack.push(...owed.reverse());
    timeline.append('rollback.finished', { compensated, failed }, { actor });
    return { compensated, failed };
  }
}

export { describe as describeFailure };
