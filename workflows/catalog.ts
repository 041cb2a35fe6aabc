/**
 * Every runbook workflow, by workflow name: its step ids (the runbook loader
 * checks each policy in runbooks/ against them: its `workflow` must be listed
 * here, with exactly one entry per step, so no step runs under an implicit
 * gate) and the child runbooks it may start. A runbook workflow opens its
 * incident with its entry (`Incident.open(input, runbook)`), which types its
 * step ids: a step id it does not declare is a compile error.
 *
 * Workflow code imports nothing but types from src/, so the shape is here.
 */
export interface RunbookDefinition<S extends string = string> {
  /** The workflow function's name, as the worker registers it. */
  workflow: string;
  steps: readonly S[];
  /**
   * Workflows of the child runbooks this runbook may start. Starters (CLI,
   * intake, Slack) pass the policies of those they have loaded in the input's
   * `childPolicies`, keyed by workflow name; without one, the offer is
   * recorded and skipped.
   */
  children: readonly string[];
  /**
   * Steps whose undo would put something dangerous back (a leaked
   * credential): a policy keeps their changes on rollback (`rollback.keep`)
   * or guards rollback with a two-person gate; the loader refuses it otherwise.
   */
  dangerousUndo?: readonly S[];
  /**
   * Steps that contain the threat (cut it off, stop it spreading): the first
   * and last of them to finish are the incident's "first contained" and
   * "fully contained" times, for live reports and drill scorecards alike.
   */
  containment: readonly S[];
}

/** Evidence, isolate the pod, cordon its node, offer credential compromise for its IRSA role, delete (two-person). */
export const containerEscapeRunbook = {
  workflow: 'containerEscape',
  steps: ['collect-evidence', 'isolate-pod', 'detach-from-rotation', 'cordon-node', 'offer-credential-compromise', 'delete-pod'],
  children: ['credentialCompromise'],
  containment: ['isolate-pod', 'detach-from-rotation', 'cordon-node'],
} as const satisfies RunbookDefinition;

/** Triage, evidence, deactivate the key, revoke sessions, delete the console password, undo what the attacker did. */
export const credentialCompromiseRunbook = {
  workflow: 'credentialCompromise',
  steps: [
    'triage',
    'collect-evidence',
    'deactivate-access-key',
    'revoke-user-sessions',
    'revoke-role-sessions',
    'delete-login-profile',
    'eradicate-access-keys',
    'eradicate-principals',
    'restore-policies',
  ],
  children: [],
  containment: ['deactivate-access-key', 'revoke-user-sessions', 'revoke-role-sessions', 'delete-login-profile'],
} as const satisfies RunbookDefinition;

/** Scope, preserve, block by digest, registry tags, quarantine, scale down, re-pin, rotate, IRSA roles, signing keys, verify. */
export const supplyChainRunbook = {
  workflow: 'supplyChain',
  steps: [
    'scope',
    'preserve-evidence',
    'block-digests',
    'registry-tags',
    'quarantine-pods',
    'scale-down-workloads',
    'repin-workloads',
    'rotate-secrets',
    'offer-credential-compromise',
    'disable-signing-keys',
    'verify',
  ],
  children: ['credentialCompromise'],
  dangerousUndo: ['rotate-secrets'],
  containment: ['block-digests', 'registry-tags', 'quarantine-pods', 'scale-down-workloads'],
} as const satisfies RunbookDefinition;

/** The worker's self-check (`firebreak doctor`): a workflow, but not a runbook, so not in the catalog. */
export const preflightWorkflow = 'preflight';

/** The step ids of each runbook, as its policy (runbooks/<id>.yaml) gates them. */
export const containerEscapeSteps = containerEscapeRunbook.steps;
export const credentialCompromiseSteps = credentialCompromiseRunbook.steps;
export const supplyChainSteps = supplyChainRunbook.steps;

export const workflowCatalog: Record<string, RunbookDefinition> = Object.fromEntries(
  [containerEscapeRunbook, credentialCompromiseRunbook, supplyChainRunbook].map((r) => [r.workflow, r]),
);
