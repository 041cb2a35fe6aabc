/**
 * `firebreak drill run`: a scenario's runbook against a simulated world on a
 * time-skipping Temporal server of the drill's own, scored. Nothing in it
 * reaches beyond loopback: the network guard refuses and counts any try.
 */
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunbookPolicy } from '../runbooks/index.ts';
import { direct } from './director.ts';
import type { LoadedScenario } from './load.ts';
import { guardNetwork } from './network-guard.ts';
import { score } from './scorecard.ts';
import type { Scorecard } from './scorecard-types.ts';
import { createSimulatedWorld } from './world/index.ts';

export { WorldSetupError } from './world/index.ts';

export interface DrillRunOptions {
  loaded: LoadedScenario;
  policy: RunbookPolicy;
  policies: RunbookPolicy[];
  /** The time-skipping test server binary (the tools cache's). */
  testServerPath: string;
  progress?: (line: string) => void;
}

export async function runDrill(o: DrillRunOptions): Promise<Scorecard> {
  const { scenario } = o.loaded;
  const began = performance.now();
  const guard = guardNetwork();
  let env: TestWorkflowEnvironment | undefined;
  let world: Awaited<ReturnType<typeof createSimulatedWorld>> | undefined;
  try {
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: o.testServerPath } } });
    world = await createSimulatedWorld(scenario.world, {
      faults: scenario.faults,
      seed: scenario.scenario.seed,
      scenarioStartMs: await env.currentTimeMs(),
      baseDir: path.dirname(o.loaded.file),
    });
    const result = await direct({ scenario, injects: o.loaded.injects, policy: o.policy, policies: o.policies, world, env, ...(o.progress ? { progress: o.progress } : {}) });
    return score({ scenario, workflow: o.policy.workflow, file: o.loaded.file, result, world, realCalls: guard.refused(), wallMs: Math.round(performance.now() - began) });
  } finally {
    await world?.close();
    await env?.teardown();
    guard.release();
  }
}
