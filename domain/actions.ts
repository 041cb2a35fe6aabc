/**
 * What a containment action reports, as the engine records it:
 * - `changed`: it changed the world (its undo is registered);
 * - `already-done`: the world was already as asked (nothing to undo);
 * - `target-gone`: what it was to act on no longer exists (a key evidence
 *   recorded, a pod deleted since): not "done", and listed in the report
 *   under things to look at, since someone or something else removed it.
 */
export type ActionOutcome = 'changed' | 'already-done' | 'target-gone';

export interface ActionResult {
  outcome: ActionOutcome;
  /** What was changed or found, for the timeline: names and states, never secrets. */
  detail: string;
}
