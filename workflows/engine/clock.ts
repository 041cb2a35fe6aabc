/**
 * The one place workflow code reads time. Inside Temporal's workflow sandbox
 * `Date` is replaced by the deterministic workflow clock: it returns the time of
 * the current workflow task, the same on every replay. Everything else in
 * workflows/ is forbidden to touch `Date` (lint), so that nobody mistakes it
 * for a wall clock or reads it outside the sandbox.
 */
export function workflowNow(): number {
  return new Date().getTime();
}

export function workflowNowIso(): string {
  return new Date(workflowNow()).toISOString();
}
