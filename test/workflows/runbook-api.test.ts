// The runbook API is typed by the runbook's catalog entry: `npm test` runs the
// type checker first, so the `@ts-expect-error` lines below fail the run if a
// wrong step id ever compiles again.
import { describe, expect, it } from 'vitest';
import { containerEscapeRunbook, credentialCompromiseRunbook } from '../../workflows/catalog.ts';
import type { Incident } from '../../workflows/engine/incident.ts';

type StepOf<R extends { steps: readonly string[] }> = R['steps'][number];

describe('a runbook incident typed by its catalog entry', () => {
  it('refuses at compile time a step id the runbook does not declare', () => {
    const steps = (incident: Incident<StepOf<typeof containerEscapeRunbook>>) => {
      incident.skip('isolate-pod', 'quarantine pod', 'control: a declared step compiles');
      // @ts-expect-error 'isolate-pods' is a typo: no such step in the container-escape runbook
      incident.skip('isolate-pods', 'quarantine pod', 'typo');
      // @ts-expect-error 'triage' is a step of another runbook
      incident.skip('triage', 'resolve the principal', 'wrong runbook');
    };
    expect(steps).toBeTypeOf('function');
  });

  it('declares each step once, and its children by workflow name', () => {
    for (const r of [containerEscapeRunbook, credentialCompromiseRunbook]) expect(new Set(r.steps).size).toBe(r.steps.length);
    expect(containerEscapeRunbook.children).toEqual([credentialCompromiseRunbook.workflow]);
  });
});
