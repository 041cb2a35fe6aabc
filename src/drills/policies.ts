/** The policies a drill runs: the shipped ones, or a policy file under rehearsal. */
import path from 'node:path';
import { workflowCatalog } from '../../workflows/catalog.ts';
import { loadRunbookFile, loadRunbooks, type RunbookPolicy } from '../runbooks/index.ts';
import { repoRoot } from '../sandbox/tools.ts';
import type { Scenario } from './scenario.ts';

/** The runbooks whose every system the simulated world has (src/drills/world/). */
export const simulatedWorkflows: readonly string[] = ['credentialCompromise'];

export class DrillSetupError extends Error {
  override name = 'DrillSetupError';
}

/** The shipped policies (runbooks/), or the given directory; `policyFile` replaces the scenario's runbook's policy. */
export async function drillPolicies(o: { scenario: Scenario; runbooksDir?: string; policyFile?: string }): Promise<{ policy: RunbookPolicy; policies: RunbookPolicy[] }> {
  const ctx = { catalog: workflowCatalog, groups: o.scenario.groups };
  const all = (await loadRunbooks(o.runbooksDir ?? path.join(repoRoot, 'runbooks'), ctx)).map((r) => r.policy);
  const override = o.policyFile === undefined ? undefined : (await loadRunbookFile(o.policyFile, ctx)).policy;
  const policy = override ?? all.find((p) => p.id === o.scenario.scenario.runbook);
  if (policy === undefined) {
    throw new DrillSetupError(`the scenario runs runbook "${o.scenario.scenario.runbook}", which no policy defines (have: ${all.map((p) => p.id).join(', ')}): fix scenario.runbook or give --policy`);
  }
  if (override !== undefined && override.id !== o.scenario.scenario.runbook) {
    throw new DrillSetupError(`--policy ${o.policyFile} is runbook "${override.id}", but the scenario runs "${o.scenario.scenario.runbook}"`);
  }
  if (!simulatedWorkflows.includes(policy.workflow)) {
    throw new DrillSetupError(
      `runbook "${policy.id}" runs workflow ${policy.workflow}, which the simulated world cannot serve yet: it simulates AWS IAM, STS and CloudTrail, for ${simulatedWorkflows.join(', ')} (docs/drills.md)`,
    );
  }
  return { policy, policies: [policy, ...all.filter((p) => p.id !== policy.id)] };
}
