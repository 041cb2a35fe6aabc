import { createPreflightActivities, type PreflightDeps } from './preflight.ts';

export type { ReachCheck } from './preflight.ts';

/** Every client an activity may use; the worker wires real ones, drills a simulated world. */
export type ActivityDeps = PreflightDeps;

/** Builds every activity the worker registers. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPreflightActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
